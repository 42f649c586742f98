import Crypto
import Foundation
import Ledger
import SQLite
import Synchronization
import Testing
@testable import Storage

@Suite("Record vault")
struct VaultTests {
    let patient = Fixtures.newIdentity()

    // MARK: Round trip and commitment

    @Test("put then get returns the normalised resource, its metadata and the salt of its commitment")
    func roundTrip() throws {
        let fixture = try VaultFixture()
        let json = Fixtures.json(Fixtures.observation())
        let receipt = try fixture.open.put(resource: json, patient: patient, custodian: Fixtures.custodian)
        let record = try fixture.open.get(receipt.record)

        #expect(record.resource == (try FHIRResource(json: json, patient: patient)).normalizedJSON)
        #expect(record.id == receipt.record)
        #expect(record.type == RecordType("Observation"))
        #expect(record.patient == patient && receipt.patient == patient)
        #expect(record.custodian == Fixtures.custodian)
        #expect(record.salt.count == 32)
        #expect(receipt.commitment == SHA256.hash(record.salt + record.resource))
        #expect(record.commitment == receipt.commitment)
    }

    @Test("two puts of the same content get different ids, salts and commitments")
    func freshSaltPerRecord() throws {
        let fixture = try VaultFixture()
        let first = try fixture.putObservation(patient: patient)
        let second = try fixture.putObservation(patient: patient)
        let (firstRecord, secondRecord) = (try fixture.open.get(first.record), try fixture.open.get(second.record))

        #expect(first.record != second.record)
        #expect(firstRecord.resource == secondRecord.resource)
        #expect(firstRecord.salt != secondRecord.salt)
        #expect(first.commitment != second.commitment)
    }

