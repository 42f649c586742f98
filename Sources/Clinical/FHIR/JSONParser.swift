// A strict, bounded JSON parser (RFC 8259) for FHIR records.
//
// Bounds: input size, nesting depth and number of values, all checked before memory grows with them.
// Strict: UTF-8 only, no duplicate keys, no trailing bytes, numbers must be finite. Errors name the
// problem and a byte offset, never the content.

/// Why a record could not be parsed. Safe to print: no content from the record.
public enum JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is larger than the limit.
    case tooLarge(byteCount: Int, limit: Int)
    /// The input is not valid UTF-8.
    case notUTF8
    /// Objects and arrays nest deeper than the limit.
    case nestedTooDeep(limit: Int)
    /// More values than the limit.
    case tooManyValues(limit: Int)
    /// The bytes are not JSON; `offset` is where the parser stopped.
    case syntax(offset: Int)
    /// A number that does not fit a finite `Double`.
    case numberOutOfRange(offset: Int)
    /// An object names the same key twice.
    case duplicateKey(offset: Int)

    public var description: String {
        switch self {
        case let .tooLarge(byteCount, limit): "record is \(byteCount) bytes; at most \(limit) are read"
        case .notUTF8: "record is not valid UTF-8"
        case let .nestedTooDeep(limit): "record nests objects and arrays deeper than \(limit) levels"
        case let .tooManyValues(limit): "record holds more than \(limit) JSON values"
        case let .syntax(offset): "record is not valid JSON (byte \(offset))"
        case let .numberOutOfRange(offset): "record holds a number out of range (byte \(offset))"
        case let .duplicateKey(offset): "record repeats a key in one object (byte \(offset))"
        }
    }
}

/// Limits of one parse.
public struct JSONParseLimits: Sendable, Equatable {
    /// The largest input, in bytes.
    public var maxByteCount: Int
    /// The deepest nesting of objects and arrays.
    public var maxDepth: Int
    /// The most values (of any kind) in one input.
    public var maxValueCount: Int

    /// Limits for one FHIR record: 1 MiB (as the vault), 64 levels, 200,000 values.
    public static let record = JSONParseLimits(maxByteCount: 1 << 20, maxDepth: 64, maxValueCount: 200_000)

    /// Creates limits; each must be positive.
    public init(maxByteCount: Int, maxDepth: Int, maxValueCount: Int) {
        precondition(maxByteCount > 0 && maxDepth > 0 && maxValueCount > 0)
        self.maxByteCount = maxByteCount
        self.maxDepth = maxDepth
        self.maxValueCount = maxValueCount
    }
}

/// Parses JSON bytes into a `JSONValue`.
public struct JSONParser {
    private let bytes: [UInt8]
    private let limits: JSONParseLimits
    private var position = 0
    private var valueCount = 0

    /// Parses `bytes` as one JSON value with nothing but whitespace after it.
    public static func parse(_ bytes: [UInt8], limits: JSONParseLimits = .record) throws(JSONParseError) -> JSONValue {
        guard bytes.count <= limits.maxByteCount else {
            throw .tooLarge(byteCount: bytes.count, limit: limits.maxByteCount)
        }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .notUTF8 }
        var parser = JSONParser(bytes: bytes, limits: limits)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw .syntax(offset: parser.position) }
        return value
    }

    private init(bytes: [UInt8], limits: JSONParseLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        valueCount += 1
        guard valueCount <= limits.maxValueCount else { throw .tooManyValues(limit: limits.maxValueCount) }
        skipWhitespace()
        guard let byte = peek() else { throw .syntax(offset: position) }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default: return .number(try parseNumber())
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= limits.maxDepth else { throw .nestedTooDeep(limit: limits.maxDepth) }
        position += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard peek() == UInt8(ascii: "\"") else { throw .syntax(offset: position) }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            let value = try parseValue(depth: depth)
            guard members.updateValue(value, forKey: key) == nil else { throw .duplicateKey(offset: keyOffset) }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= limits.maxDepth else { throw .nestedTooDeep(limit: limits.maxDepth) }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return .array(elements)
        }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        position += 1  // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = position
        while true {
            guard let byte = peek() else { throw .syntax(offset: position) }
            switch byte {
            case UInt8(ascii: "\""):
                appendRun(from: runStart, to: position, into: &scalars)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                appendRun(from: runStart, to: position, into: &scalars)
                position += 1
                scalars.append(try parseEscape())
                runStart = position
            case 0..<0x20:
                throw .syntax(offset: position)
            default:
                position += 1
            }
        }
    }

    /// Appends raw (already validated) UTF-8 bytes.
    private func appendRun(from start: Int, to end: Int, into scalars: inout String.UnicodeScalarView) {
        guard start < end else { return }
        scalars.append(contentsOf: String(decoding: bytes[start..<end], as: UTF8.self).unicodeScalars)
    }

    private mutating func parseEscape() throws(JSONParseError) -> Unicode.Scalar {
        guard let byte = peek() else { throw .syntax(offset: position) }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"): return try parseUnicodeEscape()
        default: throw .syntax(offset: position - 1)
        }
    }

    /// `\uXXXX`, joining a surrogate pair; a lone surrogate is refused.
    private mutating func parseUnicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let start = position - 2
        let first = try parseHex4()
        if (0xD800...0xDBFF).contains(first) {
            guard peek() == UInt8(ascii: "\\"), peek(at: 1) == UInt8(ascii: "u") else { throw .syntax(offset: start) }
            position += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw .syntax(offset: start) }
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            guard let scalar = Unicode.Scalar(combined) else { throw .syntax(offset: start) }
            return scalar
        }
        guard let scalar = Unicode.Scalar(first) else { throw .syntax(offset: start) }
        return scalar
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = Self.hexDigit(byte) else { throw .syntax(offset: position) }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        if peek() == UInt8(ascii: "0") {
            position += 1
        } else {
            guard skipDigits() > 0 else { throw .syntax(offset: start) }
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw .syntax(offset: position) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw .syntax(offset: position) }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw .numberOutOfRange(offset: start) }
        return JSONNumber(checkedText: text, value: value)
    }

    private mutating func skipDigits() -> Int {
        var count = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            position += 1
            count += 1
        }
        return count
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = position
        for expected in literal.withUTF8Buffer({ Array($0) }) {
            guard peek() == expected else { throw .syntax(offset: start) }
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(JSONParseError) {
        guard peek() == byte else { throw .syntax(offset: position) }
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\t")
        {
            position += 1
        }
    }

    private func peek(at offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }
}
