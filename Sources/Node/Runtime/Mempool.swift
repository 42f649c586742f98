import Foundation
import Ledger

/// Transactions admitted but not yet committed, in arrival order. Bounded: when full, admission answers
/// "busy" instead of growing. Signatures are checked once, at admission; blocks built from the mempool are
/// not re-verified.
public final class Mempool: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [SignedTransaction] = []
    private var ids: Set<TransactionID> = []
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "mempool capacity must be positive")
        self.capacity = capacity
    }

    public enum AdmissionResult: Equatable, Sendable {
        case admitted
        case duplicate
        case full
    }

    public var count: Int { condition.withLock { queue.count } }

    public func contains(_ id: TransactionID) -> Bool { condition.withLock { ids.contains(id) } }

    /// Adds `transaction` unless it is already waiting or the mempool is full. `atAdd` runs under the
    /// mempool's lock as it is added: the node reads the chain's head there, since a block's transactions
    /// leave the mempool (under this lock) only after the block is appended.
    public func add(_ transaction: SignedTransaction, atAdd: () -> Void = {}) -> AdmissionResult {
        condition.withLock {
            guard !ids.contains(transaction.id) else { return .duplicate }
            guard queue.count < capacity else { return .full }
            atAdd()
            queue.append(transaction)
            ids.insert(transaction.id)
            condition.broadcast()
            return .admitted
        }
    }

    /// The oldest `limit` transactions, without removing them.
    public func peek(_ limit: Int) -> [SignedTransaction] { condition.withLock { Array(queue.prefix(limit)) } }

    /// Removes the transactions with these ids (committed or refused by a block).
    public func remove(_ removed: Set<TransactionID>) {
        guard !removed.isEmpty else { return }
        condition.withLock {
            queue.removeAll { removed.contains($0.id) }
            ids.subtract(removed)
        }
    }

    /// Waits until at least one transaction is waiting, or `timeoutMs` passes; true when one is.
    public func waitForTransactions(timeoutMs: Int) -> Bool {
        condition.withLock {
            let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
            while queue.isEmpty {
                if !condition.wait(until: deadline) { return !queue.isEmpty }
            }
            return true
        }
    }

    /// Wakes any waiter (used at shutdown).
    public func wakeAll() { condition.withLock { condition.broadcast() } }
}
