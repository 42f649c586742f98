/// # SQLite
///
/// The one place HealthLedger touches the sqlite3 C API. Above it, code sees `Database`, `Statement`,
/// typed `SQLiteError`s and closures for transactions, never a C pointer.
///
/// - ``Database`` owns one connection. It is not `Sendable`: its owner confines it to one thread or queue.
///   Read-write connections run in WAL mode, so readers on other connections are never blocked by a writer.
/// - ``Statement`` owns one prepared statement; ``Database/cachedStatement(_:)`` keeps hot statements
///   prepared for the ledger's bulk inserts.
/// - ``Database/write(_:)`` is a transaction as a closure: commit on return, roll back on throw.
/// - ``Migrator`` applies named, append-only schema migrations once each and refuses databases written
///   by a newer program.
/// - ``SQLiteError`` carries result codes, SQLite's message and the SQL text, never bound values,
///   because those may hold personal health data.
