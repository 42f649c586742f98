import Transport

/// A JSON value whose objects keep their members in the order written, so `--json` output is stable and
/// reads in the same order as the text output. Encoded on one line.
enum JSONValue: Sendable, Equatable {
    case string(String)
    case number(UInt64)
    /// A measured quantity; NaN and infinities (which JSON cannot hold) are encoded as `null`.
    case decimal(Double)
    case null
    case bool(Bool)
    case array([JSONValue])
    case object([Member])
    /// JSON text written as it is: the canonical output of a clinical service, after its hash was checked, so
    /// that a script can hash the same bytes again.
    case verbatim(String)

    struct Member: Sendable, Equatable {
        let name: String
        let value: JSONValue
    }

    /// The encoded text (RFC 8259), without a trailing newline.
    var encoded: String {
        switch self {
        case let .string(text): return Self.quoted(text)
        case let .number(value): return String(value)
        case let .decimal(value): return value.isFinite ? value.description : "null"
        case .null: return "null"
        case let .bool(value): return value ? "true" : "false"
        case let .array(items): return "[" + items.map(\.encoded).joined(separator: ",") + "]"
        case let .object(members):
            return "{" + members.map { Self.quoted($0.name) + ":" + $0.value.encoded }.joined(separator: ",") + "}"
        case let .verbatim(text): return text
        }
    }

    /// A copy of this object with `member` appended (for optional fields).
    func appending(_ name: String, _ value: JSONValue) -> JSONValue {
        guard case let .object(members) = self else { preconditionFailure("appending a member to a non-object") }
        return .object(members + [Member(name: name, value: value)])
    }

    private static func quoted(_ text: String) -> String { JSONWriter.string(text) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { Member(name: $0.0, value: $0.1) })
    }
}
