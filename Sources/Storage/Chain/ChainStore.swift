import Foundation
import Ledger
import SQLite

/// A committed block as stored: its canonical bytes, entry count and hash.
public struct StoredBlock: Sendable {
    public let bytes: [UInt8]
    public let entryCount: Int
    public let hash: SHA256Digest
}

/// One access to a patient's records, as the chain recorded it.
public struct AccessLogEntry: Sendable, Equatable {
    public let height: UInt64
    public let position: Int
    public let blockTimeMs: UInt64
    public let transactionID: TransactionID
    public let requester: Identity
    public let request: RecordAccess
    public let outcome: AccessOutcome
    /// For an allowed diagnose or plan access, the service result committed for it, once there is one.
    public let result: ServiceResultEntry?
}

/// The node's ledger database: committed blocks with their certificates, every entry, an index of
/// transaction ids, and the consent state (grants, enrolments, records, diagnose/plan accesses with their
/// service results) kept current block by block, so opening a store never replays the chain.
///
/// Each block is appended in one SQLite transaction, all or nothing. A durable append (`synchronous=FULL`) is
/// on disk when `append` returns, with every append before it; another (`synchronous=NORMAL`) survives a
/// crash of the process but may be lost, with the appends after it, to a crash of the machine, until the
/// next durable append (`durableHeight`). The consensus log keeps those heights until then (CONSENSUS.md).
///
/// Thread-safe: one writer connection (appends and single-use requests) behind a write lock, and a pool of
/// reader connections for state look-ups, so API reads and admission checks do not queue behind a block
/// being written (WAL mode lets readers proceed during a write). The head and the unindexed rows sit behind
/// a short lock of their own.
///
/// The transaction-id index and the per-patient access index are written in batches: ids are SHA-256
/// hashes and patients are keys, so inserting each block's rows one by one would dirty a different index page
/// per row (measured: the id index halved the append rate by 200,000 events; the access index, row by row,
/// took it from 7.8 to 4.0 × E2). The rows of the blocks not yet flushed are held in memory (`UnindexedRows`:
/// `idIndexFlushCount` ids, and the blocks appended while a batch is written, with their accesses) and are
/// rebuilt from the entries and accesses tables, which store every row, when the store is opened. A batch is
/// written over as many appends as it has blocks (at most `maxIndexFlushParts`), one range of keys each (a
/// part touches only its share of the indexes' pages), so no block waits for the whole batch: measured, a
/// 50,000-id flush in one append took 130–195 ms, at every validator of a consortium at the same height
/// (docs/PERFORMANCE.md). An append then writes about as many index rows as a block holds entries, and a
/// batch is done by the time the next one's ids have gathered: about `2 × idIndexFlushCount` ids in memory
/// at most, and no more for a store opened in the middle of a batch to write before it opens. The log is
/// copied into the database file by `WALCheckpointer`, off the append.
public final class ChainStore: LedgerStateReader, @unchecked Sendable {
    public let path: String
    public let genesis: Genesis
    private let database: Database
    private let writeLock = NSLock()
    private let readers: ReaderPool
    let checkpointer: WALCheckpointer
    private let memoryLock = NSLock()
    private var head: (height: UInt64, hash: SHA256Digest, timeMs: UInt64)
    /// The height through which the blocks are known to be on disk (under `memoryLock`).
    private var durableThrough: UInt64 = 0
    /// The writer connection's `synchronous` mode now (touched only under the write lock).
    private var writerSynchronous = Database.Synchronous.full
    /// Ids of committed entries not yet in the `tx_index` table, with their sequence numbers, and access
    /// entries (sequence numbers by patient) not yet in the `access_index` table: the same blocks.
    private var unindexed: UnindexedRows
    /// The rows of the index batch being written, until its last part is committed.
    private var flushing: UnindexedRows?
    /// Answers "not committed" for most ids without SQLite (under `memoryLock`).
    private var recentIDs: RecentIDFilter
    /// How many unindexed ids trigger a flush of the id index.
    private let idIndexFlushCount: Int
    /// The most appends an index batch is written over (`IndexFlush`).
    private let maxIndexFlushParts: Int
    /// The height through which the indexes hold every row (touched only under the write lock).
    private var indexedHeight: UInt64
    /// The id-index batch being written, a part per append (touched only under the write lock).
    private var indexFlush: IndexFlush?

