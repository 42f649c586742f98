import Foundation
import Testing
import TestSupport
import Transport

/// The JSON writer of log lines and answers: what it writes reads back as what it was given, keys sorted,
/// strings escaped; what JSON cannot hold is refused rather than written wrong.
@Suite struct JSONWriterTests {
    @Test func writesScalarsObjectsAndArrays() {
        #expect(JSONWriter.text(["b": 1, "a": "x", "c": [true, false, NSNull()]] as [String: Any]) == #"{"a":"x","b":1,"c":[true,false,null]}"#)
        #expect(JSONWriter.text(["n": UInt64.max, "m": Int64.min, "s": UInt16(7), "i": Int8(-3)] as [String: Any])
            == #"{"i":-3,"m":-9223372036854775808,"n":18446744073709551615,"s":7}"#)
        #expect(JSONWriter.text([0.88, 5.0, -2.5, 1e-7, 123456.75] as [Any]) == "[0.88,5,-2.5,1e-07,123456.75]")
        #expect(JSONWriter.text([String: Any]()) == "{}" && JSONWriter.text([Any]()) == "[]")
        #expect(JSONWriter.text("url/with/slashes") == #""url/with/slashes""#)
    }

    @Test func sortsKeysByUnicodeScalars() {
        #expect(JSONWriter.text(["b": 0, "B": 0, "a_b": 0, "aB": 0, "é": 0, "a": 0] as [String: Any]) == #"{"B":0,"a":0,"aB":0,"a_b":0,"b":0,"é":0}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(JSONWriter.string("say \"hi\"\\\n\r\t\u{1}\u{1F}é🙂") == #""say \"hi\"\\\n\r\t\u0001\u001fé🙂""#)
    }

    @Test func refusesWhatJSONCannotHold() {
        #expect(JSONWriter.text(Double.nan) == nil && JSONWriter.text(["x": Double.infinity] as [String: Any]) == nil)
        #expect(JSONWriter.text(Date()) == nil && JSONWriter.text([Optional<Int>.none as Any]) == nil)
        #expect(JSONWriter.text(NSNumber(value: 1)) == nil, "an NSNumber's type is ambiguous")
    }

    /// Random nested values written and read back with `JSONSerialization` compare equal (seed 2026).
    @Test func randomValuesReadBackUnchanged() throws {
        var random = SeededRandom(seed: 2026)
        for _ in 0..<500 {
            let value = Self.randomObject(&random, depth: 0)
            let text = try #require(JSONWriter.text(value))
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(Self.matches(value, parsed), "\(text)")
        }
    }

    /// Whether `parsed` (as `JSONSerialization` reads, numbers and booleans as `NSNumber`) is `expected`.
    private static func matches(_ expected: Any, _ parsed: Any) -> Bool {
        switch expected {
        case let text as String: return parsed as? String == text
        case let flag as Bool: return (parsed as? NSNumber)?.boolValue == flag
        case let number as Int: return (parsed as? NSNumber)?.int64Value == Int64(number)
        case let number as Double: return (parsed as? NSNumber)?.doubleValue == number
        case is NSNull: return parsed is NSNull
        case let array as [Any]:
            guard let other = parsed as? [Any], other.count == array.count else { return false }
            return zip(array, other).allSatisfy { matches($0, $1) }
        case let object as [String: Any]:
            guard let other = parsed as? [String: Any], Set(other.keys) == Set(object.keys) else { return false }
            return object.allSatisfy { key, value in matches(value, other[key]!) }
        default: return false
        }
    }

    private static func randomObject(_ random: inout SeededRandom, depth: Int) -> [String: Any] {
        var object: [String: Any] = [:]
        for _ in 0..<Int.random(in: 0...5, using: &random) {
            object[randomString(&random)] = randomValue(&random, depth: depth + 1)
        }
        return object
    }

    private static func randomValue(_ random: inout SeededRandom, depth: Int) -> Any {
        switch Int.random(in: 0..<(depth < 3 ? 7 : 5), using: &random) {
        case 0: return randomString(&random)
        case 1: return Int.random(in: -1_000_000...1_000_000, using: &random)
        case 2: return Double(Int.random(in: -100_000...100_000, using: &random)) / 100
        case 3: return Bool.random(using: &random)
        case 4: return NSNull()
        case 5: return (0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth + 1) }
        default: return randomObject(&random, depth: depth)
        }
    }

    private static func randomString(_ random: inout SeededRandom) -> String {
        let alphabet = Array("aZ_09 \"\\/\n\t\u{1}é🙂")
        return String((0..<Int.random(in: 0...8, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }
}
