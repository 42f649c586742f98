import Testing
import TestSupport

@testable import Node

/// The token bucket that bounds log lines strangers can cause.
struct LogRateLimitTests {
    @Test func aBurstPassesThenLinesAreCountedAndTheNextOneSaysHowMany() {
        var limit = LogRateLimit(burst: 3, perSecond: 2)
        let first = (0..<10).map { _ in limit.admit(nowMs: 1_000) }
        #expect(first == [.write(suppressedBefore: 0), .write(suppressedBefore: 0), .write(suppressedBefore: 0)]
            + Array(repeating: .suppress, count: 7))
        #expect(limit.admit(nowMs: 1_499) == .suppress, "half a second at 2 a second is not yet a whole line")
        #expect(limit.admit(nowMs: 1_500) == .write(suppressedBefore: 8))
        #expect(limit.admit(nowMs: 2_000) == .write(suppressedBefore: 0))
    }

    @Test func anIdleSpellRefillsUpToTheBurstOnly() {
        var limit = LogRateLimit(burst: 2, perSecond: 10)
        _ = (0..<5).map { _ in limit.admit(nowMs: 0) }
        let afterAnHour = (0..<4).map { _ in limit.admit(nowMs: 3_600_000) }
        #expect(afterAnHour == [.write(suppressedBefore: 3), .write(suppressedBefore: 0), .suppress, .suppress])
    }

    @Test func aClockThatGoesBackRefillsNothing() {
        var limit = LogRateLimit(burst: 1, perSecond: 1)
        #expect(limit.admit(nowMs: 10_000) == .write(suppressedBefore: 0))
        #expect(limit.admit(nowMs: 5_000) == .suppress)
        #expect(limit.admit(nowMs: 10_999) == .suppress, "measured from the latest time seen")
        #expect(limit.admit(nowMs: 11_000) == .write(suppressedBefore: 2))
    }

    /// Seeded random runs: the lines written never exceed burst + perSecond × elapsed, and every line held
    /// back is reported at most once.
    @Test func overAnyRunTheLinesWrittenStayWithinTheRate() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<200 {
            let burst = Int(random.next() % 10) + 1
            let perSecond = Int(random.next() % 20) + 1
            var limit = LogRateLimit(burst: burst, perSecond: perSecond)
            var nowMs: UInt64 = 0
            var written = 0
            var offered = 0
            var reported = 0
            for _ in 0..<500 {
                nowMs += random.next() % 50
                offered += 1
                if case let .write(before) = limit.admit(nowMs: nowMs) {
                    written += 1
                    reported += before
                }
                #expect(Double(written) <= Double(burst) + Double(perSecond) * Double(nowMs) / 1_000 + 1e-9)
            }
            #expect(reported <= offered - written, "every line held back is reported at most once")
        }
    }
}
