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

/// Lets request threads wait for their transaction's block. The block producer reports each block; waiters
/// wake and look up their transaction. Recent refusals are remembered (bounded) so a waiter can say why.
final class CommitTracker: @unchecked Sendable {
    private let condition = NSCondition()
    private var refusals: [TransactionID: TransactionRejection] = [:]
    private var refusalOrder: [TransactionID] = []
    private var generation: UInt64 = 0
    private var stopped = false
    private static let maxRemembered = 100_000

    /// Called by the block producer with the transactions a block left out, before it removes them from the
    /// mempool.
    func remember(refused: [(TransactionID, TransactionRejection)]) {
        guard !refused.isEmpty else { return }
        condition.withLock {
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

    /// Called by the block producer after each block is durable and its transactions have left the mempool:
    /// wakes the waiters to look again.
    func blockFinished() {
        condition.withLock {
            generation &+= 1
            condition.broadcast()
        }
    }

    func refusal(of id: TransactionID) -> TransactionRejection? { condition.withLock { refusals[id] } }

    /// Calls `status` after every block until it is no longer pending or `timeoutMs` passes.
    func wait(timeoutMs: Int, status: () throws -> TransactionStatus) rethrows -> TransactionStatus {
        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
        var seen = condition.withLock { generation }
        while true {
            let current = try status()
            guard current == .pending else { return current }
            let advanced = condition.withLock { () -> Bool in
                while generation == seen && !stopped {
                    if !condition.wait(until: deadline) { return false }
                }
                seen = generation
                return !stopped
            }
            if !advanced { return try status() }
        }
    }

    /// Wakes every waiter for good (at shutdown): waits answer with the status they have.
    func wakeAll() {
        condition.withLock {
            stopped = true
            generation &+= 1
            condition.broadcast()
        }
    }
}
