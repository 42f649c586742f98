/// Named, ordered, append-only schema migrations, each applied once inside its own transaction.
///
/// Applied migrations are recorded in `hl_migrations` by ordinal and name. A released migration is never
/// edited, renamed or reordered: new schema changes are new migrations registered after the last one.
/// Before applying anything, `migrate` checks the recorded history against the registered list, under the
/// write lock, and refuses a database written by a newer program (`.schemaTooNew`) or with a diverging
/// history (`.migrationHistoryMismatch`), leaving it unchanged.
public struct Migrator {
    private struct Migration {
        let name: String
        let body: (Database) throws -> Void
    }

    private static let createTableSQL = """
        CREATE TABLE IF NOT EXISTS hl_migrations (ordinal INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
        """

    private var migrations: [Migration] = []

    /// Makes a migrator with no migrations.
    public init() {}

    /// Appends a migration. Names are unique and non-empty.
    ///
    /// `body` runs inside the migration's transaction: it must not call ``Database/write(_:)``.
    public mutating func register(_ name: String, _ body: @escaping (Database) throws -> Void) {
        precondition(!name.isEmpty, "a migration needs a name")
        precondition(!migrations.contains { $0.name == name }, "migration '\(name)' is registered twice")
        migrations.append(Migration(name: name, body: body))
    }

    /// Applies, in order, every registered migration the database has not recorded yet.
    ///
    /// - Throws: `.schemaTooNew` or `.migrationHistoryMismatch` (nothing changed), or the error a migration
    ///   threw (that migration rolled back and not recorded; earlier ones stay applied).
    public func migrate(_ database: Database) throws {
        while try database.write({ try applyNextMigration($0) }) {}
    }

    /// The names of the migrations recorded in the database, in the order they were applied.
    public func appliedMigrations(_ database: Database) throws -> [String] {
        let tableExists = try database.queryOne(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'hl_migrations'"
        ) { _ in true }
        guard tableExists == true else { return [] }
        return try database.query("SELECT name FROM hl_migrations ORDER BY ordinal") { $0.text(0) }
    }

    /// Applies the first pending migration, inside the caller's transaction.
    /// - Returns: true when one was applied, false when none is pending.
    private func applyNextMigration(_ database: Database) throws -> Bool {
        try database.execute(Self.createTableSQL)
        let applied = try appliedMigrations(database)
        try checkHistory(applied)
        guard applied.count < migrations.count else { return false }
        let next = migrations[applied.count]
        try next.body(database)
        let record = "INSERT INTO hl_migrations (ordinal, name) VALUES (?, ?)"
        try database.run(record, [.integer(Int64(applied.count)), .text(next.name)])
        return true
    }

    /// Throws when the recorded history is not a prefix of the registered migrations.
    private func checkHistory(_ applied: [String]) throws(SQLiteError) {
        let registered = migrations.map(\.name)
        if let unknown = applied.first(where: { !registered.contains($0) }) {
            throw SQLiteError(
                kind: .schemaTooNew,
                message: "the database records migration '\(unknown)', which this program does not know")
        }
        guard applied.elementsEqual(registered.prefix(applied.count)) else {
            throw SQLiteError(
                kind: .migrationHistoryMismatch,
                message: "the database recorded migrations \(applied), which do not match the registered order "
                    + "\(registered.prefix(applied.count))")
        }
    }
}
