/// # SQLite
///
/// The one place HealthLedger touches the sqlite3 C API. Above it, code sees `Database`, `Statement`,
/// typed `SQLiteError`s and closures for transactions, never a C pointer.
