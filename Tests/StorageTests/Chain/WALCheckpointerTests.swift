import Foundation
import Testing
import Ledger
import SQLite
import TestSupport

@testable import Storage

@Suite struct WALCheckpointerTests {
    /// The chain store's log is copied into the database file by the checkpointer's thread, after appends:
    /// another connection then finds nothing left to copy, and the log starts over after each copy instead
    /// of growing with the chain (without the checkpointer it would hold all three rounds of blocks).
    @Test func appendsAreCopiedIntoTheDatabaseFileInTheBackground() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, _) = generatedChain(seed: 41, blocks: 60, eventsPerBlock: 9)
        let path = scratch.file("ledger.sqlite")
        let store = try ChainStore(path: path, genesis: genesis)
        let executor = BlockExecutor(genesis: genesis)
        var logBytes: [Int] = []
        for round in 0..<3 {
            let checkpointsBefore = store.checkpointer.checkpointCount
            for block in blocks[(round * 20)..<((round + 1) * 20)] {
                try store.append(block, changes: try executor.execute(block.block, state: store))
            }
            let deadline = Date(timeIntervalSinceNow: 10)
            while store.checkpointer.checkpointCount == checkpointsBefore, Date() < deadline { usleep(20_000) }
            #expect(store.checkpointer.checkpointCount > checkpointsBefore, "round \(round) was checkpointed")
            logBytes.append(try fileSize(path + "-wal"))
        }
        let left = try Database(path: path, mode: .readWrite).checkpoint(.passive)
        #expect(left.copiedFrames == left.logFrames, "nothing left to copy: \(left)")
        #expect(logBytes[2] < 2 * logBytes[0], "the log started over after each copy: \(logBytes) bytes")
        #expect(try store.block(at: 60)?.height == 60)
    }

    /// Stopping waits for the thread; a checkpointer with nothing committed never checkpoints.
    @Test func anIdleCheckpointerDoesNothingAndStops() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("plain.sqlite")
        try Database(path: path, mode: .readWrite).execute("CREATE TABLE t (x INTEGER)")
        let checkpointer = try WALCheckpointer(path: path, intervalMs: 10)
        usleep(100_000)
        checkpointer.stop()
        #expect(checkpointer.checkpointCount == 0)
    }

    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
    }
}
