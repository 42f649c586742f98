import Foundation
import Ledger

/// What became of a submitted transaction.
public enum TransactionStatus: Equatable, Sendable {
    case pending
    case committed(height: UInt64, position: Int)
    /// Left out of a block because it could no longer commit (for example it expired while waiting).
    case refused(TransactionRejection)
    case unknown
}

/// Lets request threads wait for their transaction's block. Each waiter registers the id it waits for, and
/// the block producer wakes only the waiters of the transactions that left the mempool (committed or
/// refused): a node with many waiting requests does not wake all of them at every block. Recent refusals are
/// remembered (bounded) so a waiter can say why.
final class CommitTracker: @unchecked Sendable {
    /// One waiting request: signalled when its transaction may have left the mempool.
    private final class Waiter {
        let wake = DispatchSemaphore(value: 0)
        /// Run by the thread that appended the transaction's block, before the waiter wakes (`wait`'s `early`).
        let early: ((CommittedEntry) -> Void)?

        init(early: ((CommittedEntry) -> Void)?) { self.early = early }
    }

    /// A transaction's entry and place in the block that committed it, as the thread that appended it knows.
    struct CommittedEntry {
        let height: UInt64
        let position: Int
        let entry: BlockEntry
    }

    /// At most this many waiters are answered early per block (each costs the thread that appended it a search
    /// of the block for its entry, the answer's encoding and a write); the others are only woken.
    static let maxEarlyAnswers = 16

    private let lock = NSLock()
    private var refusals: [TransactionID: TransactionRejection] = [:]
    private var refusalOrder: [TransactionID] = []
    private var waiters: [TransactionID: [Waiter]] = [:]
    private var stopped = false
    private static let maxRemembered = 100_000

    /// Called by the block producer with the transactions a block left out, before it removes them from the
    /// mempool.
    func remember(refused: [(TransactionID, TransactionRejection)]) {
        guard !refused.isEmpty else { return }
        lock.withLock {
            for (id, reason) in refused {
                refusals[id] = reason
                refusalOrder.append(id)
            }
            if refusalOrder.count > Self.maxRemembered {
                let excess = refusalOrder.count - Self.maxRemembered
                for id in refusalOrder.prefix(excess) { refusals[id] = nil }
                refusalOrder.removeFirst(excess)
            }
        }
    }

    /// Called after `ids` left the mempool (their block is durable, or they were refused and remembered):
    /// wakes the waiters of those transactions to look again. For those committed in `block`, at most
    /// `maxEarlyAnswers` waiters' `early` actions run first, on the calling thread.
    func left(_ ids: Set<TransactionID>, committedIn block: Block? = nil) {
        let leaving = lock.withLock { () -> [(TransactionID, Waiter)] in
            if waiters.count <= ids.count {
                return waiters.filter { ids.contains($0.key) }.flatMap { entry in entry.value.map { (entry.key, $0) } }
            }
            return ids.flatMap { id in (waiters[id] ?? []).map { (id, $0) } }
        }
        if let block {
            for (id, waiter) in leaving.lazy.filter({ $0.1.early != nil }).prefix(Self.maxEarlyAnswers) {
                guard let position = block.entries.firstIndex(where: { $0.transaction.id == id }) else { continue }
                waiter.early?(CommittedEntry(height: block.header.height, position: position, entry: block.entries[position]))
            }
        }
        for (_, waiter) in leaving { waiter.wake.signal() }
    }

    func refusal(of id: TransactionID) -> TransactionRejection? { lock.withLock { refusals[id] } }

    /// Calls `status` until it is no longer pending or `timeoutMs` passes: first at once, then each time
    /// `id` leaves the mempool. `early`, if given, runs on the thread that appended `id`'s block, before this
    /// one wakes (to answer sooner; it must not block).
    func wait(for id: TransactionID, timeoutMs: Int, early: ((CommittedEntry) -> Void)? = nil,
              status: () throws -> TransactionStatus) rethrows -> TransactionStatus {
        let deadline = DispatchTime.now() + .milliseconds(max(0, timeoutMs))
        let waiter = Waiter(early: early)
        let registered = lock.withLock { () -> Bool in
            guard !stopped else { return false }
            waiters[id, default: []].append(waiter)
            return true
        }
        defer {
            lock.withLock {
                waiters[id]?.removeAll { $0 === waiter }
                if waiters[id]?.isEmpty == true { waiters[id] = nil }
            }
        }
        while true {
            let current = try status()
            guard current == .pending, registered, waiter.wake.wait(timeout: deadline) == .success,
                !lock.withLock({ stopped })
            else { return current == .pending ? try status() : current }
        }
    }

    /// Wakes every waiter for good (at shutdown): waits answer with the status they have.
    func wakeAll() {
        lock.withLock {
            stopped = true
            for waiter in waiters.values.joined() { waiter.wake.signal() }
        }
    }
}
