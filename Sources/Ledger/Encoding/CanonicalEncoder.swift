/// Writes HealthLedger's canonical binary encoding (docs/FORMAT.md section 2).
///
/// Integers are big-endian and fixed width; variable-length data carries a length prefix; optional values a
/// one-byte presence flag. There is exactly one encoding of every value, so hashes and signatures over it are
/// well defined. Every type that is hashed or signed writes itself through this encoder.
public struct CanonicalEncoder {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    public mutating func bool(_ value: Bool) { u8(value ? 1 : 0) }

    /// Raw bytes of a length fixed by the format (keys, digests, signatures): no prefix.
    public mutating func fixed(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// Variable-length bytes: u32 length, then the bytes.
    public mutating func blob(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt32.max), "blob too long to encode")
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// A UTF-8 string: u16 byte length, then the bytes.
    public mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        precondition(utf8.count <= Int(UInt16.max), "string too long to encode")
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A list: u32 count, then each element.
    public mutating func list<Element>(_ elements: [Element], _ encodeElement: (inout CanonicalEncoder, Element) -> Void) {
        u32(UInt32(elements.count))
        for element in elements { encodeElement(&self, element) }
    }

    /// An optional value: 0 when absent; 1 then the value when present.
    public mutating func optional<Value>(_ value: Value?, _ encodeValue: (inout CanonicalEncoder, Value) -> Void) {
        guard let value else { return u8(0) }
        u8(1)
        encodeValue(&self, value)
    }

    /// A digest's 32 bytes.
    public mutating func digest(_ value: SHA256Digest) { fixed(value.bytes) }
}

/// A value with exactly one canonical byte encoding.
public protocol CanonicalEncodable {
    func encode(to encoder: inout CanonicalEncoder)
}

extension CanonicalEncodable {
    /// The canonical bytes of this value.
    public var canonicalBytes: [UInt8] {
        var encoder = CanonicalEncoder()
        encode(to: &encoder)
        return encoder.bytes
    }
}

import Crypto
