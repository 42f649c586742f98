import SQLite
import Testing

@Suite struct StatementTests {
    let directory: TemporaryDirectory
    let database: Database

    init() throws {
        directory = try TemporaryDirectory()
        database = try Database(path: directory.path("ledger.db"), mode: .readWrite)
        try database.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, value ANY) STRICT")
    }

    static let values: [SQLiteValue] = [
        .integer(0), .integer(Int64.min), .integer(Int64.max), .integer(-1),
        .real(0), .real(-1.5), .real(.greatestFiniteMagnitude), .real(.leastNonzeroMagnitude),
        .text(""), .text("plain"), .text("Zoë, 東京, 🩺, עברית"), .text("nul\u{0}inside"),
        .blob([]), .blob([0]), .blob([0, 0, 0]), .blob(Array(0...255)),
        .null,
    ]

    @Test(arguments: values) func valueRoundTrips(_ value: SQLiteValue) throws {
        try database.run("INSERT INTO item (value) VALUES (?)", [value])
        let stored = try database.queryOne("SELECT value FROM item") { $0.value(0) }
        #expect(stored == value)
    }

    @Test func typedGettersReadEveryStorageClass() throws {
        try database.run(
            "INSERT INTO item (id, value) VALUES (1, ?), (2, ?), (3, ?), (4, ?), (5, ?)",
            [.integer(Int64.min), .real(2.5), .text("Zoë 🩺"), .blob([0, 1, 0]), .null])
        let rows = try database.query("SELECT value FROM item ORDER BY id") { row in
            (row.columnCount, row.isNull(0))
        }
        #expect(rows.map(\.0) == [1, 1, 1, 1, 1])
        #expect(rows.map(\.1) == [false, false, false, false, true])
        #expect(try database.queryOne("SELECT value FROM item WHERE id = 1") { $0.int64(0) } == Int64.min)
        #expect(try database.queryOne("SELECT value FROM item WHERE id = 2") { $0.double(0) } == 2.5)
        #expect(try database.queryOne("SELECT value FROM item WHERE id = 3") { $0.text(0) } == "Zoë 🩺")
        #expect(try database.queryOne("SELECT value FROM item WHERE id = 4") { $0.blob(0) } == [0, 1, 0])
    }

    @Test func literalsMakeValues() {
        let values: [SQLiteValue] = [42, 1.5, "text"]
        #expect(values == [.integer(42), .real(1.5), .text("text")])
    }

    @Test func stepReportsRowsThenDone() throws {
        try database.execute("INSERT INTO item (id, value) VALUES (1, 'a'), (2, 'b')")
        let statement = try database.prepare("SELECT value FROM item WHERE id >= ? ORDER BY id")
        try statement.bind([1])
        #expect(try statement.step())
        #expect(statement.row.text(0) == "a")
        #expect(try statement.step())
        #expect(statement.row.text(0) == "b")
        #expect(try statement.step() == false)
        statement.reset()
        #expect(try statement.step())
        #expect(statement.row.text(0) == "a")
    }

    @Test func bindingTheWrongNumberOfArgumentsIsMisuse() throws {
        let statement = try database.prepare("INSERT INTO item (id, value) VALUES (?, ?)")
        #expect { try statement.bind([1]) } throws: { error in (error as? SQLiteError)?.kind == .misuse }
        #expect { try database.run("SELECT ?", []) } throws: { error in (error as? SQLiteError)?.kind == .misuse }
    }

    @Test func prepareRefusesSeveralStatements() throws {
        #expect { try database.prepare("SELECT 1; SELECT 2") } throws: { error in
            (error as? SQLiteError)?.kind == .misuse
        }
        _ = try database.prepare("SELECT 1;")
    }

    @Test func cachedStatementIsReusedResetAndCleared() throws {
        let insertSQL = "INSERT INTO item (id, value) VALUES (?, ?)"
        let first = try database.cachedStatement(insertSQL)
        try first.bind([1, "one"])
        try first.run()
        let second = try database.cachedStatement(insertSQL)
        #expect(first === second)
        // Bindings were cleared on reuse: an unbound parameter is NULL.
        try second.run()
        #expect(try database.queryOne("SELECT count(*) FROM item WHERE id IS NOT NULL AND value IS NULL") {
            $0.int64(0)
        } == 1)
    }

    @Test func cachedStatementsInterleaveInALoop() throws {
        let insertSQL = "INSERT INTO item (id, value) VALUES (?, ?)"
        let countSQL = "SELECT count(*) FROM item"
        for id in 1...50 {
            try database.run(insertSQL, [.integer(Int64(id)), .text("row \(id)")])
            #expect(try database.queryOne(countSQL) { $0.int64(0) } == Int64(id))
            let selected = try database.cachedStatement("SELECT value FROM item WHERE id = ?")
            try selected.bind([.integer(Int64(id))])
            #expect(try selected.step())
            #expect(selected.row.text(0) == "row \(id)")
            // Left part-way on purpose: the next request for this SQL must reset it.
        }
        #expect(try database.queryOne(countSQL) { $0.int64(0) } == 50)
    }

    @Test func sameSQLInsideARowClosureDoesNotDerailTheOuterQuery() throws {
        try database.execute("INSERT INTO item (id, value) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        let sql = "SELECT id FROM item WHERE id >= ? ORDER BY id"
        let pairs = try database.query(sql, [1]) { row in
            let id = row.int64(0)
            let inner = try database.query(sql, [.integer(id)]) { $0.int64(0) }
            return (id, inner.count)
        }
        #expect(pairs.map(\.0) == [1, 2, 3])
        #expect(pairs.map(\.1) == [3, 2, 1])
    }
}
