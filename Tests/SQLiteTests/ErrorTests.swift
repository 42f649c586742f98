import Foundation
import SQLite
import Testing

@Suite struct ErrorTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    @Test func constraintErrorShowsTheSQLButNeverTheBoundValue() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE patient (name TEXT UNIQUE NOT NULL)")
        let secret = "patient-secret-Jane-Doe-1970"
        let sql = "INSERT INTO patient (name) VALUES (?)"
        try database.run(sql, [.text(secret)])
        let error = try #require(throws: SQLiteError.self) { try database.run(sql, [.text(secret)]) }
        #expect(error.kind == .constraint)
        #expect(error.resultCode == 19)  // SQLITE_CONSTRAINT
        #expect(error.extendedResultCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(error.sql == sql)
        for text in [error.description, String(reflecting: error), String(describing: error), "\(error)"] {
            #expect(text.contains(sql))
            #expect(!text.contains(secret))
            #expect(!text.contains("Jane"))
        }
    }

    @Test func randomBytesAreNotADatabase() throws {
        let path = directory.path("random.db")
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for mode in [Database.Mode.readWrite, .readOnly] {
            let error = try #require(throws: SQLiteError.self) { try Database(path: path, mode: mode) }
            #expect(error.kind == .notADatabase)
            #expect(error.description.contains("not a HealthLedger database or is corrupt"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes))
    }

    @Test func truncatedDatabaseIsRefused() throws {
        let path = directory.path("truncated.db")
        do {
            let database = try Database(path: path, mode: .readWrite)
            try database.execute("CREATE TABLE t (x TEXT)")
            try database.checkpoint()
        }
        // Cut into the 100-byte header: the page size and schema can no longer be read.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(50).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SQLiteError.self) { try Database(path: path, mode: .readWrite) }
        #expect(error.kind == .notADatabase)
    }

    @Test func corruptPagesFailTheIntegrityCheckOrTheOpen() throws {
        let path = directory.path("damaged.db")
        do {
            let database = try Database(path: path, mode: .readWrite)
            try database.execute("CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t(x);")
            try database.write { database in
                for index in 0..<2_000 { try database.run("INSERT INTO t VALUES (?)", [.text("row \(index)")]) }
            }
            try database.checkpoint()
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let pageSize = 4096
        // Overwrite the pages after the schema page with garbage; how SQLite notices depends on which page.
        bytes.replaceSubrange(pageSize..<bytes.count, with: Data(repeating: 0xFF, count: bytes.count - pageSize))
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            let database = try Database(path: path, mode: .readWrite)
            #expect(try database.integrityCheck() == false)
        } catch {
            #expect(error.kind == .notADatabase)
        }
    }

    @Test func directoryCannotBeOpened() throws {
        for mode in [Database.Mode.readWrite, .readOnly] {
            let error = try #require(throws: SQLiteError.self) { try Database(path: directory.url.path, mode: mode) }
            #expect(error.kind == .cannotOpen)
        }
    }

    @Test func readOnlyOpenOfAMissingFileFailsClearlyAndCreatesNothing() throws {
        let path = directory.path("missing.db")
        let error = try #require(throws: SQLiteError.self) { try Database(path: path, mode: .readOnly) }
        #expect(error.kind == .cannotOpen)
        #expect(error.description.contains("read-only opens never create a file"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func syntaxErrorCarriesMessageAndSQL() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        let error = try #require(throws: SQLiteError.self) { try database.prepare("SELEKT 1") }
        #expect(error.kind == .other)
        #expect(error.message.contains("syntax error"))
        #expect(error.sql == "SELEKT 1")
    }
}
