/// A value SQLite stores or returns: one case per storage class.
public enum SQLiteValue: Sendable, Hashable {
    /// A 64-bit signed integer.
    case integer(Int64)
    /// An IEEE 754 double.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Bytes; an empty array is an empty blob, not `NULL`.
    case blob([UInt8])
    /// SQL `NULL`.
    case null
}

extension SQLiteValue: ExpressibleByIntegerLiteral {
    /// Makes `.integer` from an integer literal, so arguments read `[42, "text"]`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension SQLiteValue: ExpressibleByFloatLiteral {
    /// Makes `.real` from a floating-point literal.
    public init(floatLiteral value: Double) { self = .real(value) }
}

extension SQLiteValue: ExpressibleByStringLiteral {
    /// Makes `.text` from a string literal.
    public init(stringLiteral value: String) { self = .text(value) }
}
