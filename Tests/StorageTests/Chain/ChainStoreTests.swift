import Foundation
import Testing
import Ledger
import SQLite
import Storage
import TestSupport

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

    /// Every grant, enrolment and record the in-memory reference holds, the store holds identically.
    private func expectSameState(_ store: ChainStore, _ reference: MemoryLedgerState, blocks: [CommittedBlock]) throws {
        var patients: Set<Identity> = []
        for block in blocks {
            for (position, entry) in block.block.entries.enumerated() {
                let location = try #require(try store.location(of: entry.transaction.id))
                #expect(location.height == block.height && location.position == position)
                #expect(try store.isCommitted(entry.transaction.id))
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
        #expect(try !store.isCommitted(TransactionID(digest: .zero)))
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
