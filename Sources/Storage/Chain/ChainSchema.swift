import Ledger
import SQLite

/// The chain database's tables and the SQL that reads and writes them. Migrations are append-only:
/// never edit one that has shipped; add the next.
enum ChainSchema {
    static var migrator: Migrator {
        var migrator = Migrator()
        migrator.register("001-chain") { db in
            try db.execute("""
                CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE blocks (
                    height INTEGER PRIMARY KEY, hash BLOB NOT NULL, time_ms INTEGER NOT NULL,
                    entry_count INTEGER NOT NULL, header BLOB NOT NULL, certificate BLOB NOT NULL);
                CREATE TABLE entries (seq INTEGER PRIMARY KEY, id BLOB NOT NULL, kind INTEGER NOT NULL, entry BLOB NOT NULL);
                CREATE TABLE tx_index (id BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE grants (
                    seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, patient BLOB NOT NULL, terms BLOB NOT NULL,
                    granted_height INTEGER NOT NULL, revoked_height INTEGER);
                CREATE INDEX grants_by_patient ON grants (patient, seq);
                CREATE TABLE enrolments (
                    practitioner BLOB PRIMARY KEY, organisation TEXT NOT NULL, role TEXT NOT NULL,
                    height INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE records (
                    id BLOB PRIMARY KEY, patient BLOB NOT NULL, custodian TEXT NOT NULL, type TEXT NOT NULL,
                    commitment BLOB NOT NULL, author BLOB NOT NULL, height INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX records_by_holder ON records (patient, custodian, id);
                """)
        }
        migrator.register("002-access-log-and-requests") { db in
            try db.execute("""
                CREATE TABLE accesses (seq INTEGER PRIMARY KEY, patient BLOB NOT NULL, allowed INTEGER NOT NULL);
                CREATE INDEX accesses_by_patient ON accesses (patient, seq);
                CREATE TABLE used_requests (id BLOB PRIMARY KEY, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX used_requests_by_expiry ON used_requests (expires_ms);
                """)
        }
        migrator.register("003-service-results") { db in
            try db.execute("""
                CREATE TABLE service_accesses (
                    access_id BLOB PRIMARY KEY, custodian TEXT NOT NULL, patient BLOB NOT NULL, action INTEGER NOT NULL,
                    height INTEGER NOT NULL, time_ms INTEGER NOT NULL,
                    result_id BLOB, model_id TEXT, model_hash BLOB, input_hash BLOB, output_hash BLOB,
                    result_height INTEGER) WITHOUT ROWID;
                """)
            try backfillServiceAccesses(in: db)
        }
        migrator.register("004-access-index-in-batches") { db in
            // The per-patient access index, written in batches with the id index instead of row by row: keyed
            // by patient, each block's accesses landed on as many random pages (measured: the store append
            // rate fell from 7.8 to 4.0 × E2). The rows above the id index's height stay in memory.
            let firstUnindexed = Int64(ChainStore.sequence(height: try indexedHeight(in: db) + 1, position: 0))
            try db.execute("CREATE TABLE access_index (patient BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (patient, seq)) WITHOUT ROWID")
            try db.run("INSERT INTO access_index (patient, seq) SELECT patient, seq FROM accesses WHERE seq < ? ORDER BY patient, seq",
                       [.integer(firstUnindexed)])
            try db.execute("DROP INDEX accesses_by_patient")
        }
        return migrator
    }

