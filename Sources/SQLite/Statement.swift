import CSQLite

/// One prepared statement: the single owner of a `sqlite3_stmt`, finalized when released.
///
/// Not `Sendable`: it belongs to its ``Database``'s owner. Typical use is `bind`, then `step` until it
/// returns false, reading each row through ``row``. A statement may outlive its database object; the
/// connection closes when its last statement is finalized (`sqlite3_close_v2`).
public final class Statement {
    /// The SQL text, as given; safe to log because it never contains bound values.
    public let sql: String
    let handle: OpaquePointer
    private let parameterCount: Int

    /// Prepares exactly one statement; several statements in one string are a misuse (use `execute`).
    init(connection: OpaquePointer, sql: String, persistent: Bool) throws(SQLiteError) {
        var handle: OpaquePointer?
        var hasTrailingSQL = false
        let flags = UInt32(persistent ? SQLITE_PREPARE_PERSISTENT : 0)
        let code = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, text, -1, flags, &handle, &tail)
            hasTrailingSQL = tail.map { String(cString: $0).contains { !$0.isWhitespace && $0 != ";" } } ?? false
            return code
        }
        guard code == SQLITE_OK else {
            let error = SQLiteError(connection: connection, resultCode: code, sql: sql)
            sqlite3_finalize(handle)
            throw error
        }
        guard let handle else { throw .misuse("no statement to prepare (empty SQL)", sql: sql) }
        guard !hasTrailingSQL else {
            sqlite3_finalize(handle)
            throw .misuse("prepare() takes one statement; use execute() for several", sql: sql)
        }
        self.sql = sql
        self.handle = handle
        self.parameterCount = Int(sqlite3_bind_parameter_count(handle))
    }

    deinit {
        // The return code repeats the last step's error, which was already reported where it happened.
        sqlite3_finalize(handle)
    }

    /// Resets the statement and binds `arguments` to its parameters, in order.
    ///
    /// Text and blobs are copied by SQLite (`SQLITE_TRANSIENT`), so the arguments need not outlive the call.
    /// - Throws: `.misuse` when the count differs from the statement's parameter count.
    public func bind(_ arguments: [SQLiteValue]) throws(SQLiteError) {
        guard arguments.count == parameterCount else {
            throw .misuse("statement takes \(parameterCount) arguments, got \(arguments.count)", sql: sql)
        }
        reset()
        for (offset, value) in arguments.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// Evaluates the statement up to the next row.
    ///
    /// - Returns: true when a row is available through ``row``, false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw SQLiteError(connection: sqlite3_db_handle(handle), resultCode: code, sql: sql)
        }
    }

    /// Steps until the statement is done, ignoring any rows.
    public func run() throws(SQLiteError) {
        while try step() {}
    }

    /// Rewinds the statement so it can run again; bindings are kept.
    public func reset() {
        // sqlite3_reset only repeats the error of the previous step, which step() already threw.
        sqlite3_reset(handle)
    }

    /// Sets every parameter back to `NULL`.
    public func clearBindings() {
        let code = sqlite3_clear_bindings(handle)
        precondition(code == SQLITE_OK, "sqlite3_clear_bindings cannot fail, returned \(code)")
    }

    /// The current row; valid only after ``step()`` returned true and until the next step or reset.
    public var row: Row { Row(statement: self) }

    /// True while the statement is part-way through its rows (stepped, not done, not reset).
    var isBusy: Bool { sqlite3_stmt_busy(handle) != 0 }

    private func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .integer(let integer): code = sqlite3_bind_int64(handle, index, integer)
        case .real(let real): code = sqlite3_bind_double(handle, index, real)
        case .text(let text): code = bindText(text, at: index)
        case .blob(let bytes): code = bindBlob(bytes, at: index)
        case .null: code = sqlite3_bind_null(handle, index)
        }
        guard code == SQLITE_OK else {
            // Only the parameter index goes into the error: the value may be personal data.
            throw SQLiteError(connection: sqlite3_db_handle(handle), resultCode: code, sql: sql)
        }
    }

    private func bindText(_ text: String, at index: Int32) -> Int32 {
        // The bridged C string is never nil, even for "", so empty text stays text and not NULL.
        sqlite3_bind_text64(
            handle, index, text, sqlite3_uint64(text.utf8.count), hl_sqlite_transient(), UInt8(SQLITE_UTF8))
    }

    private func bindBlob(_ bytes: [UInt8], at index: Int32) -> Int32 {
        // An empty array may have no base address, and a nil pointer would bind NULL instead of an empty blob.
        guard !bytes.isEmpty else { return sqlite3_bind_zeroblob(handle, index, 0) }
        return bytes.withUnsafeBytes { buffer in
            sqlite3_bind_blob64(
                handle, index, buffer.baseAddress, sqlite3_uint64(buffer.count), hl_sqlite_transient())
        }
    }
}

/// A read-only view of a statement's current row; columns are numbered from 0.
///
/// Valid only until the statement steps again or resets: copy what you need out of it.
/// Typed getters follow SQLite's conversions (a `NULL` reads as 0, "" or []), so check ``isNull(_:)``
/// or use ``value(_:)`` where `NULL` is meaningful.
public struct Row {
    private let statement: Statement

    init(statement: Statement) { self.statement = statement }

    /// The number of columns in the row.
    public var columnCount: Int { Int(sqlite3_data_count(statement.handle)) }

    /// The column as a 64-bit integer.
    public func int64(_ column: Int) -> Int64 { sqlite3_column_int64(statement.handle, checked(column)) }

    /// The column as a double.
    public func double(_ column: Int) -> Double { sqlite3_column_double(statement.handle, checked(column)) }

    /// The column as UTF-8 text.
    public func text(_ column: Int) -> String {
        let index = checked(column)
        // Text pointer first, then its byte count: the order SQLite documents for a stable result.
        guard let bytes = sqlite3_column_text(statement.handle, index) else { return "" }
        let count = Int(sqlite3_column_bytes(statement.handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column as bytes; an empty blob and `NULL` both read as [].
    public func blob(_ column: Int) -> [UInt8] {
        let index = checked(column)
        guard let bytes = sqlite3_column_blob(statement.handle, index) else { return [] }
        let count = Int(sqlite3_column_bytes(statement.handle, index))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// True when the column is `NULL`.
    public func isNull(_ column: Int) -> Bool {
        sqlite3_column_type(statement.handle, checked(column)) == SQLITE_NULL
    }

    /// The column with its storage class, exactly as SQLite holds it.
    public func value(_ column: Int) -> SQLiteValue {
        switch sqlite3_column_type(statement.handle, checked(column)) {
        case SQLITE_INTEGER: .integer(int64(column))
        case SQLITE_FLOAT: .real(double(column))
        case SQLITE_TEXT: .text(text(column))
        case SQLITE_BLOB: .blob(blob(column))
        default: .null
        }
    }

    private func checked(_ column: Int) -> Int32 {
        // data_count is 0 when there is no current row, so this also catches reads after done or reset.
        precondition(
            column >= 0 && column < columnCount,
            "column \(column) out of range 0..<\(columnCount), or no current row: \(statement.sql)")
        return Int32(column)
    }
}
