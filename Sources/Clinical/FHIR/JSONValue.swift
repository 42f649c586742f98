// A JSON value as this module reads and writes it.
//
// Why not Foundation's JSONSerialization: on Linux it hands back NSNumber, and there `1` reads as `true`
// and `true` reads as `1.0`, so an Observation's `valueBoolean` and `valueInteger` could not be told
// apart. Records are hostile input, so the module parses them itself (JSONParser, bounded) and writes
// results itself (CanonicalJSON, byte-stable), both over this one value type.

/// A parsed or to-be-written JSON value.
public enum JSONValue: Sendable, Equatable {
    /// An object. Parsing refuses duplicate keys, so the dictionary loses nothing.
    case object([String: JSONValue])
    /// An array.
    case array([JSONValue])
    /// A string.
    case string(String)
    /// A number, kept as its JSON text so nothing is lost before a reader decides what it needs.
    case number(JSONNumber)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null

    /// The member `key` when this is an object, else nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The members when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The elements when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The text when this is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The number when this is a number.
    public var numberValue: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// The flag when this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}

/// A JSON number: its text as written (grammar-checked) and its value as a finite `Double`.
public struct JSONNumber: Sendable, Equatable {
    /// The number as it appears in JSON, such as `120`, `5.70` or `-1e2`.
    public let text: String
    /// The nearest `Double`; always finite.
    public let value: Double

    /// Wraps text that the parser or `CanonicalNumber` has already checked.
    init(checkedText text: String, value: Double) {
        precondition(value.isFinite, "JSON numbers are finite")
        self.text = text
        self.value = value
    }

    /// The value as an integer when the text is written without a fraction or exponent (`3`, not `3.0`).
    public var integerValue: Int? {
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }
}
