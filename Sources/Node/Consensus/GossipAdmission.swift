import Foundation
import Ledger
import Threads

/// Admits transactions gossiped by other validators on threads of its own, so that verifying their
/// signatures (the costliest work a validator does) never holds up the consensus messages that arrive on
/// the same peer link behind them. Measured before this existed: votes and proposals waited behind the
/// verification of thousands of gossiped transactions, and heights took seconds instead of milliseconds.
///
/// Bounded: at most `capacity` transactions wait; beyond, new ones are dropped and counted (the validator
/// that gossiped one still proposes it, and this node then verifies it when the proposal arrives).
final class GossipAdmission: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [SignedTransaction] = []
    private var head = 0
    private var stopped = false
    private var running = 0
    let capacity: Int
    private let admit: @Sendable (SignedTransaction) -> Void
    /// The workers' nice value: below consensus and request threads when the CPU is short, so a block is
    /// decided first and the next block's transactions verified after (the proposal verifies any that a
    /// worker has not reached yet).
    static let niceness: Int32 = 10

    /// `admit` verifies and admits one transaction; it runs on one of the worker threads.
    init(capacity: Int = 20_000, admit: @escaping @Sendable (SignedTransaction) -> Void) {
        precondition(capacity > 0, "gossip admission needs room")
        self.capacity = capacity
        self.admit = admit
    }

    /// Starts `threads` workers.
    func start(threads: Int) {
        for number in 0..<threads {
            let thread = Thread(named: "gossip-\(number)", stackBytes: 1 << 20) { [self] in
                // Bulk work at a lower priority than consensus and client requests (on Linux, who 0 is this thread).
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
                while let transaction = next() { admit(transaction) }
                condition.withLock {
                    running -= 1
                    condition.broadcast()
                }
            }
            condition.withLock { running += 1 }
            thread.start()
        }
    }

    /// Queues `transaction`; false when the queue is full (dropped).
    func enqueue(_ transaction: SignedTransaction) -> Bool {
        condition.withLock {
            guard !stopped, queue.count - head < capacity else { return false }
            queue.append(transaction)
            condition.signal()
            return true
        }
    }

    /// Transactions waiting.
    var waiting: Int { condition.withLock { queue.count - head } }

    /// Admits up to `limit` of the waiting transactions now, oldest first, on the calling thread and the
    /// system's worker threads; returns how many. A proposer calls it just before building a block, so the
    /// block takes what reached this node before it was built, not only what the low-priority workers
    /// reached (measured: about 0.7 blocks were built between a transaction's arrival and its block).
    @discardableResult
    func admitWaiting(limit: Int) -> Int {
        let taken = condition.withLock { take(limit) }
        DispatchQueue.concurrentPerform(iterations: taken.count) { admit(taken[$0]) }
        return taken.count
    }

    /// Stops the workers after the transaction each is admitting; what waits is dropped.
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
            while running > 0 { condition.wait() }
        }
    }

    private func next() -> SignedTransaction? {
        condition.withLock {
            while !stopped && head == queue.count { condition.wait() }
            guard !stopped else { return nil }
            return take(1)[0]
        }
    }

    /// Removes and returns up to `limit` transactions from the front of the queue (the lock held).
    private func take(_ limit: Int) -> [SignedTransaction] {
        let end = min(queue.count, head + max(0, limit))
        let taken = Array(queue[head..<end])
        head = end
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return taken
    }
}
