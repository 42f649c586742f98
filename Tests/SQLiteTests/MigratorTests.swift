import SQLite
import Testing

@Suite struct MigratorTests {
    struct Refused: Error {}

    let directory: TemporaryDirectory
    let path: String

    init() throws {
        directory = try TemporaryDirectory()
        path = directory.path("ledger.db")
    }

    static func version1() -> Migrator {
        var migrator = Migrator()
        migrator.register("create block") { try $0.execute("CREATE TABLE block (height INTEGER PRIMARY KEY)") }
        migrator.register("create event") {
            try $0.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, height INTEGER REFERENCES block(height))")
        }
        return migrator
    }

    @Test func appliesEachMigrationOnceInOrder() throws {
        let database = try Database(path: path, mode: .readWrite)
        var runs = 0
        var migrator = Self.version1()
        migrator.register("count runs") { _ in runs += 1 }
        try migrator.migrate(database)
        try migrator.migrate(database)
        #expect(runs == 1)
        #expect(try migrator.appliedMigrations(database) == ["create block", "create event", "count runs"])
    }

    @Test func appliesOnlyNewMigrationsAfterAnUpgrade() throws {
        let database = try Database(path: path, mode: .readWrite)
        try Self.version1().migrate(database)
        var version2 = Self.version1()
        version2.register("index event height") { try $0.execute("CREATE INDEX event_height ON event(height)") }
        try version2.migrate(database)
        #expect(try version2.appliedMigrations(database).last == "index event height")
    }

    @Test func aFailingMigrationRollsBackAndIsNotRecorded() throws {
        let database = try Database(path: path, mode: .readWrite)
        var migrator = Self.version1()
        migrator.register("half done") { database in
            try database.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY)")
            throw Refused()
        }
        #expect(throws: Refused.self) { try migrator.migrate(database) }
        #expect(try migrator.appliedMigrations(database) == ["create block", "create event"])
        let auditTables = try database.query("SELECT name FROM sqlite_schema WHERE name = 'audit'") { $0.text(0) }
        #expect(auditTables.isEmpty)
    }

    @Test func refusesADatabaseFromANewerProgramAndLeavesItUnchanged() throws {
        let database = try Database(path: path, mode: .readWrite)
        var newer = Self.version1()
        newer.register("from the future") { try $0.execute("CREATE TABLE future (x INTEGER)") }
        try newer.migrate(database)
        let schemaBefore = try schema(database)

        var older = Self.version1()
        var ranOlderMigration = false
        older.register("only in the old program") { _ in ranOlderMigration = true }
        #expect { try older.migrate(database) } throws: { error in
            let error = error as? SQLiteError
            return error?.kind == .schemaTooNew && error?.description.contains("from the future") == true
        }
        #expect(!ranOlderMigration)
        #expect(try schema(database) == schemaBefore)
        #expect(try older.appliedMigrations(database) == ["create block", "create event", "from the future"])
    }

    @Test func refusesAReorderedHistory() throws {
        let database = try Database(path: path, mode: .readWrite)
        try Self.version1().migrate(database)
        var reordered = Migrator()
        reordered.register("create event") { _ in }
        reordered.register("create block") { _ in }
        #expect { try reordered.migrate(database) } throws: { error in
            (error as? SQLiteError)?.kind == .migrationHistoryMismatch
        }
    }

    @Test func appliedMigrationsIsEmptyOnAFreshDatabase() throws {
        let database = try Database(path: path, mode: .readWrite)
        #expect(try Self.version1().appliedMigrations(database) == [])
    }

    private func schema(_ database: Database) throws -> [String] {
        try database.query("SELECT sql FROM sqlite_schema ORDER BY name") { $0.text(0) }
    }
}
