import Foundation
import Testing
import Ledger
import Node

/// Log lines: one JSON object per line with the time, level and event beside the fields, keys sorted; a
/// field JSON cannot hold is written as its description rather than losing the line.
@Suite struct LogTests {
    private struct FixedClock: Clock {
        func nowMs() -> UInt64 { 1_795_000_000_123 }
    }

    @Test func writesOneSortedJSONObjectPerEvent() throws {
        let lines = LogLines()
        let log = Log(clock: FixedClock()) { lines.append($0) }
        log.info("block.committed", ["height": UInt64(12), "entries": 3, "append_ms": 0.88, "hash": "ab/cd"])
        log.error("consensus.halted", ["reason": "disk \"full\"\n"])
        #expect(lines.all.count == 2)
        #expect(lines.all[0] == #"{"append_ms":0.88,"entries":3,"event":"block.committed","hash":"ab/cd","height":12,"level":"info","ts":"\#(Timestamp.format(1_795_000_000_123))"}"#)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines.all[1].utf8)) as? [String: Any])
        #expect(second["reason"] as? String == "disk \"full\"\n" && second["level"] as? String == "error")
    }

    @Test func aValueJSONCannotHoldIsLoggedAsItsDescription() throws {
        let lines = LogLines()
        let log = Log(clock: FixedClock()) { lines.append($0) }
        let missing: Int? = nil
        log.info("odd.values", ["missing": missing as any Sendable, "ratio": Double.nan, "count": 2])
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["missing"] as? String == "nil" && object["ratio"] as? String == "nan")
        #expect((object["count"] as? NSNumber)?.intValue == 2 && object["event"] as? String == "odd.values")
    }
}
