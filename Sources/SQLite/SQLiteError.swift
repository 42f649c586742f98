import CSQLite

/// An error from SQLite or from this module, safe to log.
///
/// It carries the result codes, SQLite's message and the SQL text of the statement, but never the values
/// bound to it: arguments may hold personal health data, so no error of this module can print them.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in terms a caller can act on.
    public enum Kind: Sendable, Hashable {
        /// The file could not be opened: missing (read-only opens never create one), a directory,
        /// or not accessible. Also used when WAL mode cannot be enabled.
        case cannotOpen
        /// The file is not an SQLite database or is corrupt (`SQLITE_NOTADB`, `SQLITE_CORRUPT`).
        case notADatabase
        /// A `UNIQUE`, `NOT NULL`, `CHECK`, foreign key or primary key constraint failed.
        case constraint
        /// Another connection held a lock longer than the busy timeout.
        case busy
        /// The database records a migration this program does not know: a newer program wrote it.
        case schemaTooNew
        /// The recorded migrations disagree with the registered order: migrations were edited or reordered.
        case migrationHistoryMismatch
        /// The API was used wrongly: a bug in the calling code (`SQLITE_MISUSE`, wrong argument count).
        case misuse
        /// Any other SQLite failure; see the result codes.
        case other
    }

    /// What went wrong, derived from the result code or set by this module.
    public let kind: Kind
    /// SQLite's primary result code, such as `SQLITE_CONSTRAINT` (19).
    public let resultCode: Int32
    /// SQLite's extended result code, such as `SQLITE_CONSTRAINT_UNIQUE` (2067).
    public let extendedResultCode: Int32
    /// SQLite's message, or this module's for errors it raises itself.
    public let message: String
    /// The SQL text of the failing statement, without bound values; nil when no statement was involved.
    public let sql: String?

    /// Makes an error; `kind` defaults to the one the result code implies.
    init(kind: Kind? = nil, extendedResultCode: Int32, message: String, sql: String? = nil) {
        self.resultCode = extendedResultCode & 0xFF
        self.extendedResultCode = extendedResultCode
        self.kind = kind ?? Self.kind(ofPrimaryCode: extendedResultCode & 0xFF)
        self.message = message
        self.sql = sql
    }

    /// The error a connection reports right after a failing call: read before any other call on it.
    init(connection: OpaquePointer?, resultCode: Int32, sql: String? = nil, kind: Kind? = nil) {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        self.init(
            kind: kind, extendedResultCode: resultCode,
            message: message ?? String(cString: sqlite3_errstr(resultCode)), sql: sql)
    }

    /// An error this module raises itself, about the state of the database rather than a failing C call.
    init(kind: Kind, message: String, sql: String? = nil) {
        self.init(kind: kind, extendedResultCode: SQLITE_ERROR, message: message, sql: sql)
    }

    /// An error this module raises for a programming mistake.
    static func misuse(_ message: String, sql: String? = nil) -> SQLiteError {
        SQLiteError(kind: .misuse, extendedResultCode: SQLITE_MISUSE, message: message, sql: sql)
    }

    /// The result codes, message, SQL and a hint about what to do next; never bound values.
    public var description: String {
        var text = "SQLite error \(resultCode) (extended \(extendedResultCode)): \(message)"
        if let sql { text += " — in statement: \(sql)" }
        if let hint { text += ". \(hint)" }
        return text
    }

    private var hint: String? {
        switch kind {
        case .cannotOpen:
            "Check that the path exists (read-only opens never create a file), is a regular file, "
                + "and that this process may read and write it and its directory"
        case .notADatabase:
            "The file is not a HealthLedger database or is corrupt: restore it from a backup "
                + "or point the node at the right file"
        case .busy:
            "Another connection held the lock too long: retry, and keep write transactions short"
        case .schemaTooNew:
            "The database was written by a newer HealthLedger: run that version or newer, "
                + "or restore a backup made by this one"
        case .migrationHistoryMismatch:
            "Migrations are append-only: restore the registered migrations to their released order"
        case .misuse:
            "This is a bug in the calling code"
        case .constraint, .other:
            nil
        }
    }

    private static func kind(ofPrimaryCode code: Int32) -> Kind {
        switch code {
        case SQLITE_CANTOPEN, SQLITE_PERM: .cannotOpen
        case SQLITE_NOTADB, SQLITE_CORRUPT: .notADatabase
        case SQLITE_CONSTRAINT: .constraint
        case SQLITE_BUSY, SQLITE_LOCKED: .busy
        case SQLITE_MISUSE, SQLITE_RANGE: .misuse
        default: .other
        }
    }
}
