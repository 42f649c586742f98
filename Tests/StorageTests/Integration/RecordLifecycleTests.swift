import Foundation
import Testing
import Ledger
import Storage
import TestSupport

/// A record's whole path through the custodian: into the vault, its commitment onto the chain, out again.
/// The chain database must hold no trace of the content, and the commitment must open with content and salt.
@Suite struct RecordLifecycleTests {
    @Test func theChainHoldsOnlyACommitmentThatTheVaultCanOpen() throws {
        let scratch = ScratchDirectory()
        var chain = ChainBuilder(seed: 3)
        let patientKey = TestKeys.key("patient-jane")
        let patient = Identity(publicKey: patientKey.publicKey)
        let vault = try RecordVault(path: scratch.file("vault.sqlite"),
                                    keyEncryptionKey: try RecordVault.loadOrCreateKeyEncryptionKey(at: scratch.file("vault.key")))
        let resource = Fixtures.json(Fixtures.observation())
        let receipt = try vault.put(resource: resource, patient: patient, custodian: ChainBuilder.organisation(0))

        let register = chain.sign(.registerRecord(RegisterRecord(
            record: receipt.record, patient: patient, custodian: receipt.custodian, type: receipt.type,
            commitment: receipt.commitment, author: patient)), by: chain.validatorKey(0))
        let read = chain.sign(.recordAccess(RecordAccess(custodian: receipt.custodian, patient: patient, action: .read,
                                                         selector: .records([receipt.record]))), by: patientKey)
        let first = chain.commit([register])
        let second = chain.commit([read])
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: chain.genesis)
        try store.append(first.block, changes: first.changes)
        try store.append(second.block, changes: second.changes)
        #expect(second.block.block.entries[0].outcome == .allowed(grant: nil, records: [receipt.record]))

        let stored = try vault.get(receipt.record)
        #expect(try store.record(receipt.record)?.commitment == stored.commitment)
        #expect(SHA256.hash(stored.salt + stored.resource) == receipt.commitment)

        for name in try scratch.fileNames() where name.hasPrefix("ledger.sqlite") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.file(name))))
            #expect(!bytes.contains(Array(Fixtures.marker.utf8)), "\(name) holds record content")
            #expect(!bytes.contains(stored.salt), "\(name) holds the commitment salt")
            #expect(!bytes.contains(Array(stored.resource.prefix(24))), "\(name) holds record content")
        }
    }
}
