import Crypto

/// Who signed something: an Ed25519 public key. Validators, organisation admins, practitioners and patients
/// are all identities; their roles come from the genesis file and from enrolments on chain.
///
/// Text form (docs/FORMAT.md section 3): `hlk1` followed by 58 characters of lowercase RFC 4648 base32
/// (no padding) of the 32 key bytes plus a 4-byte checksum, the first 4 bytes of
/// SHA-256("healthledger/identity" || key). Only letters and digits, so a double-click selects it whole and
/// a mistyped character is caught by the checksum.
public struct Identity: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalEncodable, CanonicalDecodable {
    /// The 32-byte Ed25519 public key.
    public let publicKeyBytes: [UInt8]

    public static let textPrefix = "hlk1"

    public init(publicKey: Ed25519.PublicKey) { publicKeyBytes = publicKey.rawRepresentation }

    /// Wraps 32 key bytes; nil for any other length.
    public init?(publicKeyBytes: [UInt8]) {
        guard publicKeyBytes.count == Ed25519.publicKeyByteCount else { return nil }
        self.publicKeyBytes = publicKeyBytes
    }

    /// Parses the text form; nil when the prefix, length, alphabet or checksum is wrong.
    public init?(text: String) {
        guard text.hasPrefix(Self.textPrefix),
            let payload = Base32.decode(String(text.dropFirst(Self.textPrefix.count))),
            payload.count == 36
        else { return nil }
        let key = Array(payload[0..<32])
        guard Array(payload[32..<36]) == Self.checksum(key) else { return nil }
        publicKeyBytes = key
    }

    /// The text form, `hlk1…`.
    public var text: String { Self.textPrefix + Base32.encode(publicKeyBytes + Self.checksum(publicKeyBytes)) }

    public var description: String { text }

    /// The key for signature verification.
    public var publicKey: Ed25519.PublicKey { try! Ed25519.PublicKey(rawRepresentation: publicKeyBytes) }

    private static func checksum(_ key: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(Array("healthledger/identity".utf8) + key).bytes.prefix(4))
    }

    public static func < (lhs: Identity, rhs: Identity) -> Bool { lhs.publicKeyBytes.lexicographicallyPrecedes(rhs.publicKeyBytes) }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.fixed(publicKeyBytes) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        publicKeyBytes = try decoder.fixed(Ed25519.publicKeyByteCount, "identity")
    }

    /// True when `signature` is this identity's signature of `message`.
    public func verifies(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        publicKey.isValidSignature(signature, for: message)
    }
}

/// RFC 4648 base32 with the lowercase alphabet and no padding. Decoding is strict: only the canonical
/// encoding of some byte string is accepted (unused trailing bits must be zero).
enum Base32 {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                output.append(alphabet[Int((buffer >> UInt32(bitCount)) & 31)])
            }
        }
        if bitCount > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bitCount)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bitCount = 0
        for character in text.utf8 {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5 | UInt32(value)) & 0xFFFF
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bitCount)))
            }
        }
        // Leftover bits must be fewer than a character and all zero, or the text is not canonical.
        guard bitCount < 5, buffer & ((1 << UInt32(bitCount)) - 1) == 0 else { return nil }
        return output
    }
}