    /// A store written before service results existed holds allowed diagnose/plan accesses that a result may
    /// still answer: enter those of the last 24 hours of blocks, the longest replay window any genesis may set
    /// (older ones can never be answered, so the work on upgrade is bounded by the window, not the chain).
    private static func backfillServiceAccesses(in db: Database) throws {
        guard let headTimeMs = try db.queryOne("SELECT time_ms FROM blocks ORDER BY height DESC LIMIT 1", [], { UInt64($0.int64(0)) })
        else { return }
        let windowMs = ConsensusParameters.transactionMaxAgeMsLimit
        let fromTimeMs = headTimeMs > windowMs ? headTimeMs - windowMs : 0
        // Block time grows with height: the last block before the window, found by walking down from the
        // head, bounds the scan to the window's entries.
        let lastBefore = try db.queryOne("SELECT height FROM blocks WHERE time_ms < ? ORDER BY height DESC LIMIT 1",
                                         [.integer(Int64(fromTimeMs))]) { UInt64($0.int64(0)) }
        let firstSeq = ChainStore.sequence(height: (lastBefore ?? 0) + 1, position: 0)
        // Rows are entered as they are read, so memory does not grow with the window.
        _ = try db.query("""
            SELECT a.seq, e.entry, b.time_ms FROM accesses a JOIN entries e ON e.seq = a.seq
            JOIN blocks b ON b.height = (a.seq >> \(ChainStore.positionBits))
            WHERE a.seq >= ? AND a.allowed = 1 ORDER BY a.seq
            """, [.integer(Int64(firstSeq))]) { row in
            let seq = UInt64(row.int64(0))
            let entry: BlockEntry
            do {
                entry = try BlockEntry(canonicalBytes: row.blob(1))
            } catch {
                throw StorageError.corrupt(path: "entries", detail: "entry \(seq) does not decode: \(error)")
            }
            guard case let .recordAccess(request) = entry.transaction.transaction.body, request.action != .read else { return }
            try insertServiceAccess(ServiceAccess(id: entry.transaction.id, custodian: request.custodian, patient: request.patient,
                                                  action: request.action, height: seq >> ChainStore.positionBits,
                                                  blockTimeMs: UInt64(row.int64(2))), into: db)
        }
    }

    // MARK: Writing

    static func insertBlock(_ committed: CommittedBlock, hash: SHA256Digest, into db: Database) throws {
        let header = committed.block.header
        try db.run("INSERT INTO blocks (height, hash, time_ms, entry_count, header, certificate) VALUES (?, ?, ?, ?, ?, ?)", [
            .integer(Int64(header.height)), .blob(hash.bytes), .integer(Int64(header.timeMs)),
            .integer(Int64(committed.block.entries.count)), .blob(header.canonicalBytes), .blob(committed.certificate.canonicalBytes),
        ])
        let insertEntry = try db.cachedStatement("INSERT INTO entries (seq, id, kind, entry) VALUES (?, ?, ?, ?)")
        let insertAccess = try db.cachedStatement("INSERT INTO accesses (seq, patient, allowed) VALUES (?, ?, ?)")
        for (position, entry) in committed.block.entries.enumerated() {
            let seq = Int64(ChainStore.sequence(height: header.height, position: position))
            try insertEntry.bind([
                .integer(seq), .blob(entry.transaction.id.digest.bytes),
                .integer(Int64(entry.transaction.transaction.kind.rawValue)), .blob(entry.canonicalBytes),
            ])
            try insertEntry.run()
            if case let .recordAccess(request) = entry.transaction.transaction.body, let outcome = entry.outcome {
                try insertAccess.bind([.integer(seq), .blob(request.patient.publicKeyBytes), .integer(outcome.isAllowed ? 1 : 0)])
                try insertAccess.run()
            }
        }
    }

    /// The entry at `seq`, decoded, with its block's time.
    static func entry(seq: UInt64, in db: Database) throws -> (entry: BlockEntry, blockTimeMs: UInt64)? {
        guard let (bytes, timeMs) = try db.queryOne("""
            SELECT e.entry, b.time_ms FROM entries e JOIN blocks b ON b.height = (e.seq >> \(ChainStore.positionBits)) WHERE e.seq = ?
            """, [.integer(Int64(seq))], { ($0.blob(0), UInt64($0.int64(1))) })
        else { return nil }
        do {
            return (try BlockEntry(canonicalBytes: bytes), timeMs)
        } catch {
            throw StorageError.corrupt(path: "entries", detail: "entry \(seq) does not decode: \(error)")
        }
    }

    /// Sequence numbers of the indexed access entries that name `patient`, oldest first, after `afterSeq`.
    static func accessSequences(patient: Identity, afterSeq: UInt64, limit: Int, in db: Database) throws -> [UInt64] {
        try db.query("SELECT seq FROM access_index WHERE patient = ? AND seq > ? ORDER BY seq LIMIT ?",
                     [.blob(patient.publicKeyBytes), .integer(Int64(afterSeq)), .integer(Int64(limit))]) { UInt64($0.int64(0)) }
    }

