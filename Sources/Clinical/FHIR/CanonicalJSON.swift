// Deterministic JSON bytes for results whose SHA-256 goes on the ledger.
//
// The same value always gives the same bytes, on every platform and Foundation version: object keys are
// sorted by their UTF-8 bytes, there is no whitespace, strings escape only what JSON requires, and numbers
// are written by `CanonicalNumber` (fixed-point, at most six decimals, no exponent) rather than by a
// float printer whose shortest-representation output could change between releases.

/// Writes `JSONValue`s canonically.
public enum CanonicalJSON {
    /// The canonical bytes of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text):
            writeString(text, to: &out)
        case .number(let number):
            out.append(contentsOf: number.text.utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null:
            out.append(contentsOf: "null".utf8)
        }
    }

    /// Escapes `"`, `\` and control characters; everything else is written as UTF-8.
    private static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The fixed number format of canonical results.
public enum CanonicalNumber {
    /// Decimals kept: 1e-6 is far below any clinically meaningful difference in these results.
    public static let fractionDigits = 6
    /// The largest magnitude written; every value in a result is far smaller.
    public static let maxMagnitude = 1e12

    /// `value` rounded half-to-even at six decimals, trailing zeros dropped, no exponent, no `-0`:
    /// `120`, `0.5`, `0.333333`, `-1.25`.
    public static func format(_ value: Double) -> String {
        precondition(value.isFinite && abs(value) < maxMagnitude, "canonical numbers are finite and bounded")
        let scale = 1_000_000.0
        let scaled = Int64((value * scale).rounded(.toNearestOrEven))
        if scaled == 0 { return "0" }
        let magnitude = scaled.magnitude
        let integerPart = magnitude / 1_000_000
        var fraction = String(magnitude % 1_000_000)
        fraction = String(repeating: "0", count: fractionDigits - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        let sign = scaled < 0 ? "-" : ""
        return fraction.isEmpty ? "\(sign)\(integerPart)" : "\(sign)\(integerPart).\(fraction)"
    }
}

extension JSONValue {
    /// A number in the canonical fixed format.
    public static func fixed(_ value: Double) -> JSONValue {
        let text = CanonicalNumber.format(value)
        return .number(JSONNumber(checkedText: text, value: Double(text)!))
    }

    /// An integer.
    public static func integer(_ value: Int64) -> JSONValue {
        .number(JSONNumber(checkedText: String(value), value: Double(value)))
    }

    /// A string, or `null` when `text` is nil.
    public static func optionalString(_ text: String?) -> JSONValue {
        text.map { .string($0) } ?? .null
    }
}