    /// The most appends an index batch is written over unless the opener says otherwise: the most the first
    /// byte of a key can split it into. With 32, each part took 20–30 ms at 50,000 ids (blocks of about 35
    /// entries), at every validator of a consortium at the same heights (docs/PERFORMANCE.md).
    public static let defaultMaxIndexFlushParts = 256

    /// How often, after a commit, the log is copied into the database file (`WALCheckpointer`).
    static let checkpointIntervalMs = 250

    /// How many unindexed ids start a flush of the id index unless the opener says otherwise.
    public static let defaultIDIndexFlushCount = 50_000

    /// Entries are keyed by height << 20 | position: appends go to the end of the table's B-tree.
    static let positionBits: UInt64 = 20

    /// Opens the store at `path`, creating it for `genesis` when new. Refuses a store made for another
    /// genesis, or one written by a newer version of HealthLedger. `idIndexFlushCount` bounds the ids held
    /// in memory before the id index is written (see above).
    public init(path: String, genesis: Genesis, idIndexFlushCount: Int = defaultIDIndexFlushCount,
                maxIndexFlushParts: Int = defaultMaxIndexFlushParts) throws(StorageError) {
        precondition(idIndexFlushCount > 0, "the id index flush count must be positive")
        self.path = path
        self.genesis = genesis
        self.idIndexFlushCount = idIndexFlushCount
        self.maxIndexFlushParts = maxIndexFlushParts
        do {
            database = try Database(path: path, mode: .readWrite, synchronous: .full)
            // 64 MiB of page cache: the transaction-id index is keyed by hashes, so its inserts land at
            // random pages; keeping them cached avoids a read per insert as the chain grows.
            try database.execute("PRAGMA cache_size = -65536")
            // The log is copied into the database file by `WALCheckpointer`, off the append's path; the writer's
            // own checkpoint, at 16,384 pages (64 MiB), is the fallback should that fall behind.
            try database.execute("PRAGMA wal_autocheckpoint = 16384")
            try ChainSchema.migrator.migrate(database)
            try Self.bindGenesis(database, genesis: genesis, path: path)
            head = try Self.loadHead(database, genesis: genesis)
            recentIDs = RecentIDFilter(headTimeMs: head.timeMs, consensus: genesis.consensus)
            indexedHeight = try ChainSchema.indexedHeight(in: database)
            unindexed = UnindexedRows(ids: try ChainSchema.entryIDs(above: indexedHeight, in: database),
                                      accesses: try ChainSchema.entryAccesses(above: indexedHeight, in: database))
            if unindexed.idCount >= idIndexFlushCount {
                // A flush a restart cut short (its parts are written over several appends): finished here.
                let batch = IndexFlush(rows: unindexed, coveringThrough: head.height, parts: maxIndexFlushParts)
                try database.write { db in
                    for part in 0..<batch.parts { try batch.write(part: part, into: db) }
                    try ChainSchema.setIndexedHeight(batch.coveringThrough, in: db)
                }
                unindexed = UnindexedRows()
                indexedHeight = head.height
            }
            readers = try ReaderPool(path: path, count: 4)
            checkpointer = try WALCheckpointer(path: path, intervalMs: Self.checkpointIntervalMs)
        } catch {
            throw StorageError.wrap(error)
        }
    }

    deinit { checkpointer.stop() }

    private static func bindGenesis(_ database: Database, genesis: Genesis, path: String) throws {
        let stored = try database.queryOne("SELECT value FROM meta WHERE key = 'genesis_hash'") { $0.blob(0) }
        if let stored {
            guard stored == genesis.hash.bytes else { throw StorageError.genesisMismatch(path: path) }
        } else {
            try database.run("INSERT INTO meta (key, value) VALUES ('genesis_hash', ?)", [.blob(genesis.hash.bytes)])
        }
    }

    private static func loadHead(_ database: Database, genesis: Genesis) throws -> (UInt64, SHA256Digest, UInt64) {
        let row = try database.queryOne("SELECT height, hash, time_ms FROM blocks ORDER BY height DESC LIMIT 1") {
            (UInt64($0.int64(0)), $0.blob(1), UInt64($0.int64(2)))
        }
        guard let (height, hashBytes, timeMs) = row else { return (0, genesis.hash, genesis.genesisTimeMs) }
        guard let hash = SHA256Digest(bytes: hashBytes) else { throw StorageError.corrupt(path: "", detail: "bad block hash") }
        return (height, hash, timeMs)
    }

