import CSQLite

extension Database {
    /// Runs `body` in a write transaction: commits when it returns, rolls back when it throws.
    ///
    /// The transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front so it cannot fail with
    /// `.busy` half-way through. Nesting is a programming error and stops the program (`precondition`):
    /// the ledger writes each block in one flat transaction, so savepoints would only hide mistakes.
    /// - Throws: the error `body` threw (after rolling back), or the error from `BEGIN` or `COMMIT`.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        precondition(!isInTransaction, "write() cannot be nested or run inside a transaction opened by hand")
        try execute("BEGIN IMMEDIATE")
        let result: T
        do {
            result = try body(self)
            try execute("COMMIT")
        } catch {
            rollBack()
            throw error
        }
        precondition(!isInTransaction, "the transaction must be over after COMMIT")
        return result
    }

    private func rollBack() {
        // SQLite rolls back by itself after some errors (such as SQLITE_FULL); only an open one needs it.
        guard isInTransaction else { return }
        // The caller's error explains the failure better than a rollback error would, so it is the one thrown;
        // a rollback that fails leaves the transaction open and the next write() stops on its precondition.
        try? execute("ROLLBACK")
    }
}
