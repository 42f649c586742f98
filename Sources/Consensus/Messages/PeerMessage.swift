import Ledger

/// Everything validators send each other, in one envelope: consensus messages, gossiped transactions, and
/// block sync. The transport frames and bounds the bytes; this type gives them a canonical, strictly decoded
/// form so a malformed or foreign message is refused with a typed error before anything acts on it.
///
/// Encoding: tag `healthledger/peer-message`, version 1, kind `u8` (1 proposal, 2 vote, 3 transaction,
/// 4 sync request, 5 sync response), then the kind's encoding. Trailing bytes are refused.
public enum PeerMessage: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    case proposal(SignedProposal)
    case vote(SignedVote)
    case transaction(SignedTransaction)
    case syncRequest(SyncRequest)
    case syncResponse(SyncResponse)

    public static let domainTag = "healthledger/peer-message"
    public static let version: UInt8 = 1

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        switch self {
        case let .proposal(proposal):
            encoder.u8(1)
            proposal.encode(to: &encoder)
        case let .vote(vote):
            encoder.u8(2)
            vote.encode(to: &encoder)
        case let .transaction(transaction):
            encoder.u8(3)
            transaction.encode(to: &encoder)
        case let .syncRequest(request):
            encoder.u8(4)
            request.encode(to: &encoder)
        case let .syncResponse(response):
            encoder.u8(5)
            response.encode(to: &encoder)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "peer message")
        switch try decoder.u8("peer message kind") {
        case 1: self = .proposal(try SignedProposal(from: &decoder))
        case 2: self = .vote(try SignedVote(from: &decoder))
        case 3: self = .transaction(try SignedTransaction(from: &decoder))
        case 4: self = .syncRequest(try SyncRequest(from: &decoder))
        case 5: self = .syncResponse(try SyncResponse(from: &decoder))
        case let other: throw .invalidValue(field: "peer message kind", reason: "unknown kind \(other)")
        }
    }
}

/// Asks a peer for its committed blocks from `fromHeight` on, at most `maxCount` of them.
public struct SyncRequest: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The first height wanted (at least 1) and how many blocks at most (1-16).
    public let fromHeight: UInt64
    public let maxCount: UInt16

    public init(fromHeight: UInt64, maxCount: UInt16) {
        precondition(fromHeight >= 1, "heights start at 1")
        precondition((1...UInt16(SyncResponse.maxBlocks)).contains(maxCount), "a sync request asks for 1-\(SyncResponse.maxBlocks) blocks")
        self.fromHeight = fromHeight
        self.maxCount = maxCount
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.u64(fromHeight)
        encoder.u16(maxCount)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        fromHeight = try decoder.u64("sync from height")
        maxCount = try decoder.u16("sync block count")
        guard fromHeight >= 1 else { throw .invalidValue(field: "sync from height", reason: "heights start at 1") }
        guard (1...UInt16(SyncResponse.maxBlocks)).contains(maxCount) else {
            throw .tooLarge(field: "sync block count", limit: SyncResponse.maxBlocks, actual: Int(maxCount))
        }
    }
}

/// Committed blocks with their certificates, consecutive and ascending: the answer to a `SyncRequest`.
/// The receiver verifies each before applying it (`BlockSync`); nothing in a response is trusted.
public struct SyncResponse: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The most blocks one response carries (decoding bound).
    public static let maxBlocks = 16

    /// The blocks, consecutive and ascending (possibly none).
    public let blocks: [CommittedBlock]

    public init(blocks: [CommittedBlock]) {
        precondition(blocks.count <= Self.maxBlocks, "a sync response carries at most \(Self.maxBlocks) blocks")
        precondition(Self.areConsecutive(blocks), "sync blocks are consecutive")
        self.blocks = blocks
    }

    /// True when each block's height is one more than the one before (compared without overflow).
    static func areConsecutive(_ blocks: [CommittedBlock]) -> Bool {
        zip(blocks, blocks.dropFirst()).allSatisfy { $1.height > $0.height && $1.height - $0.height == 1 }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.list(blocks) { $1.encode(to: &$0) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        blocks = try decoder.list("sync blocks", maxCount: Self.maxBlocks) { (d) throws(DecodingError) in try CommittedBlock(from: &d) }
        guard Self.areConsecutive(blocks) else {
            throw .invalidValue(field: "sync blocks", reason: "must be consecutive and ascending")
        }
    }
}
