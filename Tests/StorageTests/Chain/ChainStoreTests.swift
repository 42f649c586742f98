import Foundation
import Testing
import Ledger
import SQLite
import TestSupport

@testable import Storage

@Suite struct ChainStoreTests {
    /// With a flush count of 45 ids the id index is flushed every block or two, so reopening finds some ids in
    /// the index and rebuilds the rest from the entries; with the default, everything stays in memory.
    @Test(arguments: [45, 50_000]) func blocksAndStateSurviveReopening(idIndexFlushCount: Int) throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, referenceState) = generatedChain()
        do {
            let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis, idIndexFlushCount: idIndexFlushCount)
            try append(blocks, to: store)
        }
        let reopened = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis, idIndexFlushCount: idIndexFlushCount)
        #expect(reopened.headHeight == UInt64(blocks.count))
        #expect(reopened.headHash == blocks.last!.block.header.hash)
        #expect(reopened.headTimeMs == blocks.last!.block.header.timeMs)
        for block in blocks {
            #expect(try reopened.block(at: block.height) == block)
            let stored = try #require(try reopened.storedBlock(at: block.height))
            #expect(stored.bytes == block.canonicalBytes)
        }
        #expect(try reopened.block(at: UInt64(blocks.count + 1)) == nil)
        try expectSameState(reopened, referenceState, blocks: blocks)
    }

    /// The id index is written in parts over several appends, as many as the batch has blocks and at most
    /// `maxParts`: after every append, and after reopening at every point of a flush (a crash mid-flush),
    /// every committed id is found at its place, the ids held in memory stay bounded, and a later flush
    /// writes again what a cut-short one had written. Slow blocks (9 entries; a batch of 120 ids gathers over
    /// about 14 blocks) are written over `maxParts` appends, fast ones (30 entries; 60 ids over 2 or 3) over
    /// as many appends as they have blocks.
    @Test(arguments: [(9, 120, 8), (30, 60, 3)])
    func idsAreFoundAtEveryPointOfAFlushSpreadOverAppends(eventsPerBlock: Int, flushCount: Int, mostAppendsPerBatch: Int) throws {
        let scratch = ScratchDirectory()
        let maxParts = 8
        let (genesis, blocks, _) = generatedChain(seed: 23, blocks: 60, eventsPerBlock: eventsPerBlock)
        let executor = BlockExecutor(genesis: genesis)
        var expected: [TransactionID: (height: UInt64, position: Int)] = [:]
        func open() throws -> ChainStore {
            try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis, idIndexFlushCount: flushCount, maxIndexFlushParts: maxParts)
        }
        var store = try open()
        var reopenedMidFlush = 0
        var accessesChecked = 0
        // Each batch written by appends: over how many, and over how many it should have been.
        var batches: [(appends: Int, expected: Int)] = []
        var batch: (appends: Int, expected: Int)?
        var indexedThrough: UInt64 = 0
        for (index, block) in blocks.enumerated() {
            if index % 23 == 22 {
                // A restart: some fall in the middle of a flush, which the reopened store finishes.
                reopenedMidFlush += store.isWritingIndexBatch ? 1 : 0
                store = try open()
                #expect(!store.isWritingIndexBatch && store.unindexedIDCount < flushCount)
                if store.unindexedIDCount == 0 { indexedThrough = store.headHeight }
                batch = nil
            }
            let wasWritingABatch = store.isWritingIndexBatch
            try store.append(block, changes: try executor.execute(block.block, state: store))
            switch (wasWritingABatch, store.isWritingIndexBatch) {
            case (false, true):
                // A batch of the blocks through the one before this, since the last batch.
                batch = (1, min(maxParts, Int(block.height - 1 - indexedThrough)))
                indexedThrough = block.height - 1
            case (true, true): batch?.appends += 1
            case (true, false): if let written = batch { batches.append((written.appends + 1, written.expected)) }
            case (false, false): break
            }
            for (position, entry) in block.block.entries.enumerated() { expected[entry.transaction.id] = (block.height, position) }
            for (id, place) in expected {
                let location = try #require(try store.location(of: id), "after block \(block.height)")
                #expect(location.height == place.height && location.position == place.position)
            }
            accessesChecked = try expectAccessLogs(store, blocks: Array(blocks.prefix(index + 1)))
            // A batch is done by the time the next one has gathered: two batches and a block at most.
            #expect(store.unindexedIDCount <= 2 * flushCount + eventsPerBlock)
        }
        #expect(reopenedMidFlush > 0, "some restarts fell in the middle of a flush")
        #expect(accessesChecked > 100, "every access log checked after every block: \(accessesChecked) accesses at the end")
        #expect(batches.count >= 2, "batches written to their last part by appends")
        #expect(batches.allSatisfy { $0.appends == $0.expected && $0.appends <= mostAppendsPerBatch }, "appends per batch: \(batches)")
        #expect(batches.contains { $0.appends == mostAppendsPerBatch })
        #expect(expected.count == blocks.reduce(0) { $0 + $1.block.entries.count })
        let indexed = try Database(path: scratch.file("ledger.sqlite"), mode: .readOnly)
            .queryOne("SELECT COUNT(*) FROM tx_index", []) { Int($0.int64(0)) } ?? 0
        #expect(indexed >= expected.count - 2 * flushCount - eventsPerBlock && indexed > 0, "the index was written: \(indexed) of \(expected.count)")
    }

    /// Every patient's access log, read whole and in pages of 2, lists exactly the accesses to that patient
    /// in `blocks`, in chain order. Returns how many accesses there are.
    @discardableResult
    private func expectAccessLogs(_ store: ChainStore, blocks: [CommittedBlock]) throws -> Int {
        var expected: [Identity: [TransactionID]] = [:]
        for block in blocks {
            for entry in block.block.entries {
                if case let .recordAccess(request) = entry.transaction.transaction.body { expected[request.patient, default: []].append(entry.transaction.id) }
            }
        }
        for (patient, ids) in expected {
            #expect(try store.accessLog(patient: patient).map(\.transactionID) == ids, "after block \(blocks.count)")
            var paged: [TransactionID] = []
            var after: (height: UInt64, position: Int)?
            while true {
                let page = try store.accessLog(patient: patient, after: after, limit: 2)
                guard let last = page.last else { break }
                paged += page.map(\.transactionID)
                after = (last.height, last.position)
            }
            #expect(paged == ids, "paged, after block \(blocks.count)")
        }
        return expected.values.reduce(0) { $0 + $1.count }
    }

    /// A store written before the access index was written in batches (its accesses indexed row by row) keeps
    /// every patient's access log when it is opened by this version, whose index covers the same blocks as
    /// the id index and holds the rest in memory.
    @Test func aStoreFromBeforeTheBatchedAccessIndexKeepsItsAccessLogs() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, _) = generatedChain(seed: 31, blocks: 30, eventsPerBlock: 9)
        let path = scratch.file("ledger.sqlite")
        do {
            let store = try ChainStore(path: path, genesis: genesis, idIndexFlushCount: 100)
            try append(Array(blocks.prefix(20)), to: store)
        }
        do {  // what a store written by the previous version looks like
            let database = try Database(path: path, mode: .readWrite)
            try database.execute("""
                DROP TABLE access_index; CREATE INDEX accesses_by_patient ON accesses (patient, seq);
                DELETE FROM hl_migrations WHERE name = '004-access-index-in-batches'
                """)
        }
        let upgraded = try ChainStore(path: path, genesis: genesis, idIndexFlushCount: 100)
        try expectAccessLogs(upgraded, blocks: Array(blocks.prefix(20)))
        try append(Array(blocks.dropFirst(20)), to: upgraded)
        #expect(try expectAccessLogs(upgraded, blocks: blocks) > 50)
        let database = try Database(path: path, mode: .readOnly)
        let indexed = try database.queryOne("SELECT COUNT(*) FROM access_index", []) { Int($0.int64(0)) } ?? 0
        let oldIndex = try database.queryOne("SELECT COUNT(*) FROM sqlite_master WHERE name = 'accesses_by_patient'", []) { Int($0.int64(0)) }
        #expect(indexed > 0 && oldIndex == 0, "the old index is gone, the new one holds \(indexed) rows")
    }

    /// Every grant, enrolment and record the in-memory reference holds, the store holds identically.
    private func expectSameState(_ store: ChainStore, _ reference: MemoryLedgerState, blocks: [CommittedBlock]) throws {
        var patients: Set<Identity> = []
        for block in blocks {
            for (position, entry) in block.block.entries.enumerated() {
                let location = try #require(try store.location(of: entry.transaction.id))
                #expect(location.height == block.height && location.position == position)
                #expect(try store.isCommitted(entry.transaction.id, createdAtMs: entry.transaction.transaction.createdAtMs))
                switch entry.transaction.transaction.body {
                case .grantConsent:
                    #expect(try store.grant(entry.transaction.id) == reference.grant(entry.transaction.id))
                    patients.insert(entry.transaction.transaction.signer)
                case let .registerRecord(body):
                    #expect(try store.record(body.record) == reference.record(body.record))
                    patients.insert(body.patient)
                case let .enrollPractitioner(body):
                    #expect(try store.enrolment(of: body.practitioner) == reference.enrolment(of: body.practitioner))
                default:
                    break
                }
            }
        }
        #expect(!patients.isEmpty)
        for patient in patients {
            #expect(try store.grants(ofPatient: patient) == reference.grants(ofPatient: patient))
            #expect(try store.records(ofPatient: patient, custodian: ChainBuilder.organisation(0))
                == reference.records(ofPatient: patient, custodian: ChainBuilder.organisation(0)))
        }
        #expect(try store.grants(ofPatient: TestKeys.identity("nobody")).isEmpty)
        #expect(try !store.isCommitted(TransactionID(digest: .zero), createdAtMs: 0))
    }

    /// A replayed transaction is refused as already committed whether the store's `RecentIDFilter` or its id
    /// look-up answers: blocks 30 s apart, so that most ids are created after the store's head time plus
    /// `transactionMaxFutureMs` (the filter answers) and the first ones, and those appended before a reopen,
    /// are not (the look-up answers); transactions never committed are not found either way.
    @Test func replaysAreRefusedWhetherTheFilterOrTheLookUpAnswers() throws {
        let scratch = ScratchDirectory()
        var workload = Workload(builder: ChainBuilder(seed: 29), patientCount: 25, practitionerCount: 6)
        var blocks = [workload.enrolPractitioners().block]
        for _ in 0..<14 { blocks.append(workload.nextBlock(count: 12, advanceMs: 30_000).block) }
        let genesis = workload.builder.genesis
        do {
            let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
            try append(Array(blocks.prefix(8)), to: store)
        }
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        try append(Array(blocks.dropFirst(8)), to: store)
        let executor = BlockExecutor(genesis: genesis)
        let nowMs = store.headTimeMs
        let unseen = (0..<50).map { index in
            workload.builder.sign(.grantConsent(GrantConsent(grantee: .practitioner(TestKeys.identity("grantee-\(index)")),
                                                              actions: AccessActions([.read]))),
                                  by: TestKeys.key("patient-\(index)"), createdAtMs: nowMs - UInt64(index) * 7_000)
        }
        for transaction in blocks.dropFirst().flatMap({ $0.block.entries.map(\.transaction) }) {
            #expect(try store.isCommitted(transaction.id, createdAtMs: transaction.transaction.createdAtMs))
            #expect(throws: TransactionRejection.alreadyCommitted) {
                try executor.check(transaction, nowMs: nowMs, state: store, nextHeight: store.headHeight + 1)
            }
        }
        for transaction in unseen {
            #expect(try !store.isCommitted(transaction.id, createdAtMs: transaction.transaction.createdAtMs))
            try executor.check(transaction, nowMs: nowMs, state: store, nextHeight: store.headHeight + 1)
        }
    }

    @Test func aStoreForAnotherGenesisIsRefused() throws {
        let scratch = ScratchDirectory()
        let (genesis, _, _) = generatedChain(blocks: 0)
        _ = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        let other = ChainBuilder(organisationCount: 2).genesis
        #expect {
            _ = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: other)
        } throws: { error in
            guard case .genesisMismatch = error as? StorageError else { return false }
            return "\(error)".contains("different genesis")
        }
    }

    /// Appends that are not durable are stored and read back like the others, and survive the process;
    /// `durableHeight` says through which height the blocks are on disk: that of the last durable append or
    /// used request (a synchronous commit, which syncs every append before it), 0 in a store just opened.
    @Test func durableHeightFollowsTheSynchronousCommits() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, referenceState) = generatedChain(blocks: 6)
        let executor = BlockExecutor(genesis: genesis)
        do {
            let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
            #expect(store.durableHeight == 0)
            for (index, block) in blocks.prefix(5).enumerated() {
                try store.append(block, changes: try executor.execute(block.block, state: store), durable: index == 2)
                #expect(store.durableHeight == (index >= 2 ? 3 : 0), "after block \(block.height)")
            }
            #expect(try store.consumeRequest(SHA256.hash([1]), expiresAtMs: 10, nowMs: 1))
            #expect(store.durableHeight == 5)
            #expect(try !store.consumeRequest(SHA256.hash([1]), expiresAtMs: 10, nowMs: 1), "used once only")
            for block in blocks.dropFirst(5) {
                try store.append(block, changes: try executor.execute(block.block, state: store), durable: false)
            }
            #expect(store.headHeight == 7 && store.durableHeight == 5)
        }
        let reopened = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        #expect(reopened.headHeight == 7 && reopened.durableHeight == 0)
        try expectSameState(reopened, referenceState, blocks: blocks)
    }

    @Test func onlyTheNextBlockCanBeAppended() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, _) = generatedChain(blocks: 3)
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        try append(Array(blocks.prefix(2)), to: store)
        let changes = StateChanges(height: blocks[3].height, blockTimeMs: blocks[3].block.header.timeMs)
        #expect(throws: StorageError.self) { try store.append(blocks[3], changes: changes) }
        #expect(store.headHeight == 2)
    }

    @Test func aFileThatIsNotADatabaseGivesATypedError() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("ledger.sqlite")
        _ = FileManager.default.createFile(atPath: path, contents: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let (genesis, _, _) = generatedChain(blocks: 0)
        #expect(throws: StorageError.self) { _ = try ChainStore(path: path, genesis: genesis) }
    }

    @Test func aDatabaseFromANewerVersionIsRefusedAndLeftAlone() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("ledger.sqlite")
        let (genesis, _, _) = generatedChain(blocks: 0)
        _ = try ChainStore(path: path, genesis: genesis)
        do {
            let database = try Database(path: path, mode: .readWrite)
            try database.run("INSERT INTO hl_migrations (ordinal, name) VALUES (99, '099-from-the-future')")
        }
        #expect {
            _ = try ChainStore(path: path, genesis: genesis)
        } throws: { error in
            guard case let .database(inner) = error as? StorageError else { return false }
            return inner.kind == .schemaTooNew
        }
    }
}

