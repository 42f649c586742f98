import Foundation

/// Writes JSON text from the values the node builds its log lines and answers from, at a fraction of the
/// cost of `JSONSerialization` (whose sorted keys compare strings with a locale): a log line per committed
/// block and an answer per request are on the node's hot paths.
///
/// Objects are `[String: Any]`, their keys sorted by Unicode scalar values; arrays are `[Any]`; scalars are
/// `String`, `Bool`, fixed-width integers, finite `Double` (whole numbers below 2^53 without a fraction,
/// others in the shortest form that reads back as the same number) and `NSNull`. Strings escape quotes,
/// backslashes and control characters; nothing else. Anything else, or a non-finite number, is not
/// written (nor an `NSNumber`, whose type is ambiguous): the result is nil.
public enum JSONWriter {
    /// The JSON text of `value`, or nil when it holds something JSON cannot represent.
    public static func text(_ value: Any) -> String? {
        var output = ""
        return write(value, into: &output) ? output : nil
    }

    /// The UTF-8 bytes of `text(value)`.
    public static func bytes(_ value: Any) -> [UInt8]? { text(value).map { Array($0.utf8) } }

    /// A JSON string literal for `text`: quotes, backslashes and control characters escaped.
    public static func string(_ text: String) -> String {
        var output = ""
        appendString(text, to: &output)
        return output
    }

    private static func write(_ value: Any, into output: inout String) -> Bool {
        // Parsed JSON holds `NSNumber`s, which cast to `Bool` and to every integer type alike: not written.
        if type(of: value) is NSNumber.Type { return false }
        switch value {
        case let text as String: appendString(text, to: &output)
        case let flag as Bool: output += flag ? "true" : "false"
        case let number as Int: output += String(number)
        case let number as Int64: output += String(number)
        case let number as Int32: output += String(number)
        case let number as Int16: output += String(number)
        case let number as Int8: output += String(number)
        case let number as UInt: output += String(number)
        case let number as UInt64: output += String(number)
        case let number as UInt32: output += String(number)
        case let number as UInt16: output += String(number)
        case let number as UInt8: output += String(number)
        case let number as Double:
            guard number.isFinite else { return false }
            output += format(number)
        case is NSNull: output += "null"
        case let object as [String: Any]:
            output += "{"
            for (index, key) in object.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }).enumerated() {
                if index > 0 { output += "," }
                appendString(key, to: &output)
                output += ":"
                guard write(object[key]!, into: &output) else { return false }
            }
            output += "}"
        case let array as [Any]:
            output += "["
            for (index, element) in array.enumerated() {
                if index > 0 { output += "," }
                guard write(element, into: &output) else { return false }
            }
            output += "]"
        default: return false
        }
        return true
    }

    private static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 { return String(Int64(number)) }
        return "\(number)"
    }

    private static func appendString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
