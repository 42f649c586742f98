import Foundation
import Ledger
import Threads

/// Checks batches of signatures on dedicated threads while the submitting thread goes on decoding and
/// replaying blocks. Ed25519 verification is most of an audit's work and OpenSSL 3 has no batch
/// verification, so spreading it over every core is what makes the verifier fast. Bounded: `submit`
/// waits when `maxQueuedBatches` are pending, so memory stays flat on chains of any length.
final class SignatureWorkers: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[SignatureCheck]] = []
    private var unfinishedBatches = 0
    private var closed = false
    private var failures: [VerificationFailure] = []
    private let maxQueuedBatches: Int
    private var threads: [Thread] = []

    init(threadCount: Int, maxQueuedBatches: Int = 8) {
        precondition(threadCount >= 1, "at least one signature thread")
        self.maxQueuedBatches = maxQueuedBatches
        for index in 0..<threadCount {
            // Each thread keeps the workers alive until it has seen `closed` and left its loop.
            let thread = Thread(named: "audit-verify-\(index)", stackBytes: 1 << 20) { self.work() }
            threads.append(thread)
            thread.start()
        }
    }

    /// The lowest height at which a signature has failed so far.
    var firstFailureHeight: UInt64? {
        condition.withLock { failures.map(\.height).min() }
    }

    func submit(_ batch: [SignatureCheck]) {
        guard !batch.isEmpty else { return }
        condition.withLock {
            precondition(!closed, "submit after finish")
            while queue.count >= maxQueuedBatches { condition.wait() }
            queue.append(batch)
            unfinishedBatches += 1
            condition.broadcast()
        }
    }

    /// Waits for every submitted batch and stops the threads; returns the failure at the lowest height.
    func finish() -> VerificationFailure? {
        condition.withLock {
            closed = true
            condition.broadcast()
            while unfinishedBatches > 0 { condition.wait() }
            return failures.min { $0.height < $1.height }
        }
    }

    private func work() {
        while let batch = nextBatch() {
            let failure = batch.lazy.compactMap { $0.run() }.first
            condition.withLock {
                if let failure { failures.append(failure) }
                unfinishedBatches -= 1
                condition.broadcast()
            }
        }
    }

    private func nextBatch() -> [SignatureCheck]? {
        condition.withLock {
            while queue.isEmpty && !closed { condition.wait() }
            guard !queue.isEmpty else { return nil }
            condition.broadcast()
            return queue.removeFirst()
        }
    }
}
