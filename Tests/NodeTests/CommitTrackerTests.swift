import Crypto
import Foundation
import Ledger
import Testing
@testable import Node

/// Waiting requests are woken only when their own transaction leaves the mempool, never lose that wake-up
/// (even when it comes between their look-up and their wait), and all end at shutdown.
@Suite struct CommitTrackerTests {
    private func id(_ byte: UInt8) -> TransactionID { TransactionID(digest: SHA256.hash([byte])) }

    /// A status the test sets, counting how often a waiter looks.
    private final class Status: @unchecked Sendable {
        private let lock = NSLock()
        private var current = TransactionStatus.pending
        private var looks = 0
        var value: TransactionStatus {
            get { lock.withLock { current } }
            set { lock.withLock { current = newValue } }
        }
        var lookCount: Int { lock.withLock { looks } }
        func look() -> TransactionStatus { lock.withLock { looks += 1; return current } }
    }

    /// Starts a waiter for `id` on its own thread; the returned semaphore is signalled with its answer stored.
    private func startWaiting(_ tracker: CommitTracker, for id: TransactionID, status: Status, timeoutMs: Int = 30_000)
        -> (done: DispatchSemaphore, answer: () -> TransactionStatus?) {
        let done = DispatchSemaphore(value: 0)
        let result = Status()
        result.value = .unknown
        Thread.detachNewThread {
            result.value = tracker.wait(for: id, timeoutMs: timeoutMs) { status.look() }
            done.signal()
        }
        return (done, { result.value })
    }

    private func waitUntil(_ condition: () -> Bool) {
        let deadline = Date(timeIntervalSinceNow: 10)
        while !condition() && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
    }

    @Test func aWaiterWakesOnlyForItsOwnTransaction() {
        let tracker = CommitTracker()
        let status = Status()
        let waiting = startWaiting(tracker, for: id(1), status: status)
        waitUntil { status.lookCount == 1 }
        for other in 2...50 { tracker.left([id(UInt8(other))]) }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(status.lookCount == 1, "blocks of other transactions do not wake it")
        status.value = .committed(height: 3, position: 0)
        tracker.left([id(7), id(1)])
        #expect(waiting.done.wait(timeout: .now() + 10) == .success)
        #expect(waiting.answer() == .committed(height: 3, position: 0))
    }

    @Test func aWakeBetweenTheLookUpAndTheWaitIsNotLost() {
        let tracker = CommitTracker()
        let status = Status()
        // The block leaves right after the waiter's first look-up, before it sleeps: its answer must come at
        // once, not at the timeout.
        let waiting = startWaiting(tracker, for: id(1), status: status, timeoutMs: 60_000)
        waitUntil { status.lookCount == 1 }
        status.value = .refused(.alreadyCommitted)
        tracker.left([id(1)])
        #expect(waiting.done.wait(timeout: .now() + 10) == .success)
        #expect(waiting.answer() == .refused(.alreadyCommitted))
    }

    @Test func aPendingWaitEndsAtItsTimeoutAndAtShutdown() {
        let tracker = CommitTracker()
        let status = Status()
        let timed = startWaiting(tracker, for: id(1), status: status, timeoutMs: 50)
        #expect(timed.done.wait(timeout: .now() + 10) == .success)
        #expect(timed.answer() == .pending)
        let waiting = (0..<3).map { startWaiting(tracker, for: id(UInt8($0)), status: status) }
        waitUntil { status.lookCount >= 5 }
        tracker.wakeAll()
        for waiter in waiting {
            #expect(waiter.done.wait(timeout: .now() + 10) == .success)
            #expect(waiter.answer() == .pending)
        }
        // After shutdown a new wait looks once and returns.
        #expect(tracker.wait(for: id(9), timeoutMs: 60_000) { status.look() } == .pending)
    }
}
