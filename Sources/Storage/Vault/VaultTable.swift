import Crypto
import Ledger
import SQLite

/// The vault's schema and SQL. Callers hold the vault's lock.
///
/// `vault_records` keeps one row per record. Its metadata columns (patient, type, custodian, commitment) are
/// what the chain holds too; `wrapped_key` and `ciphertext` are the only secret-bearing columns, and both
/// are sealed. An erased record keeps its metadata with both sealed columns set to NULL.
enum VaultTable {
    static var migrator: Migrator {
        var migrator = Migrator()
        migrator.register("vault-1-records") { database in
            try database.execute(
                """
                CREATE TABLE vault_records (
                    record_id BLOB PRIMARY KEY CHECK (length(record_id) = 16),
                    patient BLOB NOT NULL CHECK (length(patient) = 32),
                    record_type TEXT NOT NULL,
                    custodian TEXT NOT NULL,
                    commitment BLOB NOT NULL CHECK (length(commitment) = 32),
                    wrapped_key BLOB,
                    ciphertext BLOB,
                    CHECK ((wrapped_key IS NULL) = (ciphertext IS NULL))
                ) WITHOUT ROWID;
                CREATE INDEX vault_records_by_patient ON vault_records (patient, record_id);
                CREATE TABLE vault_settings (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    /// One stored row, as read back: untrusted until its sealed parts open.
    struct Row {
        let id: RecordID
        let patient: [UInt8]
        let type: String
        let custodian: String
        let commitment: [UInt8]
        /// Nil once the record is erased.
        let sealed: SealedRecord?

        /// The metadata, checked to be well formed.
        func metadata() throws(VaultError) -> VaultReceipt {
            guard let patient = Identity(publicKeyBytes: patient), let type = RecordType(type),
                let custodian = OrganisationID(custodian), let commitment = SHA256Digest(bytes: commitment)
            else { throw .corruptRecord(id, reason: "a metadata column is malformed") }
            return VaultReceipt(record: id, type: type, patient: patient, custodian: custodian, commitment: commitment)
        }
    }

    static func insert(_ receipt: VaultReceipt, _ sealed: SealedRecord, into database: Database) throws {
        try database.run(
            """
            INSERT INTO vault_records (record_id, patient, record_type, custodian, commitment, wrapped_key, ciphertext)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .blob(receipt.record.bytes), .blob(receipt.patient.publicKeyBytes), .text(receipt.type.value),
                .text(receipt.custodian.value), .blob(receipt.commitment.bytes), .blob(sealed.wrappedKey),
                .blob(sealed.content),
            ])
    }

    static func row(_ id: RecordID, in database: Database) throws -> Row? {
        try database.queryOne(
            """
            SELECT patient, record_type, custodian, commitment, wrapped_key, ciphertext
            FROM vault_records WHERE record_id = ?
            """,
            [.blob(id.bytes)]
        ) { row in
            Row(
                id: id, patient: row.blob(0), type: row.text(1), custodian: row.text(2), commitment: row.blob(3),
                sealed: row.isNull(4) ? nil : SealedRecord(content: row.blob(5), wrappedKey: row.blob(4)))
        }
    }

    static func readableRecords(ofPatient patient: Identity, in database: Database) throws -> [RecordID] {
        try database.query(
            """
            SELECT record_id FROM vault_records
            WHERE patient = ? AND wrapped_key IS NOT NULL ORDER BY record_id
            """,
            [.blob(patient.publicKeyBytes)]
        ) { RecordID(bytes: $0.blob(0)) }.compactMap { $0 }
    }

    /// Sets the sealed columns of `id` to NULL. Returns false when there is no such record.
    static func erase(_ id: RecordID, in database: Database) throws -> Bool {
        try database.run(
            "UPDATE vault_records SET wrapped_key = NULL, ciphertext = NULL WHERE record_id = ?", [.blob(id.bytes)])
        return database.changes == 1
    }

    static func keyCheck(in database: Database) throws -> [UInt8]? {
        try database.queryOne("SELECT value FROM vault_settings WHERE name = 'key-check'") { $0.blob(0) }
    }

    static func saveKeyCheck(_ sealed: [UInt8], in database: Database) throws {
        try database.run("INSERT INTO vault_settings (name, value) VALUES ('key-check', ?)", [.blob(sealed)])
    }
}
