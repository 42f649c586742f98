import Testing
import Crypto
import Ledger
import TestSupport

@testable import Storage

@Suite struct RecentIDFilterTests {
    private static func randomID(_ random: inout SeededRandom) -> TransactionID {
        TransactionID(digest: SHA256.hash((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }))
    }

    /// Against a set of the inserted ids (the reference): never "no" for an inserted id, always "maybe" for an
    /// id created before `exactFromMs`, and for ids never inserted "no" nearly always (false "maybe"s within
    /// the filter's sizing: 40,000 ids spread over a few generations).
    @Test func neverDeniesAnInsertedIDAndRarelyAdmitsAnotherOne() {
        var random = SeededRandom(seed: 41)
        let exactFromMs: UInt64 = 1_000_000
        var filter = RecentIDFilter(exactFromMs: exactFromMs, generationMs: 60_000)
        var inserted: [(TransactionID, UInt64)] = []
        for _ in 0..<40_000 {
            let id = Self.randomID(&random)
            let createdAtMs = UInt64.random(in: (exactFromMs - 30_000)...(exactFromMs + 200_000), using: &random)
            filter.insert(id, createdAtMs: createdAtMs)
            inserted.append((id, createdAtMs))
        }
        #expect(inserted.allSatisfy { filter.mayContain($0.0, createdAtMs: $0.1) })
        #expect(filter.generationCount == 4)
        var falseMaybes = 0
        for _ in 0..<20_000 {
            let id = Self.randomID(&random)
            let createdAtMs = UInt64.random(in: exactFromMs...(exactFromMs + 200_000), using: &random)
            if filter.mayContain(id, createdAtMs: createdAtMs) { falseMaybes += 1 }
            #expect(filter.mayContain(id, createdAtMs: exactFromMs - 1), "before exactFromMs only maybe")
        }
        #expect(falseMaybes < 20, "\(falseMaybes) of 20,000 absent ids were maybe")
        // An inserted id at another creation time is another transaction: not this one.
        let (id, createdAtMs) = inserted.first { $0.1 >= exactFromMs }!
        #expect(!filter.mayContain(id, createdAtMs: createdAtMs + 3 * 60_000))
    }

    /// Forgetting drops the generations wholly before the cutoff and raises `exactFromMs` to the first kept
    /// generation's start: ids there are still found, older ones get "maybe", nothing is ever wrongly "no".
    @Test func forgettingKeepsEveryAnswerSafe() {
        var random = SeededRandom(seed: 43)
        var filter = RecentIDFilter(exactFromMs: 0, generationMs: 1_000)
        let ids = (0..<10_000).map { index in (Self.randomID(&random), UInt64(index)) }
        for (id, createdAtMs) in ids { filter.insert(id, createdAtMs: createdAtMs) }
        #expect(filter.generationCount == 10)
        filter.forget(createdBeforeMs: 4_500)
        #expect(filter.exactFromMs == 4_000 && filter.generationCount == 6)
        #expect(ids.allSatisfy { filter.mayContain($0.0, createdAtMs: $0.1) })
        filter.forget(createdBeforeMs: 3_000)
        #expect(filter.exactFromMs == 4_000, "forgetting less changes nothing")
        filter.insert(ids[0].0, createdAtMs: ids[0].1)
        #expect(filter.generationCount == 6, "an id created before exactFromMs is not kept")
    }

    /// A store's filter is exact only for ids created after its head time plus `transactionMaxFutureMs` (any
    /// commit of them comes after the store was opened); its generations tile the replay window in about 16.
    @Test func aStoresFilterStartsWhereNoEarlierBlockCouldHoldAnID() {
        var consensus = ConsensusParameters()
        consensus.transactionMaxAgeMs = 10 * 60_000
        consensus.transactionMaxFutureMs = 60_000
        let filter = RecentIDFilter(headTimeMs: 5_000_000, consensus: consensus)
        #expect(filter.exactFromMs == 5_060_001)
        #expect(filter.generationMs == 60_000)
        var random = SeededRandom(seed: 47)
        let id = Self.randomID(&random)
        #expect(filter.mayContain(id, createdAtMs: 5_060_000))
        #expect(!filter.mayContain(id, createdAtMs: 5_060_001))
        consensus.transactionMaxAgeMs = 86_400_000
        #expect(RecentIDFilter(headTimeMs: 0, consensus: consensus).generationMs == (86_400_000 + 60_000) / 16)
    }
}
