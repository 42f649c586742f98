import Crypto
import Foundation
import Ledger
import SQLite
import Testing
@testable import Storage

/// Builders for test resources and identities.
enum Fixtures {
    /// A string that must never appear in a vault file or an error message.
    static let marker = "MARKER-7f3a9c-hypertension-note"

    static func newIdentity() -> Identity { Identity(publicKey: Ed25519.PrivateKey().publicKey) }

    static let custodian = OrganisationID("st-mary")!

    /// JSON bytes of `object`.
    static func json(_ object: Any) -> [UInt8] {
        [UInt8](try! JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]))
    }

    /// A valid Observation carrying `marker` in a note, with the given extra or replaced elements.
    static func observation(_ changes: [String: Any] = [:], removing removed: [String] = []) -> [String: Any] {
        var resource: [String: Any] = [
            "resourceType": "Observation",
            "status": "final",
            "code": ["coding": [["system": "http://loinc.org", "code": "8480-6", "display": "Systolic BP"]]],
            "valueQuantity": ["value": 142, "unit": "mm[Hg]"],
            "note": [["text": marker]],
        ]
        resource.merge(changes) { _, new in new }
        for name in removed { resource[name] = nil }
        return resource
    }

    /// A Reference naming `patient` the HealthLedger way.
    static func reference(to patient: Identity) -> [String: Any] {
        ["identifier": ["system": FHIRResource.patientIdentifierSystem, "value": patient.text]]
    }
}

/// A vault in a temporary directory, with its key file.
final class VaultFixture {
    let directory: ScratchDirectory
    let keyEncryptionKey: SymmetricKey
    var vault: RecordVault?

    init() throws {
        directory = ScratchDirectory()
        keyEncryptionKey = try RecordVault.loadOrCreateKeyEncryptionKey(at: directory.file("vault.key"))
        vault = try RecordVault(path: databasePath, keyEncryptionKey: keyEncryptionKey)
    }

    var databasePath: String { directory.file("vault.sqlite") }

    /// The open vault.
    var open: RecordVault { vault! }

    /// Stores an Observation about `patient`.
    @discardableResult
    func putObservation(patient: Identity, _ changes: [String: Any] = [:]) throws -> VaultReceipt {
        try open.put(
            resource: Fixtures.json(Fixtures.observation(changes)), patient: patient, custodian: Fixtures.custodian)
    }

    /// Closes the vault (the last connection checkpoints and removes the write-ahead log).
    func close() { vault = nil }

    /// Runs `body` on a second, direct connection to the vault's file, as an attacker with the file would.
    func withDirectConnection<T>(_ body: (Database) throws -> T) throws -> T {
        let database = try Database(path: databasePath, mode: .readWrite)
        return try body(database)
    }

    /// A sealed column of a record, read directly.
    func column(_ name: String, of record: RecordID) throws -> [UInt8] {
        try withDirectConnection { database in
            try database.queryOne("SELECT \(name) FROM vault_records WHERE record_id = ?", [.blob(record.bytes)]) {
                $0.blob(0)
            }!
        }
    }

    /// Sets a column of a record directly.
    func setColumn(_ name: String, of record: RecordID, to value: SQLiteValue) throws {
        try withDirectConnection { database in
            try database.run("UPDATE vault_records SET \(name) = ? WHERE record_id = ?", [value, .blob(record.bytes)])
        }
    }
}

/// Expects `body` to throw a `VaultError` that `isExpected` accepts, and whose description does not quote the
/// test marker; returns the error.
@discardableResult
func expectVaultError<T>(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T,
    where isExpected: (VaultError) -> Bool
) -> VaultError? {
    let error = #expect(throws: VaultError.self, sourceLocation: sourceLocation) { _ = try body() }
    guard let error else { return nil }
    #expect(isExpected(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
    #expect(!error.description.contains(Fixtures.marker), sourceLocation: sourceLocation)
    return error
}