    @Test("records survive closing and reopening with the same key")
    func reopen() throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        fixture.close()
        let reopened = try RecordVault(path: fixture.databasePath, keyEncryptionKey: fixture.keyEncryptionKey)
        #expect(try reopened.get(receipt.record).commitment == receipt.commitment)
    }

    @Test("printing or dumping a record shows neither its content nor its salt")
    func recordDescriptionHidesContent() throws {
        let fixture = try VaultFixture()
        let record = try fixture.open.get(try fixture.putObservation(patient: patient).record)
        var dumped = ""
        dump(record, to: &dumped)
        for text in [String(describing: record), String(reflecting: record), dumped] {
            #expect(!text.contains(Fixtures.marker))
            #expect(!text.contains("salt") && !text.contains("resource"))
        }
    }

    // MARK: Listing

    @Test("records(ofPatient:) lists only that patient's readable records, in id order")
    func listsByPatient() throws {
        let fixture = try VaultFixture()
        let other = Fixtures.newIdentity()
        let mine = try (0..<3).map { _ in try fixture.putObservation(patient: patient).record }
        try fixture.putObservation(patient: other)

        #expect(try fixture.open.records(ofPatient: patient) == mine.sorted())
        #expect(try fixture.open.contains(mine[0]))
        #expect(try !fixture.open.contains(RecordID(bytes: [UInt8](repeating: 0, count: 16))!))
    }

    // MARK: Wrong key and tampering

    @Test("opening a vault with another key-encryption key is refused")
    func wrongKeyEncryptionKeyAtOpen() throws {
        let fixture = try VaultFixture()
        try fixture.putObservation(patient: patient)
        fixture.close()
        expectVaultError {
            try RecordVault(path: fixture.databasePath, keyEncryptionKey: SymmetricKey.random())
        } where: {
            if case .keyEncryptionKeyMismatch(fixture.databasePath) = $0 { true } else { false }
        }
    }

    @Test("a record's wrapped key does not open under another key-encryption key")
    func wrongKeyEncryptionKeyPerRecord() throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        fixture.close()
        // Remove the vault-wide check, so the per-record wrapping is what stops the wrong key.
        try fixture.withDirectConnection { try $0.run("DELETE FROM vault_settings") }
        let vault = try RecordVault(path: fixture.databasePath, keyEncryptionKey: SymmetricKey.random())
        expectAuthenticationFailure(.dataKey) { try vault.get(receipt.record) }
    }

    @Test("ciphertexts swapped between two records fail to open")
    func swappedCiphertexts() throws {
        let fixture = try VaultFixture()
        let (first, second) = try twoRecords(in: fixture)
        try swapColumn("ciphertext", first.record, second.record, in: fixture)
        expectAuthenticationFailure(.content) { try fixture.open.get(first.record) }
        expectAuthenticationFailure(.content) { try fixture.open.get(second.record) }
    }

    @Test("wrapped keys swapped between two records fail to open")
    func swappedWrappedKeys() throws {
        let fixture = try VaultFixture()
        let (first, second) = try twoRecords(in: fixture)
        try swapColumn("wrapped_key", first.record, second.record, in: fixture)
        expectAuthenticationFailure(.dataKey) { try fixture.open.get(first.record) }
    }

    @Test(
        "changing a metadata column bound into the associated data makes the content fail to open",
        arguments: ["patient", "record_type", "custodian"])
    func modifiedAssociatedData(column: String) throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        let replacement: SQLiteValue =
            switch column {
            case "patient": .blob(Fixtures.newIdentity().publicKeyBytes)
            case "record_type": .text("Condition")
            default: .text("other-hospital")
            }
        try fixture.setColumn(column, of: receipt.record, to: replacement)
        expectAuthenticationFailure(.content) { try fixture.open.get(receipt.record) }
    }

    @Test("flipping one byte of a sealed column fails to open", arguments: ["ciphertext", "wrapped_key"])
    func flippedByte(column: String) throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        var sealed = try fixture.column(column, of: receipt.record)
        sealed[sealed.count / 2] ^= 0x01
        try fixture.setColumn(column, of: receipt.record, to: .blob(sealed))
        expectAuthenticationFailure(column == "ciphertext" ? .content : .dataKey) {
            try fixture.open.get(receipt.record)
        }
    }

    @Test("a changed commitment column is reported as corruption")
    func modifiedCommitment() throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        try fixture.setColumn("commitment", of: receipt.record, to: .blob([UInt8](repeating: 7, count: 32)))
        expectVaultError { try fixture.open.get(receipt.record) } where: {
            if case .corruptRecord(receipt.record, _) = $0 { true } else { false }
        }
    }

    // MARK: Nothing in the clear on disk

    @Test("no file the vault writes holds the plaintext, the salt or the key, before or after closing")
    func noSecretsInFiles() throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        let salt = try fixture.open.get(receipt.record).salt
        let secrets = [Array(Fixtures.marker.utf8), salt]

        try expectAbsent(secrets, from: fixture.directory)
        #expect(try fixture.directory.fileNames().contains("vault.sqlite-wal"))
        try fixture.withDirectConnection { try $0.checkpoint() }
        try expectAbsent(secrets, from: fixture.directory)
        fixture.close()
        try expectAbsent(secrets, from: fixture.directory)
        try expectAbsent([fixture.keyEncryptionKey.bytes], from: fixture.directory)
    }

    // MARK: Erase

    @Test("erase makes get fail as erased, keeps other records, and leaves no sealed bytes in the files")
    func eraseShredsRecord() throws {
        let fixture = try VaultFixture()
        let erased = try fixture.putObservation(patient: patient)
        let kept = try fixture.putObservation(patient: patient)
        let sealedBytes = try ["wrapped_key", "ciphertext"].map { column in
            Array(try fixture.column(column, of: erased.record).suffix(32))
        }
        try expectPresent(sealedBytes, in: fixture.directory)

        try fixture.open.erase(erased.record)

        expectVaultError { try fixture.open.get(erased.record) } where: {
            if case .recordErased(erased.record) = $0 { true } else { false }
        }
        #expect(try fixture.open.get(kept.record).commitment == kept.commitment)
        #expect(try !fixture.open.contains(erased.record))
        #expect(try fixture.open.records(ofPatient: patient) == [kept.record])
        try expectAbsent(sealedBytes + [Array(Fixtures.marker.utf8)], from: fixture.directory)
        fixture.close()
        try expectAbsent(sealedBytes + [Array(Fixtures.marker.utf8)], from: fixture.directory)
    }

    @Test("erasing twice is harmless; erasing or getting an unknown record is reported as not found")
    func eraseEdgeCases() throws {
        let fixture = try VaultFixture()
        let receipt = try fixture.putObservation(patient: patient)
        try fixture.open.erase(receipt.record)
        try fixture.open.erase(receipt.record)
        let unknown = RecordID(bytes: [UInt8](repeating: 1, count: 16))!
        for operation in [{ try fixture.open.erase(unknown) }, { _ = try fixture.open.get(unknown) }] {
            expectVaultError(operation) { if case .recordNotFound(unknown) = $0 { true } else { false } }
        }
    }

    // MARK: Refusals and threads

    @Test("an invalid resource is refused with the validation error, and nothing is stored")
    func invalidResourceRefused() throws {
        let fixture = try VaultFixture()
        let json = Fixtures.json(Fixtures.observation(removing: ["status"]))
        expectVaultError {
            try fixture.open.put(resource: json, patient: patient, custodian: Fixtures.custodian)
        } where: {
            if case .invalidResource(.missingElement(path: "Observation.status", _)) = $0 { true } else { false }
        }
        #expect(try fixture.open.records(ofPatient: patient).isEmpty)
    }

    @Test("puts and gets from several threads at once all succeed")
    func concurrentUse() throws {
        let fixture = try VaultFixture()
        let vault = fixture.open
        let patient = patient
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            do {
                let receipt = try vault.put(
                    resource: Fixtures.json(Fixtures.observation()), patient: patient, custodian: Fixtures.custodian)
                _ = try vault.get(receipt.record)
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try vault.records(ofPatient: patient).count == 16)
    }

    // MARK: Helpers

    private func expectAuthenticationFailure(
        _ part: VaultError.SealedPart, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> VaultRecord
    ) {
        expectVaultError(sourceLocation: sourceLocation, body) {
            if case .authenticationFailed(_, part) = $0 { true } else { false }
        }
    }

    private func twoRecords(in fixture: VaultFixture) throws -> (VaultReceipt, VaultReceipt) {
        (try fixture.putObservation(patient: patient), try fixture.putObservation(patient: patient))
    }

    private func swapColumn(_ column: String, _ first: RecordID, _ second: RecordID, in fixture: VaultFixture) throws {
        let (firstValue, secondValue) = (try fixture.column(column, of: first), try fixture.column(column, of: second))
        try fixture.setColumn(column, of: first, to: .blob(secondValue))
        try fixture.setColumn(column, of: second, to: .blob(firstValue))
    }

    /// Checks every file but the key file.
    private func expectAbsent(
        _ needles: [[UInt8]], from directory: ScratchDirectory, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for needle in needles {
            #expect(try !directory.anyFileContains(needle, excluding: "vault.key"), sourceLocation: sourceLocation)
        }
    }

    private func expectPresent(_ needles: [[UInt8]], in directory: ScratchDirectory) throws {
        for needle in needles { #expect(try directory.anyFileContains(needle, excluding: "vault.key")) }
    }
}
