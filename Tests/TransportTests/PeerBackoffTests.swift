import Testing

@testable import Transport

/// Reconnection delays: exponential, capped, jittered within the upper half, reproducible from the seed.
@Suite struct PeerBackoffTests {
    @Test func delaysDoubleUpToTheMaximumWithinTheUpperHalf() {
        var backoff = PeerBackoff(initialDelayMs: 100, maxDelayMs: 1_000, seed: 7)
        let ceilings = [100, 200, 400, 800, 1_000, 1_000, 1_000]
        for ceiling in ceilings {
            #expect(backoff.ceilingMs == ceiling)
            let delay = backoff.nextDelayMs()
            #expect((ceiling / 2...ceiling).contains(delay), "delay \(delay) outside [\(ceiling / 2), \(ceiling)]")
        }
    }

    @Test func theSameSeedGivesTheSameScheduleAndAnotherSeedAnother() {
        func schedule(seed: UInt64) -> [Int] {
            var backoff = PeerBackoff(initialDelayMs: 100, maxDelayMs: 10_000, seed: seed)
            return (0..<20).map { _ in backoff.nextDelayMs() }
        }
        #expect(schedule(seed: 1) == schedule(seed: 1))
        #expect(schedule(seed: 1) != schedule(seed: 2))
    }

    @Test func jitterSpreadsOverTheWholeUpperHalf() {
        var backoff = PeerBackoff(initialDelayMs: 1_000, maxDelayMs: 1_000, seed: 3)
        let delays = (0..<2_000).map { _ in backoff.nextDelayMs() }
        #expect(delays.allSatisfy { (500...1_000).contains($0) })
        #expect(delays.min()! < 550 && delays.max()! > 950)
    }

    @Test func resetStartsAgainFromTheInitialDelay() {
        var backoff = PeerBackoff(initialDelayMs: 50, maxDelayMs: 5_000, seed: 9)
        for _ in 0..<10 { _ = backoff.nextDelayMs() }
        #expect(backoff.ceilingMs == 5_000)
        backoff.reset()
        #expect(backoff.ceilingMs == 50)
        #expect((25...50).contains(backoff.nextDelayMs()))
    }

    @Test func manyAttemptsNeverOverflow() {
        var backoff = PeerBackoff(initialDelayMs: 1, maxDelayMs: Int.max / 2, seed: 5)
        for _ in 0..<200 { _ = backoff.nextDelayMs() }
        #expect(backoff.ceilingMs == Int.max / 2)
    }

    @Test func splitMix64MatchesItsReferenceOutput() {
        // First outputs for seed 0, from the reference implementation (Vigna, splitmix64.c).
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }
}
