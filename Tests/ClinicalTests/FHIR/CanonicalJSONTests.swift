import Testing

@testable import Clinical

@Suite struct CanonicalJSONTests {
    @Test func numbersAreFixedPointWithSixDecimals() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (120, "120"), (0.5, "0.5"), (1.0 / 3, "0.333333"), (2.0 / 3, "0.666667"),
            (-1.25, "-1.25"), (33.6, "33.6"), (126.112, "126.112"), (1e-7, "0"), (-4e-7, "0"),
            (0.0000004, "0"), (0.0000006, "0.000001"), (123_456_789.123456, "123456789.123456"),
            (-999_999.9999999, "-1000000"),
        ]
        for (value, text) in cases {
            #expect(CanonicalNumber.format(value) == text, "\(value)")
        }
    }

    @Test func objectsAreSortedByUTF8AndCompact() {
        let value = JSONValue.object([
            "b": .array([.integer(1), .fixed(0.25), .bool(true), .null]),
            "a": .string("é\"\\\n\u{01}/"),
            "B": .object([:]),
            "aa": .array([]),
        ])
        let text = String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
        #expect(text == #"{"B":{},"a":"é\"\\\n\u0001/","aa":[],"b":[1,0.25,true,null]}"#)
    }

    @Test func encodingRoundTripsThroughTheParser() throws {
        let value = JSONValue.object([
            "name": .string("ST depression ✓"), "values": .array([.fixed(-1.5), .integer(1_717_200_000_000)]),
            "nested": .object(["flag": .bool(false), "none": .null]),
        ])
        let bytes = CanonicalJSON.encode(value)
        let parsed = try JSONParser.parse(bytes)
        #expect(parsed == value)
        #expect(CanonicalJSON.encode(parsed) == bytes)
    }
}
