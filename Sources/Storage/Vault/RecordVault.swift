import Crypto
import Foundation
import Ledger
import SQLite

/// The custodian's encrypted store of FHIR records (DESIGN section 7), in an SQLite file of its own.
///
/// Each record is sealed under its own random data key (see `RecordSealing`); the data key and the salt of
/// the record's commitment are wrapped under the node's key-encryption key, which lives in a separate file.
/// The database never holds plaintext, a data key, a salt or the key-encryption key in the clear.
/// Erasing a record destroys its wrapped key and ciphertext (crypto-shredding), with `secure_delete` on and
/// the write-ahead log truncated, so the freed bytes are zeroed in the files SQLite writes.
///
/// Safe to share between threads: one connection, used only under `lock` (hence `@unchecked Sendable`;
/// `Database` is deliberately not `Sendable`). Encryption and decryption run outside the lock.
public final class RecordVault: @unchecked Sendable {
    /// The key-encryption key's length in bytes (AES-256).
    public static let keyEncryptionKeyByteCount = KeyEncryptionKeyFile.byteCount

    private let database: Database
    private let lock = NSLock()
    private let keyEncryptionKey: SymmetricKey
    private let path: String

    /// Loads the key-encryption key at `path`, or creates one (a new file, mode 0600) when there is none.
    ///
    /// - Throws: `.keyFile` when the file is not exactly 32 bytes, is accessible to group or others, or
    ///   cannot be read or created.
    public static func loadOrCreateKeyEncryptionKey(at path: String) throws(VaultError) -> SymmetricKey {
        try KeyEncryptionKeyFile.loadOrCreate(at: path)
    }

    /// Opens the vault at `path`, creating and migrating it as needed.
    ///
    /// A new vault records a check value sealed under `keyEncryptionKey`; reopening it with another key fails
    /// here, so a node started with the wrong key file never mixes records under two keys.
    /// - Throws: `.keyEncryptionKeyMismatch`, or `.database` when the file cannot be opened or migrated.
    public init(path: String, keyEncryptionKey: SymmetricKey) throws(VaultError) {
        let database = try Self.openDatabase(at: path)
        try Self.checkKeyEncryptionKey(keyEncryptionKey, in: database, path: path)
        self.database = database
        self.keyEncryptionKey = keyEncryptionKey
        self.path = path
    }

    /// Validates and stores a FHIR resource about `patient`.
    ///
    /// The stored content is the normalised resource, with the patient identifier filled in when absent.
    /// - Returns: the receipt to register on chain: a new random record id and the salted commitment.
    /// - Throws: `.invalidResource` naming the element at fault, or `.database`.
    public func put(resource json: [UInt8], patient: Identity, custodian: OrganisationID) throws(VaultError)
        -> VaultReceipt
    {
        let resource: FHIRResource
        do { resource = try FHIRResource(json: json, patient: patient) } catch { throw .invalidResource(error) }
        var salt = SecureRandom.bytes(count: RecordCommitment.saltByteCount)
        defer { salt.zeroize() }
        let receipt = VaultReceipt(
            record: RecordID(bytes: SecureRandom.bytes(count: RecordID.byteCount))!, type: resource.type,
            patient: patient, custodian: custodian,
            commitment: RecordCommitment.compute(salt: salt, resource: resource.normalizedJSON))
        let sealed: SealedRecord
        do {
            sealed = try RecordSealing.seal(
                resource.normalizedJSON, salt: salt, metadata: receipt, keyEncryptionKey: keyEncryptionKey)
        } catch { throw .crypto(error) }
        try withDatabase { try VaultTable.insert(receipt, sealed, into: $0) }
        return receipt
    }

    /// Reads and decrypts a record.
    ///
    /// - Throws: `.recordNotFound`, `.recordErased`, `.authenticationFailed` when a sealed part or the
    ///   metadata bound to it was altered, `.corruptRecord`, or `.database`.
    public func get(_ id: RecordID) throws(VaultError) -> VaultRecord {
        guard let row = try withDatabase({ try VaultTable.row(id, in: $0) }) else { throw .recordNotFound(id) }
        let metadata = try row.metadata()
        guard let sealed = row.sealed else { throw .recordErased(id) }
        let (resource, salt) = try RecordSealing.open(sealed, metadata: metadata, keyEncryptionKey: keyEncryptionKey)
        let record = VaultRecord(
            id: id, type: metadata.type, patient: metadata.patient, custodian: metadata.custodian,
            resource: resource, salt: salt)
        guard record.commitment == metadata.commitment else {
            throw .corruptRecord(id, reason: "the content does not match the stored commitment")
        }
        return record
    }

    /// The ids of the readable (not erased) records about `patient`, in id order. Decrypts nothing.
    public func records(ofPatient patient: Identity) throws(VaultError) -> [RecordID] {
        try withDatabase { try VaultTable.readableRecords(ofPatient: patient, in: $0) }
    }

    /// True when the vault holds a readable (stored and not erased) record with this id. Decrypts nothing.
    public func contains(_ id: RecordID) throws(VaultError) -> Bool {
        try withDatabase { try VaultTable.row(id, in: $0)?.sealed != nil }
    }

    /// Erases a record for good (crypto-shredding): destroys its wrapped data key, salt and ciphertext.
    ///
    /// The record's metadata stays, so `get` can say it was erased. The write-ahead log is checkpointed and
    /// truncated afterwards, so the old pages survive in neither file. Erasing an erased record does nothing.
    /// - Throws: `.recordNotFound`, or `.database` (also when the checkpoint could not complete because
    ///   another connection was reading; the record is erased then, and the next checkpoint clears the log).
    public func erase(_ id: RecordID) throws(VaultError) {
        let found = try withDatabase { database in
            let found = try database.write { try VaultTable.erase(id, in: $0) }
            try database.checkpoint()
            return found
        }
        guard found else { throw .recordNotFound(id) }
    }

    // MARK: Database

    private static func openDatabase(at path: String) throws(VaultError) -> Database {
        try run {
            let database = try Database(path: path, mode: .readWrite, synchronous: .full)
            // Per connection, not stored in the file: zero the bytes of deleted and overwritten cells.
            try database.execute("PRAGMA secure_delete = ON")
            try VaultTable.migrator.migrate(database)
            return database
        }
    }

    private static func checkKeyEncryptionKey(_ key: SymmetricKey, in database: Database, path: String)
        throws(VaultError)
    {
        guard let check = try run({ try VaultTable.keyCheck(in: database) }) else {
            let sealed: [UInt8]
            do { sealed = try RecordSealing.sealKeyCheck(under: key) } catch { throw .crypto(error) }
            try run { try VaultTable.saveKeyCheck(sealed, in: database) }
            return
        }
        guard RecordSealing.keyCheckOpens(check, under: key) else { throw .keyEncryptionKeyMismatch(vaultPath: path) }
    }

    /// Runs `body` on the connection under the lock, turning SQLite's errors into `VaultError`.
    private func withDatabase<T>(_ body: (Database) throws -> T) throws(VaultError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try Self.run { try body(database) }
    }

    private static func run<T>(_ body: () throws -> T) throws(VaultError) -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            // The SQLite module's untyped `throws` only forwards errors of row closures and migrations, and the
            // vault's throw none of their own.
            preconditionFailure("vault database work throws only SQLiteError, got \(type(of: error))")
        }
    }
}