/// Service accesses and results in the store: kept across reopening, shown in the access log, and entered
/// for the accesses a store from before service results already holds.
@Suite struct ChainStoreServiceResultTests {
    @Test func serviceAccessesAndResultsSurviveReopening() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, reference) = generatedChain(blocks: 12, servicePercent: 60)
        do {
            let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
            try append(blocks, to: store)  // each block re-executed against the store itself
        }
        let reopened = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        var accesses = 0, results = 0
        for entry in blocks.flatMap(\.block.entries) {
            switch entry.transaction.transaction.body {
            case let .recordAccess(request) where request.action != .read && entry.outcome?.isAllowed == true:
                let stored = try #require(try reopened.serviceAccess(entry.transaction.id))
                #expect(stored == reference.serviceAccess(entry.transaction.id))
                accesses += 1
            case .recordAccess:
                #expect(try reopened.serviceAccess(entry.transaction.id) == nil)
            case let .serviceResult(body):
                let stored = try #require(try reopened.serviceResult(answering: body.access))
                #expect(stored.id == entry.transaction.id && stored.model == body.model)
                #expect(stored.inputHash == body.inputHash && stored.outputHash == body.outputHash)
                #expect(try reopened.location(of: entry.transaction.id)?.height == stored.height)
                #expect(try reopened.serviceAccess(body.access)?.resultID == entry.transaction.id)
                results += 1
            default:
                break
            }
        }
        #expect(accesses > 12 && results > 8, "\(accesses) service accesses, \(results) results")
        #expect(try reopened.serviceResult(answering: TransactionID(digest: .zero)) == nil)
    }

    @Test func theAccessLogShowsTheResultOfAnAnsweredAccessOnly() throws {
        let scratch = ScratchDirectory()
        let scenario = ServiceScenario()
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: scenario.builder.genesis)
        try append(scenario.blocks, to: store)
        let log = try store.accessLog(patient: Identity(publicKey: scenario.patient.publicKey))
        #expect(log.map(\.transactionID) == [scenario.diagnose.id, scenario.read.id, scenario.plan.id, scenario.denied.id])
        let body = scenario.resultBody
        #expect(log[0].result == ServiceResultEntry(id: scenario.result.id, access: scenario.diagnose.id, model: body.model,
                                                    inputHash: body.inputHash, outputHash: body.outputHash, height: 3))
        #expect(log[1].result == nil, "a read is answered by records, not a result")
        #expect(log[2].result == nil && log[2].outcome.isAllowed, "allowed, not answered yet")
        #expect(log[3].result == nil && !log[3].outcome.isAllowed)
    }

    /// A store written before migration 003 holds allowed diagnose/plan accesses: opening it enters those of
    /// the last 24 hours of blocks (the longest replay window a genesis allows), so a result can still
    /// answer them; older ones could never be answered and are left out.
    @Test func aStoreFromBeforeServiceResultsEntersItsRecentAccessesOnUpgrade() throws {
        let scratch = ScratchDirectory()
        var builder = ChainBuilder(seed: 8)
        let patient = TestKeys.key("upgrade-patient")
        let dayAndAnHourMs: UInt64 = 25 * 3_600_000
        func ownDiagnosis(advanceMs: UInt64) -> SignedTransaction {
            builder.sign(.recordAccess(RecordAccess(custodian: ChainBuilder.organisation(0), patient: Identity(publicKey: patient.publicKey),
                                                    action: .diagnose, selector: .all)), by: patient, createdAtMs: builder.timeMs + advanceMs)
        }
        let old = ownDiagnosis(advanceMs: 1_000)
        let first = builder.commit([old]).block
        let recent = ownDiagnosis(advanceMs: dayAndAnHourMs)
        let second = builder.commit([recent], advanceMs: dayAndAnHourMs).block
        #expect(first.block.entries.count == 1 && second.block.entries.count == 1)
        let path = scratch.file("ledger.sqlite")
        do {
            let store = try ChainStore(path: path, genesis: builder.genesis)
            try append([first, second], to: store)
        }
        do {  // what a store written by the previous version looks like
            let database = try Database(path: path, mode: .readWrite)
            try database.execute("""
                DROP TABLE service_accesses; DROP TABLE access_index; CREATE INDEX accesses_by_patient ON accesses (patient, seq);
                DELETE FROM hl_migrations WHERE name IN ('003-service-results', '004-access-index-in-batches')
                """)
        }
        let upgraded = try ChainStore(path: path, genesis: builder.genesis)
        #expect(try upgraded.serviceAccess(old.id) == nil, "25 hours before the head: never answerable")
        #expect(try upgraded.serviceAccess(recent.id) == ServiceAccess(
            id: recent.id, custodian: ChainBuilder.organisation(0), patient: Identity(publicKey: patient.publicKey), action: .diagnose,
            height: 2, blockTimeMs: second.block.header.timeMs))
        // And the upgraded store accepts the result that answers it.
        let answer = builder.commit([builder.serviceResult(answering: recent.id)])
        #expect(answer.rejected.isEmpty)
        try append([answer.block], to: upgraded)
        #expect(try upgraded.serviceResult(answering: recent.id)?.id == answer.block.block.entries[0].transaction.id)
    }
}
