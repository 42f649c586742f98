import Testing
import Crypto
import Ledger
import TestSupport

@testable import Storage

@Suite struct UnindexedRowsTests {
    /// Against one dictionary of ids and one of accesses (the reference): the same look-ups, the same count,
    /// and the rows of every index-batch part, for part counts that do and do not divide the 256 shards,
    /// together exactly the reference's rows, each part's sorted.
    @Test(arguments: [1, 3, 32, 100, 256]) func shardsHoldWhatOneDictionaryWouldAndPartsCoverThemOnce(parts: Int) {
        var random = SeededRandom(seed: 97)
        let patients = (0..<40).map { _ in Identity(publicKeyBytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })! }
        var rows = UnindexedRows()
        var ids: [TransactionID: UInt64] = [:]
        var accesses: [Identity: [UInt64]] = [:]
        for seq in UInt64(1)...3_000 {
            let id = TransactionID(digest: SHA256.hash((0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }))
            rows.insert(id, seq: seq)
            ids[id] = seq
            if seq % 3 == 0 {
                let patient = patients[Int.random(in: 0..<patients.count, using: &random)]
                rows.insertAccess(patient: patient, seq: seq)
                accesses[patient, default: []].append(seq)
            }
        }
        #expect(rows.idCount == ids.count)
        #expect(ids.allSatisfy { rows.sequence(of: $0.key) == $0.value })
        #expect(patients.allSatisfy { rows.accessSequences(of: $0) == (accesses[$0] ?? []) })
        let reopened = UnindexedRows(ids: ids, accesses: accesses)
        #expect(reopened.idCount == ids.count && ids.allSatisfy { reopened.sequence(of: $0.key) == $0.value })

        var written: [(id: TransactionID, seq: UInt64)] = []
        var writtenAccesses: [(patient: Identity, seq: UInt64)] = []
        for part in 0..<parts {
            let shards = ChainStore.IndexFlush.shards(ofPart: part, parts: parts)
            let partIDs = rows.sortedIDs(inShards: shards)
            #expect(partIDs.map(\.id) == partIDs.map(\.id).sorted())
            written += partIDs
            writtenAccesses += rows.sortedAccesses(inShards: shards)
        }
        #expect(written.count == ids.count && written.allSatisfy { ids[$0.id] == $0.seq })
        #expect(written.map(\.id) == ids.keys.sorted(), "parts in order cover the ids once, in id order")
        #expect(writtenAccesses.map { "\($0.patient)/\($0.seq)" }.sorted()
            == accesses.flatMap { entry in entry.value.map { "\(entry.key)/\($0)" } }.sorted())
    }

    /// Consecutive, starting at 0 and ending at 256, for every part count a batch may have.
    @Test func partShardRangesTileTheShards() {
        for parts in 1...UnindexedRows.shardCount {
            let ranges = (0..<parts).map { ChainStore.IndexFlush.shards(ofPart: $0, parts: parts) }
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == UnindexedRows.shardCount)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
    }
}
