import Foundation
import SQLite
import Testing

@Suite struct DatabaseTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    @Test func readWriteOpenCreatesFileInWALModeWithForeignKeys() throws {
        let path = directory.path("ledger.db")
        let database = try Database(path: path, mode: .readWrite)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try database.queryOne("PRAGMA journal_mode") { $0.text(0) } == "wal")
        #expect(try database.queryOne("PRAGMA foreign_keys") { $0.int64(0) } == 1)
        #expect(try database.queryOne("PRAGMA synchronous") { $0.int64(0) } == 2)  // FULL
    }

    @Test func synchronousNormalIsApplied() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite, synchronous: .normal)
        #expect(try database.queryOne("PRAGMA synchronous") { $0.int64(0) } == 1)  // NORMAL
    }

    @Test func foreignKeysAreEnforced() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute(
            """
            CREATE TABLE block (height INTEGER PRIMARY KEY);
            CREATE TABLE event (id INTEGER PRIMARY KEY, height INTEGER NOT NULL REFERENCES block(height));
            """)
        #expect { try database.run("INSERT INTO event (height) VALUES (?)", [7]) } throws: { error in
            (error as? SQLiteError)?.kind == .constraint
        }
    }

    @Test func readOnlyConnectionReadsButCannotWrite() throws {
        let path = directory.path("ledger.db")
        let writer = try Database(path: path, mode: .readWrite)
        try writer.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        let reader = try Database(path: path, mode: .readOnly)
        #expect(try reader.queryOne("SELECT x FROM t") { $0.int64(0) } == 1)
        #expect(throws: SQLiteError.self) { try reader.run("INSERT INTO t VALUES (2)") }
    }

    @Test func lastInsertRowIDAndChanges() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
        try database.run("INSERT INTO t (x) VALUES (?)", [10])
        try database.run("INSERT INTO t (x) VALUES (?)", [20])
        #expect(database.lastInsertRowID == 2)
        try database.run("UPDATE t SET x = x + 1")
        #expect(database.changes == 2)
    }

    @Test func checkpointTruncatesTheLog() throws {
        let path = directory.path("ledger.db")
        let database = try Database(path: path, mode: .readWrite)
        try database.execute("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));")
        #expect(try fileSize(path + "-wal") > 0)
        try database.checkpoint()
        #expect(try fileSize(path + "-wal") == 0)
    }

    /// A passive checkpoint from a second connection copies what the writer committed, and the writer's
    /// next transaction starts the log again from its beginning, so the log stops growing.
    @Test func passiveCheckpointFromAnotherConnectionLetsTheLogStartOver() throws {
        let path = directory.path("ledger.db")
        let writer = try Database(path: path, mode: .readWrite)
        let checkpointer = try Database(path: path, mode: .readWrite)
        try writer.execute("CREATE TABLE t (x BLOB)")
        for _ in 0..<5 { try writer.execute("INSERT INTO t VALUES (zeroblob(100000))") }
        let first = try checkpointer.checkpoint(.passive)
        #expect(first.logFrames > 0 && first.copiedFrames == first.logFrames)
        let logBytes = try fileSize(path + "-wal")
        for _ in 0..<5 { try writer.execute("INSERT INTO t VALUES (zeroblob(100000))") }
        #expect(try fileSize(path + "-wal") == logBytes, "the second round of writes reused the log")
        #expect(try writer.queryOne("SELECT COUNT(*) FROM t") { $0.int64(0) } == 10)
    }

    @Test func integrityCheckPassesOnAHealthyDatabase() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE t (x TEXT UNIQUE); INSERT INTO t VALUES ('a'), ('b');")
        #expect(try database.integrityCheck())
    }

    @Test func queryOneReturnsNilWithoutRows() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE t (x INTEGER)")
        #expect(try database.queryOne("SELECT x FROM t") { $0.int64(0) } == nil)
    }

    @Test func walReaderIsNotBlockedByAnOpenWriteTransaction() throws {
        let path = directory.path("ledger.db")
        let writer = try Database(path: path, mode: .readWrite)
        try writer.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        let reader = try Database(path: path, mode: .readWrite)
        try writer.write { database in
            try database.run("INSERT INTO t VALUES (2)")
            // The reader sees the last committed state at once, without waiting for the busy timeout.
            let committed = try reader.query("SELECT x FROM t ORDER BY x") { $0.int64(0) }
            #expect(committed == [1])
        }
        #expect(try reader.query("SELECT x FROM t ORDER BY x") { $0.int64(0) } == [1, 2])
    }

    @Test func insertsOneHundredThousandRowsThroughACachedStatement() throws {
        let database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, kind INTEGER, payload BLOB)")
        let payload = [UInt8](repeating: 0xAB, count: 200)
        let rowCount = 100_000
        let transactionSize = 1_000
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for start in stride(from: 0, to: rowCount, by: transactionSize) {
                try database.write { database in
                    let insert = try database.cachedStatement("INSERT INTO event (id, kind, payload) VALUES (?, ?, ?)")
                    for id in start..<start + transactionSize {
                        try insert.bind([.integer(Int64(id)), .integer(Int64(id % 7)), .blob(payload)])
                        try insert.run()
                    }
                }
            }
        }
        #expect(try database.queryOne("SELECT count(*) FROM event") { $0.int64(0) } == Int64(rowCount))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        // For information only: speed depends on the machine and is never asserted.
        print("SQLiteTests: inserted \(rowCount) rows in \(seconds) s, \(Int(Double(rowCount) / seconds)) rows/s")
    }

    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
    }
}
