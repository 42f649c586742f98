import Consensus
import Testing

/// The heights whose blocks a validator appends durably: one in `interval`, staggered across the validators.
@Suite struct DurableAppendScheduleTests {
    /// Four validators, an interval of 16: each syncs once in every 16 heights, never two at one height, and
    /// never more than 16 heights after its last durable append.
    @Test func eachValidatorSyncsOnceAnIntervalAndNeverTwoAtOneHeight() {
        let schedules = (0..<4).map { DurableAppendSchedule(interval: 16, ownIndex: $0, validatorCount: 4) }
        var durableHeights = [UInt64](repeating: 0, count: 4)
        var syncsAt: [UInt64: Int] = [:]
        for height in UInt64(1)...160 {
            for (index, schedule) in schedules.enumerated() where schedule.isDurable(height, durableHeight: durableHeights[index]) {
                #expect(height - durableHeights[index] <= 16)
                durableHeights[index] = height
                syncsAt[height, default: 0] += 1
            }
        }
        #expect(syncsAt.values.allSatisfy { $0 == 1 }, "\(syncsAt)")
        #expect(syncsAt.count == 40, "ten intervals of four validators")
    }

    /// A store just opened is durable through no height it knows of: its first block is durable once an
    /// interval has passed, whatever the stagger.
    @Test func theFirstBlockAfterOpeningIsDurableOnceAnIntervalHasPassed() {
        let schedule = DurableAppendSchedule(interval: 1_000, ownIndex: 3, validatorCount: 4)
        #expect(schedule.isDurable(5_001, durableHeight: 0))
        #expect(!schedule.isDurable(5_001, durableHeight: 5_000))
        // Validator 3 of 4 syncs at heights 250, 1,250, 2,250 ... (a quarter of the interval before the others).
        #expect(schedule.isDurable(250, durableHeight: 0) && !schedule.isDurable(251, durableHeight: 0))
        #expect(schedule.isDurable(1_250, durableHeight: 250) && !schedule.isDurable(1_249, durableHeight: 250))
        #expect(DurableAppendSchedule(interval: 1, ownIndex: 0, validatorCount: 4).isDurable(7, durableHeight: 6), "an interval of one syncs every block")
    }
}
