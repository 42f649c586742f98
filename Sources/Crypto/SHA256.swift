import COpenSSL

/// A SHA-256 digest: 32 bytes held inline (no heap allocation), so sets and dictionaries of millions of
/// transaction ids stay compact. Ordered byte-wise (big-endian lexicographic), which is the order used
/// wherever the ledger sorts digests.
public struct SHA256Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The digest length in bytes.
    public static let byteCount = 32

    // Four big-endian words; comparing them in order is byte-wise lexicographic comparison.
    private var word0: UInt64, word1: UInt64, word2: UInt64, word3: UInt64

    /// The all-zero digest, used where a hash field has no value (for example an empty state root).
    public static let zero = SHA256Digest(words: (0, 0, 0, 0))

    @usableFromInline
    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        (word0, word1, word2, word3) = words
    }

    /// Wraps exactly 32 bytes; returns nil for any other length. Inlinable, so that a caller's collection
    /// type is specialized: every decoded transaction id and block hash comes through here.
    @inlinable
    public init?<Bytes: Collection<UInt8>>(bytes: Bytes) {
        guard bytes.count == Self.byteCount else { return nil }
        var index = bytes.startIndex
        let word0 = Self.word(bytes, &index), word1 = Self.word(bytes, &index)
        let word2 = Self.word(bytes, &index), word3 = Self.word(bytes, &index)
        self.init(words: (word0, word1, word2, word3))
    }

    /// The big-endian word of the eight bytes at `index`, which it moves past them.
    @inlinable
    static func word<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ index: inout Bytes.Index) -> UInt64 {
        var word: UInt64 = 0
        for _ in 0..<8 {
            word = word << 8 | UInt64(bytes[index])
            bytes.formIndex(after: &index)
        }
        return word
    }

    /// Parses 64 hexadecimal characters (either case); nil otherwise.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        // A homogeneous tuple is laid out contiguously, so its bytes are the four words in order.
        var bigEndianWords = (word0.bigEndian, word1.bigEndian, word2.bigEndian, word3.bigEndian)
        return withUnsafeBytes(of: &bigEndianWords) { Array($0) }
    }

    /// The first of the 32 bytes, without building the array.
    public var leadingByte: UInt8 { UInt8(truncatingIfNeeded: word0 >> 56) }

    /// The last sixteen of the 32 bytes as two big-endian words, without building the array: a hash's own
    /// uniformly random bits, for a filter's bit positions.
    public var trailingWords: (high: UInt64, low: UInt64) { (word2, word3) }

    /// Lowercase hexadecimal, 64 characters.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public static func < (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        (lhs.word0, lhs.word1, lhs.word2, lhs.word3) < (rhs.word0, rhs.word1, rhs.word2, rhs.word3)
    }
}

/// SHA-256 (FIPS 180-4) through OpenSSL.
///
/// One-shot: `SHA256.hash(bytes)`. Streaming: `var hasher = SHA256(); hasher.update(a); hasher.update(b);
/// let digest = hasher.finalize()`.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    /// Starts a new streaming hash.
    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        let initialised = EVP_DigestInit_ex(context, EVP_sha256(), nil)
        precondition(initialised == 1, "EVP_DigestInit_ex(SHA-256) failed")
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds more bytes into the hash.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in update(buffer) }
    }

    /// Feeds more bytes into the hash.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0, let base = buffer.baseAddress else { return }
        let updated = EVP_DigestUpdate(context, base, buffer.count)
        precondition(updated == 1, "EVP_DigestUpdate(SHA-256) failed")
    }

    /// Finishes the hash and returns the digest.
    public consuming func finalize() -> SHA256Digest {
        var output = [UInt8](repeating: 0, count: SHA256Digest.byteCount)
        var length: UInt32 = 0
        let finished = EVP_DigestFinal_ex(context, &output, &length)
        precondition(finished == 1 && length == 32, "EVP_DigestFinal_ex(SHA-256) failed")
        return SHA256Digest(bytes: output)!
    }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The SHA-256 digest of the bytes in `buffer`.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        var output = [UInt8](repeating: 0, count: SHA256Digest.byteCount)
        var length: UInt32 = 0
        // An empty buffer may have a nil base address; hash a valid empty region instead.
        let ok: Int32 = withUnsafeBytes(of: UInt8(0)) { fallback in
            EVP_Digest(buffer.baseAddress ?? fallback.baseAddress, buffer.count, &output, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return SHA256Digest(bytes: output)!
    }
}

/// Hexadecimal encoding helpers (lowercase out, either case in).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hexadecimal text of `bytes`.
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var characters = [UInt8]()
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// The bytes of an even-length hexadecimal string; nil if any character is not a hex digit.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var result = [UInt8]()
        result.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(of: utf8[index]), let low = value(of: utf8[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func value(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
