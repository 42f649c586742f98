import Ledger

/// What a node tells the other validators about itself over the authenticated peer link, every gossip
/// interval: the URL its HTTP API answers at (so a request for another organisation's records can be
/// sent to that organisation's node) and the head of its committed chain (so a node that is behind knows
/// whom to ask for blocks).
///
/// It travels in the same frames as consensus messages; the domain tag tells the two apart. The sender is
/// the key the TLS link proved, never a field of the message, so a node can only speak for itself.
///
/// Encoding: tag `healthledger/node-announcement`, version 1, API URL `string` (at most 200 bytes, `http://`
/// or `https://` then printable ASCII), head height `u64`, head hash `digest`. Trailing bytes are refused.
struct NodeAnnouncement: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    static let domainTag = "healthledger/node-announcement"
    static let version: UInt8 = 1
    static let maxURLBytes = 200

    let apiURL: String
    let headHeight: UInt64
    let headHash: SHA256Digest

    init(apiURL: String, headHeight: UInt64, headHash: SHA256Digest) {
        precondition(Self.isValidURL(apiURL), "an announced API URL is http(s):// and printable ASCII")
        self.apiURL = apiURL
        self.headHeight = headHeight
        self.headHash = headHash
    }

    /// True for `http://` or `https://` followed by 1 or more printable ASCII characters (no spaces or quotes),
    /// at most `maxURLBytes` in all: a URL a client can be sent to, and that cannot break a header or a log.
    static func isValidURL(_ url: String) -> Bool {
        let bytes = Array(url.utf8)
        guard bytes.count <= maxURLBytes, url.hasPrefix("http://") || url.hasPrefix("https://") else { return false }
        let rest = url.hasPrefix("http://") ? bytes.dropFirst(7) : bytes.dropFirst(8)
        return !rest.isEmpty && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// The first bytes of every encoded announcement: its tag. A peer message starts with its own tag.
    static let encodedTagPrefix: [UInt8] = {
        var encoder = CanonicalEncoder()
        encoder.string(domainTag)
        return encoder.bytes
    }()

    /// True when `payload` is tagged as an announcement (it may still fail to decode).
    static func isTagged(_ payload: [UInt8]) -> Bool { payload.starts(with: encodedTagPrefix) }

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        encoder.string(apiURL)
        encoder.u64(headHeight)
        encoder.digest(headHash)
    }

    init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "node announcement")
        let url = try decoder.string("api URL", maxBytes: Self.maxURLBytes)
        guard Self.isValidURL(url) else { throw .invalidValue(field: "api URL", reason: "must be http(s):// and printable ASCII") }
        apiURL = url
        headHeight = try decoder.u64("head height")
        headHash = try decoder.digest("head hash")
    }
}
