import Testing
@testable import Node

/// Each validator's block sync from this node is bounded by a token bucket of bytes: a burst at once, then
/// the rate; validators are bounded separately; an answer may overdraw, and the next waits for the refill.
@Suite struct SyncAnswerBudgetTests {
    private let cost = SyncAnswerBudget.costPerAnswerBytes

    @Test func aBurstIsAnsweredThenTheRateHolds() {
        var budget = SyncAnswerBudget(bytesPerSecond: 10_000, burstBytes: 50_000)
        var answered = 0
        while budget.mayAnswer(1, nowMs: 1_000) {
            budget.charge(1, bytes: 10_000 - cost, nowMs: 1_000)
            answered += 1
        }
        #expect(answered == 5, "50,000 bytes at once, 10,000 per answer")
        let emptied = budget.mayAnswer(1, nowMs: 1_000)
        let refilled = budget.mayAnswer(1, nowMs: 1_001)
        #expect(!emptied && refilled, "a millisecond refills 10 bytes")
        budget.charge(1, bytes: 10_000 - cost, nowMs: 1_001)
        let early = budget.mayAnswer(1, nowMs: 1_999)
        let second = budget.mayAnswer(1, nowMs: 2_001)
        #expect(!early && second, "then one answer a second")
    }

    @Test func anOverdrawWaitsForTheRefillAndTheBucketNeverExceedsTheBurst() {
        var budget = SyncAnswerBudget(bytesPerSecond: 1_000, burstBytes: 8_192)
        let first = budget.mayAnswer(2, nowMs: 0)
        budget.charge(2, bytes: 100_000 - cost, nowMs: 0)
        let before = budget.mayAnswer(2, nowMs: 91_000)
        let after = budget.mayAnswer(2, nowMs: 92_000)
        #expect(first && !before && after, "91,808 bytes overdrawn take 92 s to refill")
        // A long quiet spell refills only up to the burst: two answers of 4,096 bytes, not more.
        var answered = 0
        while budget.mayAnswer(2, nowMs: 10_000_000) {
            budget.charge(2, bytes: 0, nowMs: 10_000_000)
            answered += 1
        }
        #expect(answered == 2)
    }

    @Test func validatorsHaveBucketsOfTheirOwn() {
        var budget = SyncAnswerBudget(bytesPerSecond: 1, burstBytes: cost)
        let first = budget.mayAnswer(1, nowMs: 5)
        budget.charge(1, bytes: 1_000, nowMs: 5)
        let again = budget.mayAnswer(1, nowMs: 5)
        let others = budget.mayAnswer(2, nowMs: 5) && budget.mayAnswer(3, nowMs: 5)
        #expect(first && !again)
        #expect(others, "others are not held back")
    }

    @Test func aClockThatStepsBackRefillsNothing() {
        var budget = SyncAnswerBudget(bytesPerSecond: 1_000_000, burstBytes: cost)
        budget.charge(1, bytes: 0, nowMs: 10_000)
        let stepBack = budget.mayAnswer(1, nowMs: 9_000)
        let same = budget.mayAnswer(1, nowMs: 10_000)
        let later = budget.mayAnswer(1, nowMs: 10_005)
        #expect(!stepBack && !same && later)
    }
}