    /// Runs `body` on the writer connection.
    private func writing<T>(_ body: () throws -> T) throws(StorageError) -> T {
        writeLock.lock()
        defer { writeLock.unlock() }
        do {
            return try body()
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// The consent state read through the writer connection, for the one thread that appends (the block
    /// producer): its look-ups then never wait for a reader connection that request threads are using.
    public var writerView: LedgerStateReader { WriterView(store: self) }

    private struct WriterView: LedgerStateReader {
        let store: ChainStore

        private func read<T>(_ body: (Database) throws -> T) throws -> T { try store.writing { try body(store.database) } }

        func grant(_ id: GrantID) throws -> Grant? { try read { try ChainSchema.grant(id, in: $0) } }
        func grants(ofPatient patient: Identity) throws -> [Grant] { try read { try ChainSchema.grants(ofPatient: patient, in: $0) } }
        func enrolment(of practitioner: Identity) throws -> Enrolment? { try read { try ChainSchema.enrolment(of: practitioner, in: $0) } }
        func record(_ id: RecordID) throws -> RecordEntry? { try read { try ChainSchema.record(id, in: $0) } }
        func records(ofPatient patient: Identity, custodian: OrganisationID) throws -> [RecordEntry] {
            try read { try ChainSchema.records(ofPatient: patient, custodian: custodian, in: $0) }
        }
        func isCommitted(_ id: TransactionID, createdAtMs: UInt64) throws -> Bool {
            guard store.mayBeCommitted(id, createdAtMs: createdAtMs) else { return false }
            return try read { try store.sequence(of: id, in: $0) != nil }
        }
        func serviceAccess(_ id: TransactionID) throws -> ServiceAccess? { try read { try ChainSchema.serviceAccess(id, in: $0) } }
    }

    /// Runs `body` on one of the reader connections.
    private func reading<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        do {
            return try readers.with(body)
        } catch {
            throw StorageError.wrap(error)
        }
    }

    /// Height, hash and time of the last committed block (height 0, the genesis hash and time when empty).
    public var headHeight: UInt64 { memoryLock.withLock { head.height } }
    public var headHash: SHA256Digest { memoryLock.withLock { head.hash } }
    public var headTimeMs: UInt64 { memoryLock.withLock { head.timeMs } }

    /// The height through which every block is known to be on disk, surviving a crash of the machine: that
    /// of the last durable append (or commit of a used request) since the store was opened, 0 before one
    /// (what an earlier process appended may still be only in the operating system's cache).
    public var durableHeight: UInt64 { memoryLock.withLock { durableThrough } }

    /// Appends a committed block and the state changes it makes (from `BlockExecutor.execute`), atomically;
    /// with `durable`, on disk when this returns, together with every earlier append. The caller has verified
    /// the block; this checks only that it extends the chain.
    public func append(_ committed: CommittedBlock, changes: StateChanges, durable: Bool = true) throws(StorageError) {
        let header = committed.block.header
        try writing {
            try setWriterSynchronous(durable ? .full : .normal)
            let currentHead = memoryLock.withLock { head }
            guard header.height == currentHead.height + 1, header.previousHash == currentHead.hash else {
                throw StorageError.notNextBlock(expectedHeight: currentHead.height + 1, got: header.height)
            }
            precondition(changes.height == header.height, "state changes belong to another block")
            let hash = header.hash
            let newIDs = committed.block.entries.enumerated().map { (position, entry) in
                (id: entry.transaction.id, seq: Self.sequence(height: header.height, position: position))
            }
            let newAccesses = committed.block.entries.enumerated().compactMap { (position, entry) -> (Identity, UInt64)? in
                guard case let .recordAccess(request) = entry.transaction.transaction.body, entry.outcome != nil else { return nil }
                return (request.patient, Self.sequence(height: header.height, position: position))
            }
            if indexFlush == nil, memoryLock.withLock({ unindexed.idCount }) >= idIndexFlushCount {
                // The batch: every row through the head, moved aside (still found) while its parts are written.
                let rows = memoryLock.withLock { () -> UnindexedRows in
                    defer { (flushing, unindexed) = (unindexed, UnindexedRows()) }
                    return unindexed
                }
                let blocks = Int(currentHead.height - indexedHeight)
                indexFlush = IndexFlush(rows: rows, coveringThrough: currentHead.height, parts: min(maxIndexFlushParts, max(1, blocks)))
            }
            let flush = indexFlush
            // Before the commit: a reader told "maybe" looks the id up, one told "no" asked before the block.
            memoryLock.withLock {
                for entry in committed.block.entries {
                    recentIDs.insert(entry.transaction.id, createdAtMs: entry.transaction.transaction.createdAtMs)
                }
                let maxAgeMs = genesis.consensus.transactionMaxAgeMs
                if header.timeMs > maxAgeMs { recentIDs.forget(createdBeforeMs: header.timeMs - maxAgeMs) }
            }
            try database.write { db in
                try ChainSchema.insertBlock(committed, hash: hash, into: db)
                try ChainSchema.insertChanges(changes, into: db)
                if let flush {
                    try flush.writeNextPart(into: db)
                    if flush.isLastPart { try ChainSchema.setIndexedHeight(flush.coveringThrough, in: db) }
                }
            }
            checkpointer.noteCommit()
            // Only after the commit: until then readers find the new rows here, and afterwards in the indexes.
            memoryLock.withLock {
                for (id, seq) in newIDs { unindexed.insert(id, seq: seq) }
                for (patient, seq) in newAccesses { unindexed.insertAccess(patient: patient, seq: seq) }
                if let flush, flush.isLastPart { flushing = nil }
                head = (header.height, hash, header.timeMs)
                if durable { durableThrough = header.height }
            }
            if let flush, flush.isLastPart { indexedHeight = flush.coveringThrough }
            indexFlush = flush.flatMap { $0.isLastPart ? nil : $0.advanced() }
        }
    }

    /// Ids committed but not yet in the id index (held in memory; reloaded from the entries table on open).
    public var unindexedIDCount: Int { memoryLock.withLock { unindexed.idCount + (flushing?.idCount ?? 0) } }

    /// True while an index batch is being written over appends (a store opened then finishes it first).
    public var isWritingIndexBatch: Bool { memoryLock.withLock { flushing != nil } }

    /// A batch for the id index and the access index, written in `parts` ranges of the key space (shards of
    /// `UnindexedRows`: by the first byte of the id, and of the patient's key), one per append, each sorted
    /// as it is written.
    struct IndexFlush {
        let parts: Int
        private let rows: UnindexedRows
        /// Once every part is written, the indexes hold every row of the blocks through this height.
        let coveringThrough: UInt64
        private var part = 0

        init(rows: UnindexedRows, coveringThrough: UInt64, parts: Int) {
            precondition((1...UnindexedRows.shardCount).contains(parts), "an index batch has 1 to \(UnindexedRows.shardCount) parts")
            (self.rows, self.coveringThrough, self.parts) = (rows, coveringThrough, parts)
        }

        /// Writes range `part` of both indexes, each sorted, so consecutive rows share index pages.
        func write(part: Int, into db: Database) throws {
            let shards = Self.shards(ofPart: part, parts: parts)
            try ChainSchema.insertIDIndex(rows.sortedIDs(inShards: shards), into: db)
            try ChainSchema.insertAccessIndex(rows.sortedAccesses(inShards: shards), into: db)
        }

        /// The shards part `part` of `parts` writes: consecutive, and together every shard once.
        static func shards(ofPart part: Int, parts: Int) -> Range<Int> {
            (part * UnindexedRows.shardCount / parts)..<((part + 1) * UnindexedRows.shardCount / parts)
        }

        func writeNextPart(into db: Database) throws { try write(part: part, into: db) }
        var isLastPart: Bool { part == parts - 1 }
        func advanced() -> IndexFlush {
            var next = self
            next.part += 1
            return next
        }
    }

    /// The committed block at `height`, or nil above the head.
    public func block(at height: UInt64) throws(StorageError) -> CommittedBlock? {
        try reading { database in
            guard let stored = try ChainSchema.storedBlock(at: height, in: database) else { return nil }
            do {
                return try CommittedBlock(canonicalBytes: stored.bytes)
            } catch {
                throw StorageError.corrupt(path: path, detail: "block \(height) does not decode: \(error)")
            }
        }
    }

    /// The canonical bytes of the committed block at `height` (what an export carries), its entry count and
    /// hash, or nil above the head.
    public func storedBlock(at height: UInt64) throws(StorageError) -> StoredBlock? {
        try reading { try ChainSchema.storedBlock(at: height, in: $0) }
    }

    /// Where a committed transaction is: block height and position in the block.
    public func location(of id: TransactionID) throws(StorageError) -> (height: UInt64, position: Int)? {
        try reading { database in
            guard let seq = try sequence(of: id, in: database) else { return nil }
            return (seq >> Self.positionBits, Int(seq & ((1 << Self.positionBits) - 1)))
        }
    }

    /// The committed entry at a position, with its block's time.
    public func entry(height: UInt64, position: Int) throws(StorageError) -> (entry: BlockEntry, blockTimeMs: UInt64)? {
        guard height <= headHeight, position >= 0, position < 1 << Self.positionBits else { return nil }
        return try reading { try ChainSchema.entry(seq: Self.sequence(height: height, position: position), in: $0) }
    }

    /// The accesses to `patient`'s records (allowed and denied), oldest first: the accounting of disclosures.
    /// An allowed diagnose or plan access carries its service result once one is committed. Pages with
    /// `after`, the last entry of the previous page.
    public func accessLog(patient: Identity, after: (height: UInt64, position: Int)? = nil,
                          limit: Int = 1_000) throws(StorageError) -> [AccessLogEntry] {
        precondition(limit > 0, "the page size must be positive")
        let afterSeq = after.map { Self.sequence(height: $0.height, position: $0.position) } ?? 0
        // The rows not in the index yet, taken before the index is read: a batch written in between is then
        // found in both (and counted once), never in neither.
        let unindexed = memoryLock.withLock { (flushing?.accessSequences(of: patient) ?? []) + self.unindexed.accessSequences(of: patient) }
        return try reading { database in
            let indexed = try ChainSchema.accessSequences(patient: patient, afterSeq: afterSeq, limit: limit, in: database)
            let sequences = Set(indexed + unindexed.filter { $0 > afterSeq }).sorted().prefix(limit)
            return try sequences.map { seq in
                guard let (entry, timeMs) = try ChainSchema.entry(seq: seq, in: database),
                    case let .recordAccess(request) = entry.transaction.transaction.body, let outcome = entry.outcome
                else { throw StorageError.corrupt(path: path, detail: "access index names entry \(seq), which is not an access") }
                let mayHaveResult = request.action != .read && outcome.isAllowed
                let result = mayHaveResult ? try ChainSchema.serviceResult(answering: entry.transaction.id, in: database) : nil
                return AccessLogEntry(height: seq >> Self.positionBits, position: Int(seq & ((1 << Self.positionBits) - 1)),
                                      blockTimeMs: timeMs, transactionID: entry.transaction.id,
                                      requester: entry.transaction.transaction.signer, request: request, outcome: outcome,
                                      result: result)
            }
        }
    }

    /// Marks a signed API request as used; false when it was used before. Requests expire from the table
    /// after `expiresAtMs` (when their creation time is outside the acceptance window, so they could not be
    /// accepted again anyway).
    public func consumeRequest(_ id: SHA256Digest, expiresAtMs: UInt64, nowMs: UInt64) throws(StorageError) -> Bool {
        try writing {
            try setWriterSynchronous(.full)
            let fresh = try database.write { db in
                try db.run("DELETE FROM used_requests WHERE expires_ms < ?", [.integer(Int64(clamping: nowMs))])
                guard try db.queryOne("SELECT 1 FROM used_requests WHERE id = ?", [.blob(id.bytes)], { _ in true }) == nil else {
                    return false
                }
                try db.run("INSERT INTO used_requests (id, expires_ms) VALUES (?, ?)", [.blob(id.bytes), .integer(Int64(clamping: expiresAtMs))])
                return true
            }
            // A synchronous commit syncs the log, and with it every append before it.
            if fresh { memoryLock.withLock { durableThrough = head.height } }
            return fresh
        }
    }

    /// Sets the writer connection's `synchronous` mode for its next commits (under the write lock).
    private func setWriterSynchronous(_ mode: Database.Synchronous) throws(SQLiteError) {
        guard mode != writerSynchronous else { return }
        try database.execute("PRAGMA synchronous = \(mode.rawValue)")
        writerSynchronous = mode
    }

    /// The entry key for a position in a block.
    static func sequence(height: UInt64, position: Int) -> UInt64 {
        precondition(position < 1 << positionBits && height < 1 << (63 - positionBits), "entry position out of range")
        return height << positionBits | UInt64(position)
    }

    /// Looks in the unindexed ids first, then in the index through `database` (a reader).
    private func sequence(of id: TransactionID, in database: Database) throws -> UInt64? {
        if let seq = memoryLock.withLock({ unindexed.sequence(of: id) ?? flushing?.sequence(of: id) }) { return seq }
        return try database.queryOne("SELECT seq FROM tx_index WHERE id = ?", [.blob(id.digest.bytes)]) { UInt64($0.int64(0)) }
    }


    // MARK: LedgerStateReader

    public func grant(_ id: GrantID) throws -> Grant? {
        try reading { try ChainSchema.grant(id, in: $0) }
    }

    public func grants(ofPatient patient: Identity) throws -> [Grant] {
        try reading { try ChainSchema.grants(ofPatient: patient, in: $0) }
    }

    public func enrolment(of practitioner: Identity) throws -> Enrolment? {
        try reading { try ChainSchema.enrolment(of: practitioner, in: $0) }
    }

    public func record(_ id: RecordID) throws -> RecordEntry? {
        try reading { try ChainSchema.record(id, in: $0) }
    }

    public func records(ofPatient patient: Identity, custodian: OrganisationID) throws -> [RecordEntry] {
        try reading { try ChainSchema.records(ofPatient: patient, custodian: custodian, in: $0) }
    }

    public func isCommitted(_ id: TransactionID, createdAtMs: UInt64) throws -> Bool {
        guard mayBeCommitted(id, createdAtMs: createdAtMs) else { return false }
        return try reading { try sequence(of: id, in: $0) != nil }
    }

    /// False when `RecentIDFilter` knows the id is not committed; a look-up must answer otherwise.
    private func mayBeCommitted(_ id: TransactionID, createdAtMs: UInt64) -> Bool {
        memoryLock.withLock { recentIDs.mayContain(id, createdAtMs: createdAtMs) }
    }

    /// Every allowed diagnose/plan access ever committed is kept (the access log shows its result), so this
    /// never forgets one; the executor's window rule refuses results for old ones.
    public func serviceAccess(_ id: TransactionID) throws -> ServiceAccess? {
        try reading { try ChainSchema.serviceAccess(id, in: $0) }
    }

    /// The service result committed for the access `accessID`, or nil when there is none (yet).
    public func serviceResult(answering accessID: TransactionID) throws(StorageError) -> ServiceResultEntry? {
        try reading { try ChainSchema.serviceResult(answering: accessID, in: $0) }
    }
}

/// A few connections for look-ups, each used by one thread at a time. WAL mode gives each statement a
/// consistent snapshot of the last committed block, while the writer connection appends the next.
final class ReaderPool: @unchecked Sendable {
    private let connections: [(database: Database, lock: NSLock)]
    private let counterLock = NSLock()
    private var next = 0

    init(path: String, count: Int) throws {
        precondition(count > 0, "a reader pool needs a connection")
        connections = try (0..<count).map { _ in
            // Read-write mode only because SQLite needs write access to the WAL index; these never write.
            let database = try Database(path: path, mode: .readWrite, synchronous: .full)
            try database.execute("PRAGMA query_only = ON")
            return (database, NSLock())
        }
    }

    /// Runs `body` on a free connection, or waits for the next one in turn when all are in use.
    func with<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = connections.first { $0.lock.try() } ?? {
            let index = counterLock.withLock { () -> Int in
                defer { next = (next + 1) % connections.count }
                return next
            }
            connections[index].lock.lock()
            return connections[index]
        }()
        defer { connection.lock.unlock() }
        return try body(connection.database)
    }
}
