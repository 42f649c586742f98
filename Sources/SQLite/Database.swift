import CSQLite

/// One SQLite connection: the single owner of a `sqlite3` handle, closed when released.
///
/// Not `Sendable`: its owner confines it to one thread or queue (the connection is opened with
/// `SQLITE_OPEN_NOMUTEX`, so SQLite does not lock for it). Read-write connections run in WAL mode with
/// foreign keys on and a busy timeout, so other connections keep reading while this one writes.
public final class Database {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Read and write; the file is created if missing.
        case readWrite
        /// Read only; a missing file is an error.
        case readOnly
    }

    /// When SQLite waits for the disk (`PRAGMA synchronous`).
    public enum Synchronous: String, Sendable {
        /// An fsync per commit: a committed transaction survives power loss.
        case full = "FULL"
        /// WAL commits survive a crash of the process, but the last ones may be lost on power loss.
        case normal = "NORMAL"
    }

    /// How long a statement waits for another connection's lock before failing with `.busy`.
    public static let busyTimeoutMilliseconds: Int32 = 5_000

    /// The path given at open.
    public let path: String
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]

    /// Opens (and for `.readWrite` creates) the database at `path`, and checks that it is one.
    ///
    /// SQLite opens files lazily, so this reads the schema to turn a file that is not a database into
    /// a typed error now rather than at the first query.
    /// - Throws: `.cannotOpen` for a missing (read-only), inaccessible or directory path, or when WAL mode
    ///   cannot be enabled; `.notADatabase` for a file that is not a database or is corrupt.
    public init(path: String, mode: Mode, synchronous: Synchronous = .full) throws(SQLiteError) {
        self.path = path
        self.handle = try Self.open(path: path, mode: mode)
        // From here deinit closes the handle if a check below throws. The busy timeout comes first: another
        // connection checkpointing the file would otherwise fail the first statement at once.
        let code = sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        guard code == SQLITE_OK else { throw SQLiteError(connection: handle, resultCode: code) }
        try execute("SELECT count(*) FROM sqlite_schema")
        try configure(mode: mode, synchronous: synchronous)
    }

    deinit {
        // Finalize cached statements first so the connection can close now rather than linger as a zombie.
        statementCache.removeAll()
        let code = sqlite3_close_v2(handle)
        precondition(code == SQLITE_OK, "sqlite3_close_v2 failed with \(code)")
    }

    private static func open(path: String, mode: Mode) throws(SQLiteError) -> OpaquePointer {
        let access = mode == .readWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard code == SQLITE_OK, let handle else {
            // SQLite allocates a handle even when opening fails; it holds the message and must be closed.
            let error = SQLiteError(connection: handle, resultCode: code, kind: .cannotOpen)
            sqlite3_close_v2(handle)
            throw error
        }
        return handle
    }

    private func configure(mode: Mode, synchronous: Synchronous) throws(SQLiteError) {
        try execute("PRAGMA foreign_keys = ON")
        guard mode == .readWrite else { return }
        try enableWriteAheadLog()
        try execute("PRAGMA synchronous = \(synchronous.rawValue)")
    }

    private func enableWriteAheadLog() throws(SQLiteError) {
        let sql = "PRAGMA journal_mode = WAL"
        // The pragma answers with the mode now in force, which is not WAL on, say, an in-memory database.
        let journalMode = try readFirstRow(sql) { $0.text(0) }
        guard journalMode?.lowercased() == "wal" else {
            throw SQLiteError(
                kind: .cannotOpen, message: "journal mode is \(journalMode ?? "unknown"), WAL required", sql: sql)
        }
    }

    // MARK: Statements

    /// Runs one or more statements separated by semicolons, without arguments (schema, pragmas).
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw SQLiteError(
                extendedResultCode: code,
                message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)), sql: sql)
        }
    }

    /// Prepares one statement that the caller owns.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: handle, sql: sql, persistent: false)
    }

    /// The statement for `sql` from this connection's cache, prepared on first use.
    ///
    /// On reuse it is reset and its bindings cleared, so a caller must not keep stepping an earlier
    /// handout of the same SQL. Use it for SQL that runs again and again, such as the ledger's inserts.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            statement.clearBindings()
            return statement
        }
        let statement = try Statement(connection: handle, sql: sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// Runs one statement with arguments through the cache, to completion.
    public func run(_ sql: String, _ arguments: [SQLiteValue] = []) throws(SQLiteError) {
        let statement = try statementForOneUse(sql, arguments)
        defer { statement.reset() }
        try statement.run()
    }

    /// Runs a query through the cache and maps each row with `row`.
    public func query<T>(_ sql: String, _ arguments: [SQLiteValue] = [], _ row: (Row) throws -> T) throws -> [T] {
        let statement = try statementForOneUse(sql, arguments)
        defer { statement.reset() }
        var results: [T] = []
        while try statement.step() {
            results.append(try row(statement.row))
        }
        return results
    }

    /// Runs a query through the cache and maps its first row with `row`; nil when there is none.
    public func queryOne<T>(_ sql: String, _ arguments: [SQLiteValue] = [], _ row: (Row) throws -> T) throws -> T? {
        let statement = try statementForOneUse(sql, arguments)
        // Resetting releases the read snapshot at once instead of when the statement next runs.
        defer { statement.reset() }
        return try statement.step() ? try row(statement.row) : nil
    }

    /// `queryOne` with typed throws, for this module's own reads, whose row closures cannot throw.
    func readFirstRow<T>(_ sql: String, _ row: (Row) -> T) throws(SQLiteError) -> T? {
        let statement = try statementForOneUse(sql, [])
        defer { statement.reset() }
        return try statement.step() ? row(statement.row) : nil
    }

    /// The cached statement bound to `arguments`; a fresh one when the cached one is part-way through its
    /// rows, so running the same SQL inside a `query` row closure does not derail the outer query.
    private func statementForOneUse(_ sql: String, _ arguments: [SQLiteValue]) throws(SQLiteError) -> Statement {
        let cached = statementCache[sql]
        let statement = cached?.isBusy == true ? try prepare(sql) : try cachedStatement(sql)
        try statement.bind(arguments)
        return statement
    }

    // MARK: Connection state

    /// The rowid of the most recent successful insert on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The number of rows the most recent insert, update or delete changed.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// True while a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// How a checkpoint treats the connections that read and write meanwhile.
    public enum CheckpointMode: Sendable {
        /// Copies every frame no reader still needs, without waiting for anyone: a writer appends to the log
        /// meanwhile, and the log is started again from its beginning by the first write after a checkpoint
        /// that copied it all.
        case passive
        /// Waits for the writer and the readers, copies the whole log and truncates it to zero bytes.
        case truncate
    }

    /// The write-ahead log after a checkpoint, in frames (one page each).
    public struct CheckpointResult: Sendable, Equatable {
        /// Frames in the log.
        public let logFrames: Int
        /// Of those, frames now copied into the database file.
        public let copiedFrames: Int
    }

    /// Copies the write-ahead log into the database file (`mode`, `.truncate` unless said otherwise).
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .truncate) throws(SQLiteError) -> CheckpointResult {
        var logFrames: Int32 = 0
        var copiedFrames: Int32 = 0
        let (flag, name) = switch mode {
        case .passive: (SQLITE_CHECKPOINT_PASSIVE, "PASSIVE")
        case .truncate: (SQLITE_CHECKPOINT_TRUNCATE, "TRUNCATE")
        }
        let code = sqlite3_wal_checkpoint_v2(handle, nil, flag, &logFrames, &copiedFrames)
        guard code == SQLITE_OK else { throw SQLiteError(connection: handle, resultCode: code, sql: "wal_checkpoint(\(name))") }
        return CheckpointResult(logFrames: Int(logFrames), copiedFrames: Int(copiedFrames))
    }

    /// Runs `PRAGMA quick_check`: true when SQLite finds the file consistent, false when it finds damage.
    ///
    /// - Throws: errors other than corruption, such as `.busy`.
    public func integrityCheck() throws(SQLiteError) -> Bool {
        do {
            return try readFirstRow("PRAGMA quick_check") { $0.text(0) } == "ok"
        } catch where error.kind == .notADatabase {
            return false
        }
    }
}
