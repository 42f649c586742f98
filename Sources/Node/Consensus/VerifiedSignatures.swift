import Foundation
import Ledger

/// Transactions whose signature this node has verified, so that each is verified once per node (at
/// admission, or when it first arrives in a proposal or a synced block) rather than again when it is
/// proposed, checked and committed (DESIGN section 11: Ed25519 verification is the ceiling).
///
/// Keyed by transaction id *and* signature: the id covers only the signed payload, so a block carrying a
/// known payload with different signature bytes is verified afresh, never waved through. Bounded: the
/// oldest entries are forgotten first (they are committed long ago, and at worst verified again).
final class VerifiedSignatures: @unchecked Sendable {
    private let lock = NSLock()
    private var signatures: [TransactionID: [UInt8]] = [:]
    private var order: [TransactionID] = []
    private var orderStart = 0
    let capacity: Int

    init(capacity: Int = 200_000) {
        precondition(capacity > 0, "the verified-signature cache needs room")
        self.capacity = capacity
    }

    /// Remembers that `transaction`'s signature verified.
    func insert(_ transaction: SignedTransaction) {
        lock.withLock {
            if signatures.updateValue(transaction.signature, forKey: transaction.id) == nil { order.append(transaction.id) }
            while order.count - orderStart > capacity {
                signatures[order[orderStart]] = nil
                orderStart += 1
            }
            if orderStart >= 4_096 && orderStart * 2 >= order.count {
                order.removeFirst(orderStart)
                orderStart = 0
            }
        }
    }

    /// True when exactly this transaction (payload and signature) was verified before.
    func contains(_ transaction: SignedTransaction) -> Bool {
        lock.withLock { signatures[transaction.id] == transaction.signature }
    }

    /// Verifies `transaction` unless it was verified before; remembers it when valid.
    func verify(_ transaction: SignedTransaction) -> Bool {
        if contains(transaction) { return true }
        guard transaction.hasValidSignature else { return false }
        insert(transaction)
        return true
    }

    /// A look-up for `ProposalValidation` and sync over `entries`: true for an id whose entry in `entries`
    /// carries a signature verified before. (Duplicate ids make the block invalid anyway.)
    func lookup(for entries: [BlockEntry]) -> (TransactionID) -> Bool {
        var verified: Set<TransactionID> = []
        for entry in entries where contains(entry.transaction) { verified.insert(entry.transaction.id) }
        return { verified.contains($0) }
    }
}
