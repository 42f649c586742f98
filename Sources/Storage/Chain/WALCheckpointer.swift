import Foundation
import SQLite
import Threads

/// Copies the chain store's write-ahead log into its database file from a thread and connection of its own,
/// a little at a time, so that no append waits for a checkpoint.
///
/// Left to SQLite, the writer copies the whole log when it reaches `wal_autocheckpoint` pages, inside the
/// commit of whichever block crosses it. Measured in a four-validator consortium on one disk: at 64 MiB of
/// log that append took 95–190 ms, at every validator at the same height (they write the same chain), and
/// set the commit latency's p99 (docs/PERFORMANCE.md). A passive checkpoint `intervalMs` after a commit
/// (and no more often) copies only the pages written since the last one, without blocking the writer or the readers;
/// the writer then starts the log over, so its own automatic checkpoint stays a fallback that a stalled
/// checkpointer (a reader holding an old snapshot, a failing disk) would still reach.
final class WALCheckpointer: @unchecked Sendable {
    private let database: Database
    private let intervalMs: Int
    private let condition = NSCondition()
    private var committedSinceCheckpoint = false
    private var stopping = false
    private var running = true
    private var checkpoints = 0

    /// Opens a connection to the database at `path` and starts the thread.
    init(path: String, intervalMs: Int) throws {
        precondition(intervalMs > 0, "a checkpoint interval must be positive")
        database = try Database(path: path, mode: .readWrite, synchronous: .full)
        self.intervalMs = intervalMs
        Thread(named: "wal-checkpoint", stackBytes: 1 << 20) { [self] in run() }.start()
    }

    /// A transaction was committed to the log: copied within `intervalMs`.
    func noteCommit() {
        condition.withLock {
            committedSinceCheckpoint = true
            condition.broadcast()
        }
    }

    /// How many checkpoints ran (each after a commit).
    var checkpointCount: Int { condition.withLock { checkpoints } }

    /// Stops the thread after the checkpoint in progress, if any, and waits for it to end.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
            while running { condition.wait() }
        }
    }

    private func run() {
        while waitForCommits() {
            // Failures leave the frames in the log, where the next checkpoint or the writer's fallback finds them.
            _ = try? database.checkpoint(.passive)
            condition.withLock { checkpoints += 1 }
        }
        condition.withLock {
            running = false
            condition.broadcast()
        }
    }

    /// Sleeps until a commit is noted, then one interval more (the commits meanwhile are copied with it);
    /// false once stopping. An idle store's thread never wakes.
    private func waitForCommits() -> Bool {
        condition.withLock {
            while !stopping, !committedSinceCheckpoint { condition.wait() }
            let deadline = Date(timeIntervalSinceNow: Double(intervalMs) / 1000)
            while !stopping, condition.wait(until: deadline) {}
            committedSinceCheckpoint = false
            return !stopping
        }
    }
}
