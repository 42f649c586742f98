import SQLite
import Testing

@Suite struct TransactionTests {
    struct Abort: Error {}

    let directory: TemporaryDirectory
    let database: Database

    init() throws {
        directory = try TemporaryDirectory()
        database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    }

    @Test func commitsWhenTheBodyReturns() throws {
        let result = try database.write { database in
            try database.run("INSERT INTO t VALUES (?)", [1])
            #expect(database.isInTransaction)
            return "done"
        }
        #expect(result == "done")
        #expect(!database.isInTransaction)
        let other = try Database(path: directory.path("ledger.db"), mode: .readOnly)
        #expect(try other.query("SELECT x FROM t") { $0.int64(0) } == [1])
    }

    @Test func rollsBackAndRethrowsTheBodysError() throws {
        #expect(throws: Abort.self) {
            try database.write { database in
                try database.run("INSERT INTO t VALUES (?)", [1])
                throw Abort()
            }
        }
        #expect(!database.isInTransaction)
        #expect(try database.query("SELECT x FROM t") { $0.int64(0) } == [])
    }

    @Test func rollsBackWhenAStatementFails() throws {
        #expect { try database.write { database in
            try database.run("INSERT INTO t VALUES (?)", [1])
            try database.run("INSERT INTO t VALUES (?)", [1])
        } } throws: { error in (error as? SQLiteError)?.kind == .constraint }
        #expect(try database.query("SELECT x FROM t") { $0.int64(0) } == [])
    }

    @Test func writesAfterARollbackSucceed() throws {
        _ = try? database.write { _ in throw Abort() }
        try database.write { database in try database.run("INSERT INTO t VALUES (?)", [2]) }
        #expect(try database.query("SELECT x FROM t") { $0.int64(0) } == [2])
    }
}