    /// Writes `accesses` (sorted by patient, so consecutive rows share index pages) into the access index;
    /// rows already there are left as they are (a flush cut short is written again).
    static func insertAccessIndex(_ accesses: [(patient: Identity, seq: UInt64)], into db: Database) throws {
        let insert = try db.cachedStatement("INSERT OR IGNORE INTO access_index (patient, seq) VALUES (?, ?)")
        for (patient, seq) in accesses {
            try insert.bind([.blob(patient.publicKeyBytes), .integer(Int64(seq))])
            try insert.run()
        }
    }

    /// The access entries of blocks above `height` by patient: the part of the access index kept in memory.
    static func entryAccesses(above height: UInt64, in db: Database) throws -> [Identity: [UInt64]] {
        let first = Int64(ChainStore.sequence(height: height + 1, position: 0))
        var accesses: [Identity: [UInt64]] = [:]
        for (patientBytes, seq) in try db.query("SELECT patient, seq FROM accesses WHERE seq >= ? ORDER BY seq", [.integer(first)], {
            ($0.blob(0), UInt64($0.int64(1)))
        }) {
            guard let patient = Identity(publicKeyBytes: patientBytes) else {
                throw StorageError.corrupt(path: "accesses", detail: "malformed patient")
            }
            accesses[patient, default: []].append(seq)
        }
        return accesses
    }

    /// Writes `ids` (sorted by id, so consecutive rows share index pages) into the id index. Ids already
    /// there are left as they are: a flush cut short by a crash is written again after the store reopens.
    static func insertIDIndex(_ ids: [(id: TransactionID, seq: UInt64)], into db: Database) throws {
        let insertID = try db.cachedStatement("INSERT OR IGNORE INTO tx_index (id, seq) VALUES (?, ?)")
        for (id, seq) in ids {
            try insertID.bind([.blob(id.digest.bytes), .integer(Int64(seq))])
            try insertID.run()
        }
    }

    /// Records that the id index holds every id of the blocks through `height`.
    static func setIndexedHeight(_ height: UInt64, in db: Database) throws {
        try db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('tx_index_height', ?)", [.blob(height.bigEndianBytes)])
    }

