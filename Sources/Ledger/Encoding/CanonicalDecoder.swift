import Crypto

/// Why bytes were refused by a canonical decoder. Safe to print: it names fields and sizes, never content.
public enum DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended before `field` was complete.
    case truncated(field: String)
    /// Bytes remained after the value was complete.
    case trailingBytes(count: Int)
    /// A length or count exceeded the bound the format sets for `field`.
    case tooLarge(field: String, limit: Int, actual: Int)
    /// A field held a value the format does not allow (unknown tag, bad flag, unsorted set, ...).
    case invalidValue(field: String, reason: String)
    /// The structure's version is not one this program understands.
    case unsupportedVersion(structure: String, version: UInt8)
    /// The domain tag did not match the structure expected here.
    case wrongDomainTag(expected: String)

    public var description: String {
        switch self {
        case let .truncated(field): return "input ends inside \(field)"
        case let .trailingBytes(count): return "\(count) unexpected bytes after the end of the value"
        case let .tooLarge(field, limit, actual): return "\(field) is \(actual), over the limit of \(limit)"
        case let .invalidValue(field, reason): return "invalid \(field): \(reason)"
        case let .unsupportedVersion(structure, version): return "\(structure) version \(version) is not supported"
        case let .wrongDomainTag(expected): return "not a \(expected) (wrong domain tag)"
        }
    }
}

/// Reads the canonical encoding back, validating as it goes: every length is bounded by the caller, every
/// flag must be 0 or 1, strings must be UTF-8, and `finish()` rejects trailing bytes.
public struct CanonicalDecoder {
    private let bytes: [UInt8]
    /// The offset of the next unread byte.
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    /// The number of unread bytes.
    public var remaining: Int { bytes.count - offset }

    /// The bytes read since `start` (an earlier `offset`).
    public func bytesRead(since start: Int) -> [UInt8] {
        precondition(start >= 0 && start <= offset, "start must be an earlier offset")
        return Array(bytes[start..<offset])
    }

    /// Throws unless every byte has been read.
    public func finish() throws(DecodingError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }

    private mutating func take(_ count: Int, _ field: String) throws(DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw .truncated(field: field) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func u8(_ field: String) throws(DecodingError) -> UInt8 {
        try take(1, field).first!
    }

    public mutating func u16(_ field: String) throws(DecodingError) -> UInt16 {
        try take(2, field).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func u32(_ field: String) throws(DecodingError) -> UInt32 {
        try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64(_ field: String) throws(DecodingError) -> UInt64 {
        try take(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func bool(_ field: String) throws(DecodingError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field, reason: "flag must be 0 or 1, got \(other)")
        }
    }

    public mutating func fixed(_ count: Int, _ field: String) throws(DecodingError) -> [UInt8] {
        Array(try take(count, field))
    }

    public mutating func digest(_ field: String) throws(DecodingError) -> SHA256Digest {
        SHA256Digest(bytes: try take(SHA256Digest.byteCount, field))!
    }

    /// Variable-length bytes of at most `maxCount` bytes.
    public mutating func blob(_ field: String, maxCount: Int) throws(DecodingError) -> [UInt8] {
        let count = Int(try u32("\(field) length"))
        guard count <= maxCount else { throw .tooLarge(field: field, limit: maxCount, actual: count) }
        return Array(try take(count, field))
    }

    /// A UTF-8 string of at most `maxBytes` bytes.
    public mutating func string(_ field: String, maxBytes: Int) throws(DecodingError) -> String {
        let count = Int(try u16("\(field) length"))
        guard count <= maxBytes else { throw .tooLarge(field: field, limit: maxBytes, actual: count) }
        let utf8 = try take(count, field)
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw .invalidValue(field: field, reason: "not valid UTF-8")
        }
        return text
    }

    /// A list of at most `maxCount` elements.
    public mutating func list<Element>(
        _ field: String, maxCount: Int, _ decodeElement: (inout CanonicalDecoder) throws(DecodingError) -> Element
    ) throws(DecodingError) -> [Element] {
        let count = Int(try u32("\(field) count"))
        guard count <= maxCount else { throw .tooLarge(field: field, limit: maxCount, actual: count) }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try decodeElement(&self)) }
        return elements
    }

    /// An optional value: a presence flag (0 or 1), then the value when present.
    public mutating func optional<Value>(
        _ field: String, _ decodeValue: (inout CanonicalDecoder) throws(DecodingError) -> Value
    ) throws(DecodingError) -> Value? {
        try bool("\(field) presence") ? try decodeValue(&self) : nil
    }

    /// Reads a domain tag and checks it is `expected`.
    public mutating func expectTag(_ expected: String) throws(DecodingError) {
        let tag = try string("domain tag", maxBytes: 64)
        guard tag == expected else { throw .wrongDomainTag(expected: expected) }
    }

    /// Reads a version byte and checks it is `supported`.
    public mutating func expectVersion(_ supported: UInt8, structure: String) throws(DecodingError) {
        let version = try u8("\(structure) version")
        guard version == supported else { throw .unsupportedVersion(structure: structure, version: version) }
    }
}

/// A value that can be read back from its canonical encoding.
public protocol CanonicalDecodable {
    init(from decoder: inout CanonicalDecoder) throws(DecodingError)
}

extension CanonicalDecodable {
    /// Decodes exactly one value from `bytes`, rejecting trailing bytes.
    public init(canonicalBytes bytes: [UInt8]) throws(DecodingError) {
        var decoder = CanonicalDecoder(bytes)
        self = try Self(from: &decoder)
        try decoder.finish()
    }
}

extension Array where Element: Comparable {
    /// True when the elements are in strictly increasing order (sorted, no duplicates): the canonical form of a set.
    public var isStrictlyIncreasing: Bool {
        zip(self, dropFirst()).allSatisfy { $0 < $1 }
    }
}
