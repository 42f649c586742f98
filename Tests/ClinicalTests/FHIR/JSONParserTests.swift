import Testing

@testable import Clinical

private func parse(_ text: String, limits: JSONParseLimits = .record) throws(JSONParseError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8), limits: limits)
}

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" { "a": [1, -2.50, 3e2, true, false, null], "b": {"c": "x\u00e9\ud83d\ude00\n\"\\/"} } "#)
        let array = try #require(value["a"]?.arrayValue)
        #expect(array.count == 6)
        #expect(array[0].numberValue?.integerValue == 1)
        #expect(array[1].numberValue?.text == "-2.50" && array[1].numberValue?.value == -2.5)
        #expect(array[1].numberValue?.integerValue == nil)
        #expect(array[2].numberValue?.value == 300 && array[2].numberValue?.integerValue == nil)
        // Booleans and numbers stay apart (Foundation's JSONSerialization on Linux confuses 1 and true).
        #expect(array[3] == .bool(true) && array[3].numberValue == nil)
        #expect(array[0].boolValue == nil)
        #expect(array[5] == .null)
        #expect(value["b"]?["c"]?.stringValue == "xé😀\n\"\\/")
    }

    @Test func refusesMalformedJSONWithOffsets() {
        let cases: [(String, JSONParseError)] = [
            ("", .syntax(offset: 0)),
            ("{", .syntax(offset: 1)),
            ("[1,]", .syntax(offset: 3)),
            ("{\"a\" 1}", .syntax(offset: 5)),
            ("{\"a\":1,}", .syntax(offset: 7)),
            ("01", .syntax(offset: 1)),
            ("1.", .syntax(offset: 2)),
            ("-", .syntax(offset: 0)),
            ("1e", .syntax(offset: 2)),
            ("NaN", .syntax(offset: 0)),
            ("tru", .syntax(offset: 0)),
            ("\"abc", .syntax(offset: 4)),
            ("\"a\u{01}b\"", .syntax(offset: 2)),
            ("\"\\x\"", .syntax(offset: 2)),
            ("\"\\ud800\"", .syntax(offset: 1)),
            ("\"\\ud800\\u0041\"", .syntax(offset: 1)),
            ("{} {}", .syntax(offset: 3)),
            ("1e999", .numberOutOfRange(offset: 0)),
            ("{\"a\":1,\"a\":2}", .duplicateKey(offset: 7)),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try parse(text) }
        }
    }

    @Test func enforcesSizeDepthAndValueLimits() {
        let limits = JSONParseLimits(maxByteCount: 64, maxDepth: 3, maxValueCount: 5)
        #expect(throws: JSONParseError.tooLarge(byteCount: 65, limit: 64)) {
            try parse("\"" + String(repeating: "a", count: 63) + "\"", limits: limits)
        }
        #expect(throws: JSONParseError.nestedTooDeep(limit: 3)) { try parse("[[[[]]]]", limits: limits) }
        #expect((try? parse("[[[]]]", limits: limits)) != nil)
        #expect(throws: JSONParseError.tooManyValues(limit: 5)) { try parse("[1,2,3,4,5]", limits: limits) }
        // The default record limit: nesting far past 64 levels is refused before the stack grows with it.
        #expect(throws: JSONParseError.nestedTooDeep(limit: 64)) {
            try parse(String(repeating: "[", count: 100_000))
        }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.notUTF8) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func errorTextsNeverQuoteTheInput() {
        let secret = "SECRET-DIAGNOSIS-TEXT"
        for text in ["{\"\(secret)\" 1}", "[\"\(secret)\",]", "{\"\(secret)\":1,\"\(secret)\":2}"] {
            do {
                _ = try parse(text)
                Issue.record("parsed \(text)")
            } catch {
                #expect(!error.description.contains(secret))
            }
        }
    }
}
