import Foundation
import Testing
import Ledger
import TestSupport

/// The genesis JSON is parsed strictly: a typo must never silently create a different chain.
@Suite struct GenesisTests {
    static let exampleURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../genesis/example.json").standardizedFileURL

    static func exampleText() throws -> String { try String(contentsOf: exampleURL, encoding: .utf8) }

    static func parse(_ text: String) throws(GenesisError) -> Genesis { try Genesis(jsonBytes: Array(text.utf8)) }

    static func expectRefusal(_ text: String, mentioning expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(text)
            Issue.record("accepted: expected a refusal mentioning \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(expected), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func theExampleParsesAndRoundTrips() throws {
        let genesis = try Self.parse(try Self.exampleText())
        #expect(genesis.validators.count == 4)
        let reparsed = try Genesis(jsonBytes: genesis.jsonBytes)
        #expect(reparsed == genesis)
        #expect(reparsed.hash == genesis.hash)
    }

    @Test func unknownMissingAndRepeatedFieldsAreRefused() throws {
        let text = try Self.exampleText()
        Self.expectRefusal(text.replacingOccurrences(of: "\"chainId\"", with: "\"chainID\""), mentioning: "chainID: unknown field")
        Self.expectRefusal(text.replacingOccurrences(of: "\"chainId\":", with: "\"chainId\": \"other-chain\", \"chainId\":"),
                           mentioning: "chainId: appears twice")
        Self.expectRefusal(text.replacingOccurrences(of: "\"blockIntervalMs\"", with: "\"blockIntervalMz\""), mentioning: "blockIntervalMz")
        Self.expectRefusal("[1, 2]", mentioning: "must be an object")
        Self.expectRefusal("{\"format\": ", mentioning: "not valid JSON")
    }

    @Test func valuesAreValidated() throws {
        let text = try Self.exampleText()
        let genesis = try Self.parse(text)
        let firstKey = genesis.validators[0].key.text
        Self.expectRefusal(text.replacingOccurrences(of: firstKey, with: String(firstKey.dropLast()) + "q"), mentioning: "not a valid identity")
        Self.expectRefusal(text.replacingOccurrences(of: "\"power\": 1", with: "\"power\": true"), mentioning: "whole number")
        Self.expectRefusal(text.replacingOccurrences(of: "\"power\": 1", with: "\"power\": -1"), mentioning: "whole number")
        Self.expectRefusal(text.replacingOccurrences(of: genesis.organisations[0].name, with: "Evil\u{202E}Name"),
                           mentioning: "printable characters")
        Self.expectRefusal(text.replacingOccurrences(of: "\"\(genesis.validators[1].key.text)\"", with: "\"\(firstKey)\""),
                           mentioning: "unique")
    }

    @Test func timestampsAreParsedWithoutTheSystemCalendar() {
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parse("2026-01-01T00:00:00Z") == 1_767_225_600_000)
        #expect(Timestamp.parse("2024-02-29T12:34:56.789Z") == 1_709_210_096_789)
        #expect(Timestamp.parse("2023-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("2026-01-01 00:00:00Z") == nil)
        #expect(Timestamp.parse("2026-01-01T00:00:00+01:00") == nil)
        for ms: UInt64 in [0, 1_767_225_600_000, 1_709_210_096_789, 4_102_444_799_999] {
            #expect(Timestamp.parse(Timestamp.format(ms)) == ms)
        }
    }

    @Test func oneValidatorIsAConsortium() throws {
        let genesis = ChainBuilder().genesis
        #expect(genesis.validators.count == 1)
        #expect(genesis.totalVotingPower == 1)
        #expect(try Genesis(jsonBytes: genesis.jsonBytes) == genesis)
    }
}