    /// The height through which the id index is complete (0 when nothing was flushed yet).
    static func indexedHeight(in db: Database) throws -> UInt64 {
        guard let bytes = try db.queryOne("SELECT value FROM meta WHERE key = 'tx_index_height'", [], { $0.blob(0) }) else { return 0 }
        guard bytes.count == 8 else { throw StorageError.corrupt(path: "meta", detail: "malformed tx_index_height") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Ids and sequence numbers of the entries of blocks above `height`: the part of the index kept in memory.
    static func entryIDs(above height: UInt64, in db: Database) throws -> [TransactionID: UInt64] {
        let first = Int64(ChainStore.sequence(height: height + 1, position: 0))
        var ids: [TransactionID: UInt64] = [:]
        for (idBytes, seq) in try db.query("SELECT id, seq FROM entries WHERE seq >= ?", [.integer(first)], { ($0.blob(0), $0.int64(1)) }) {
            guard let digest = SHA256Digest(bytes: idBytes) else { throw StorageError.corrupt(path: "entries", detail: "malformed id") }
            ids[TransactionID(digest: digest)] = UInt64(seq)
        }
        return ids
    }

    static func insertChanges(_ changes: StateChanges, into db: Database) throws {
        for grant in changes.grants {
            try db.run("INSERT INTO grants (id, patient, terms, granted_height, revoked_height) VALUES (?, ?, ?, ?, NULL)", [
                .blob(grant.id.digest.bytes), .blob(grant.patient.publicKeyBytes), .blob(grant.terms.canonicalBytes),
                .integer(Int64(grant.grantedAtHeight)),
            ])
        }
        for id in changes.revocations {
            try db.run("UPDATE grants SET revoked_height = ? WHERE id = ? AND revoked_height IS NULL",
                       [.integer(Int64(changes.height)), .blob(id.digest.bytes)])
            precondition(db.changes == 1, "revocation of a missing or already revoked grant reached the store")
        }
        for enrolment in changes.enrolments {
            try db.run("INSERT INTO enrolments (practitioner, organisation, role, height) VALUES (?, ?, ?, ?)", [
                .blob(enrolment.practitioner.publicKeyBytes), .text(enrolment.organisation.value), .text(enrolment.role.value),
                .integer(Int64(enrolment.enrolledAtHeight)),
            ])
        }
        for record in changes.records {
            try db.run("INSERT INTO records (id, patient, custodian, type, commitment, author, height) VALUES (?, ?, ?, ?, ?, ?, ?)", [
                .blob(record.id.bytes), .blob(record.patient.publicKeyBytes), .text(record.custodian.value), .text(record.type.value),
                .blob(record.commitment.bytes), .blob(record.author.publicKeyBytes), .integer(Int64(record.registeredAtHeight)),
            ])
        }
        for access in changes.serviceAccesses { try insertServiceAccess(access, into: db) }
        for result in changes.serviceResults {
            try db.run("""
                UPDATE service_accesses SET result_id = ?, model_id = ?, model_hash = ?, input_hash = ?, output_hash = ?,
                result_height = ? WHERE access_id = ? AND result_id IS NULL
                """, [
                    .blob(result.id.digest.bytes), .text(result.model.id.value), .blob(result.model.hash.bytes),
                    .blob(result.inputHash.bytes), .blob(result.outputHash.bytes), .integer(Int64(result.height)),
                    .blob(result.access.digest.bytes),
                ])
            precondition(db.changes == 1, "a result for a missing or already answered access reached the store")
        }
    }

    private static func insertServiceAccess(_ access: ServiceAccess, into db: Database) throws {
        precondition(access.resultID == nil, "a new service access has no result yet")
        try db.run("INSERT INTO service_accesses (access_id, custodian, patient, action, height, time_ms) VALUES (?, ?, ?, ?, ?, ?)", [
            .blob(access.id.digest.bytes), .text(access.custodian.value), .blob(access.patient.publicKeyBytes),
            .integer(Int64(access.action.rawValue)), .integer(Int64(access.height)), .integer(Int64(access.blockTimeMs)),
        ])
    }

    // MARK: Reading

    /// header || u32 entry count || entries || certificate: the canonical `CommittedBlock` bytes, built from
    /// the stored pieces without decoding them.
    static func storedBlock(at height: UInt64, in db: Database) throws -> StoredBlock? {
        guard height <= UInt64(Int64.max) >> ChainStore.positionBits,
            let (header, count, certificate, hashBytes) = try db.queryOne(
                "SELECT header, entry_count, certificate, hash FROM blocks WHERE height = ?", [.integer(Int64(height))],
                { ($0.blob(0), UInt32($0.int64(1)), $0.blob(2), $0.blob(3)) }),
            let hash = SHA256Digest(bytes: hashBytes)
        else { return nil }
        var encoder = CanonicalEncoder(capacity: header.count + certificate.count + Int(count) * 256)
        encoder.fixed(header)
        encoder.u32(count)
        let first = Int64(ChainStore.sequence(height: height, position: 0))
        let entries = try db.query("SELECT entry FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
                                   [.integer(first), .integer(first + Int64(count))]) { $0.blob(0) }
        for entry in entries { encoder.fixed(entry) }
        guard entries.count == Int(count) else {
            throw StorageError.corrupt(path: "entries", detail: "block \(height) has \(entries.count) of \(count) entries")
        }
        encoder.fixed(certificate)
        return StoredBlock(bytes: encoder.bytes, entryCount: Int(count), hash: hash)
    }

    static func grant(_ id: GrantID, in db: Database) throws -> Grant? {
        try db.queryOne("SELECT id, patient, terms, granted_height, revoked_height FROM grants WHERE id = ?",
                        [.blob(id.digest.bytes)], decodeGrant)
    }

    static func grants(ofPatient patient: Identity, in db: Database) throws -> [Grant] {
        try db.query("""
            SELECT id, patient, terms, granted_height, revoked_height FROM grants
            WHERE patient = ? ORDER BY seq
            """, [.blob(patient.publicKeyBytes)], decodeGrant)
    }

    private static func decodeGrant(_ row: Row) throws -> Grant {
        guard let digest = SHA256Digest(bytes: row.blob(0)), let patient = Identity(publicKeyBytes: row.blob(1)) else {
            throw StorageError.corrupt(path: "grants", detail: "malformed grant row")
        }
        return Grant(id: GrantID(digest: digest), patient: patient, terms: try GrantConsent(canonicalBytes: row.blob(2)),
                     grantedAtHeight: UInt64(row.int64(3)), revokedAtHeight: row.isNull(4) ? nil : UInt64(row.int64(4)))
    }

    static func enrolment(of practitioner: Identity, in db: Database) throws -> Enrolment? {
        try db.queryOne("SELECT organisation, role, height FROM enrolments WHERE practitioner = ?",
                        [.blob(practitioner.publicKeyBytes)]) { row in
            guard let organisation = OrganisationID(row.text(0)), let role = PractitionerRole(row.text(1)) else {
                throw StorageError.corrupt(path: "enrolments", detail: "malformed enrolment row")
            }
            return Enrolment(practitioner: practitioner, organisation: organisation, role: role, enrolledAtHeight: UInt64(row.int64(2)))
        }
    }

    static func serviceAccess(_ id: TransactionID, in db: Database) throws -> ServiceAccess? {
        try db.queryOne("SELECT custodian, patient, action, height, time_ms, result_id FROM service_accesses WHERE access_id = ?",
                        [.blob(id.digest.bytes)]) { row in
            guard let custodian = OrganisationID(row.text(0)), let patient = Identity(publicKeyBytes: row.blob(1)),
                let action = AccessAction(rawValue: UInt8(clamping: row.int64(2))), action != .read
            else { throw StorageError.corrupt(path: "service_accesses", detail: "malformed service access row") }
            var resultID: TransactionID?
            if !row.isNull(5) {
                guard let digest = SHA256Digest(bytes: row.blob(5)) else {
                    throw StorageError.corrupt(path: "service_accesses", detail: "malformed result id")
                }
                resultID = TransactionID(digest: digest)
            }
            return ServiceAccess(id: id, custodian: custodian, patient: patient, action: action, height: UInt64(row.int64(3)),
                                 blockTimeMs: UInt64(row.int64(4)), resultID: resultID)
        }
    }

    /// The result committed for the access `accessID`, if any.
    static func serviceResult(answering accessID: TransactionID, in db: Database) throws -> ServiceResultEntry? {
        try db.queryOne("""
            SELECT result_id, model_id, model_hash, input_hash, output_hash, result_height FROM service_accesses
            WHERE access_id = ? AND result_id IS NOT NULL
            """, [.blob(accessID.digest.bytes)]) { row in
            guard let resultDigest = SHA256Digest(bytes: row.blob(0)), let modelID = ModelID(row.text(1)),
                let modelHash = SHA256Digest(bytes: row.blob(2)), let inputHash = SHA256Digest(bytes: row.blob(3)),
                let outputHash = SHA256Digest(bytes: row.blob(4))
            else { throw StorageError.corrupt(path: "service_accesses", detail: "malformed service result row") }
            return ServiceResultEntry(id: TransactionID(digest: resultDigest), access: accessID,
                                      model: ModelReference(id: modelID, hash: modelHash), inputHash: inputHash,
                                      outputHash: outputHash, height: UInt64(row.int64(5)))
        }
    }

    private static let recordColumns = "id, patient, custodian, type, commitment, author, height"

    static func record(_ id: RecordID, in db: Database) throws -> RecordEntry? {
        try db.queryOne("SELECT \(recordColumns) FROM records WHERE id = ?", [.blob(id.bytes)], decodeRecord)
    }

    static func records(ofPatient patient: Identity, custodian: OrganisationID, in db: Database) throws -> [RecordEntry] {
        try db.query("SELECT \(recordColumns) FROM records WHERE patient = ? AND custodian = ? ORDER BY id",
                     [.blob(patient.publicKeyBytes), .text(custodian.value)], decodeRecord)
    }

    private static func decodeRecord(_ row: Row) throws -> RecordEntry {
        guard let id = RecordID(bytes: row.blob(0)), let patient = Identity(publicKeyBytes: row.blob(1)),
            let custodian = OrganisationID(row.text(2)), let type = RecordType(row.text(3)),
            let commitment = SHA256Digest(bytes: row.blob(4)), let author = Identity(publicKeyBytes: row.blob(5))
        else { throw StorageError.corrupt(path: "records", detail: "malformed record row") }
        return RecordEntry(id: id, patient: patient, custodian: custodian, type: type, commitment: commitment,
                           author: author, registeredAtHeight: UInt64(row.int64(6)))
    }
}

extension UInt64 {
    var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64($0))) } }
}
