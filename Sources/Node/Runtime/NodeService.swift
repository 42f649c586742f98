import Clinical
import Foundation
import Ledger
import Storage

/// Why a transaction was not admitted. Safe to print; names no content.
public enum AdmissionError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(DecodingError)
    case badSignature
    case refused(TransactionRejection)
    case alreadyPending
    case busy
    case stateUnavailable(String)

    public var description: String {
        switch self {
        case let .malformed(error): return "the transaction does not decode: \(error)"
        case .badSignature: return "the signature does not verify: sign with the signer's key over the exact payload"
        case let .refused(rejection): return "refused: \(rejection)"
        case .alreadyPending: return "this transaction is already waiting to be committed"
        case .busy: return "the node is busy (mempool full): retry in a moment"
        case let .stateUnavailable(detail): return "the node cannot read its state: \(detail)"
        }
    }
}

/// The node's operations, independent of HTTP: admit transactions, wait for their blocks, store records,
/// release them through the access gateway and run the clinical services over them (DESIGN section 6:
/// nothing is released before the access event naming it is committed, and denied attempts are committed
/// too; a service's result only after its `ServiceResult` is committed as well).
public final class NodeService: @unchecked Sendable {
    public let genesis: Genesis
    public let store: ChainStore
    public let vault: RecordVault
    public let mempool: Mempool
    public let metrics: Metrics
    public let log: Log
    public let clock: any Clock
    public let identity: Identity
    /// The organisation this node is a custodian for.
    public let organisation: OrganisationID
    /// The diagnosis and care-plan services, over the shipped models.
    public let clinical: ClinicalServices
    let nodeKey: Ed25519.PrivateKey
    let executor: BlockExecutor
    let tracker = CommitTracker()
    /// Told of the transactions admitted to the mempool, in order, and whether to gossip them to the other
    /// validators (those from clients, not those from peers); set by the consensus engine before the node
    /// serves. A batch's are told in chunks (`admitBatch`), so that they go to each peer in one write.
    var admissionObserver: (@Sendable ([SignedTransaction], _ relay: Bool) -> Void)?

    /// A batch's admitted transactions are told (and gossiped) this many at a time: one write to each peer per
    /// chunk instead of one per transaction (measured: a quarter more committed at saturation,
    /// docs/PERFORMANCE.md), while the first of a chunk waits for at most this many verifications.
    static let relayChunk = 32

    /// Loads the shipped clinical models (`serviceLimits` bound what one diagnose or plan call reads); throws
    /// when the key is no validator's or a model fails its hash.
    public init(genesis: Genesis, store: ChainStore, vault: RecordVault, nodeKey: Ed25519.PrivateKey, mempoolCapacity: Int,
                clock: any Clock, log: Log, metrics: Metrics, serviceLimits: ExtractionLimits = .standard) throws(NodeError) {
        let identity = Identity(publicKey: nodeKey.publicKey)
        guard let validator = genesis.validators.first(where: { $0.key == identity }) else {
            throw .configuration("this node's key (\(identity.text)) is not a validator in the genesis")
        }
        self.genesis = genesis
        self.store = store
        self.vault = vault
        self.nodeKey = nodeKey
        self.identity = identity
        organisation = validator.organisation
        clinical = try ClinicalServices.shipped(limits: serviceLimits)
        mempool = Mempool(capacity: mempoolCapacity)
        self.clock = clock
        self.log = log
        self.metrics = metrics
        executor = BlockExecutor(genesis: genesis)
    }

    // MARK: Transactions

    /// Decodes, verifies and admits a signed transaction. The signature is checked here, once.
    public func admit(encoded bytes: [UInt8]) throws(AdmissionError) -> SignedTransaction {
        let transaction = try Self.decode(bytes)
        try admit(transaction)
        return transaction
    }

    private static func decode(_ bytes: [UInt8]) throws(AdmissionError) -> SignedTransaction {
        guard bytes.count <= Transaction.maxEncodedBytes else {
            throw .malformed(.tooLarge(field: "transaction", limit: Transaction.maxEncodedBytes, actual: bytes.count))
        }
        do {
            return try SignedTransaction(canonicalBytes: bytes)
        } catch {
            throw .malformed(error)
        }
    }

    /// Verifies and admits `transaction`; `relay: false` for one gossiped by another validator (it is not
    /// sent on again), `signatureVerified: true` when the caller has just verified its signature.
    public func admit(_ transaction: SignedTransaction, relay: Bool = true, signatureVerified: Bool = false) throws(AdmissionError) {
        try enterMempool(transaction, signatureVerified: signatureVerified)
        admissionObserver?([transaction], relay)
    }

    /// Decodes, verifies and admits each of `records` (encoded transactions) in order, as `admit(encoded:)`
    /// does one; the admitted ones are told to the observer in chunks of `relayChunk`.
    public func admitBatch(encoded records: [[UInt8]]) -> [Result<SignedTransaction, AdmissionError>] {
        var results: [Result<SignedTransaction, AdmissionError>] = []
        results.reserveCapacity(records.count)
        var admitted: [SignedTransaction] = []
        for bytes in records {
            let result = Result { () throws(AdmissionError) -> SignedTransaction in
                let transaction = try Self.decode(bytes)
                try enterMempool(transaction, signatureVerified: false)
                return transaction
            }
            results.append(result)
            if case let .success(transaction) = result { admitted.append(transaction) }
            if admitted.count == Self.relayChunk {
                admissionObserver?(admitted, true)
                admitted.removeAll(keepingCapacity: true)
            }
        }
        if !admitted.isEmpty { admissionObserver?(admitted, true) }
        return results
    }

    /// Checks `transaction` and adds it to the mempool, without telling the observer.
    private func enterMempool(_ transaction: SignedTransaction, signatureVerified: Bool) throws(AdmissionError) {
        guard signatureVerified || transaction.hasValidSignature else { throw refuse(.badSignature, reason: "bad_signature") }
        let headBeforeCheck = store.headHeight
        do {
            try executor.check(transaction, nowMs: clock.nowMs(), state: store, nextHeight: store.headHeight + 1)
        } catch let rejection as TransactionRejection {
            throw refuse(.refused(rejection), reason: "rule")
        } catch {
            throw refuse(.stateUnavailable(String(describing: error)), reason: "state")
        }
        var headAtAdd = headBeforeCheck
        switch mempool.add(transaction, atAdd: { headAtAdd = store.headHeight }) {
        case .admitted:
            // Committed by a block appended between the check above and the add, whose transactions may have
            // left the mempool before this copy entered it: not admitted a second time. Only when the head
            // moved between the two can there be such a block; one appended after the add (above the head
            // read at the add) may hold this very copy, which is then committed as admitted.
            if headAtAdd != headBeforeCheck, let location = try? store.location(of: transaction.id), location.height <= headAtAdd {
                removeFromMempool([transaction.id])
                throw refuse(.refused(.alreadyCommitted), reason: "rule")
            }
            metrics.increment("healthledger_transactions_admitted_total")
            metrics.set("healthledger_mempool_transactions", Double(mempool.count))
        case .duplicate: throw refuse(.alreadyPending, reason: "duplicate")
        case .full: throw refuse(.busy, reason: "busy")
        }
    }

    /// Removes `ids` from the mempool and wakes the requests waiting for them, which then find each in the
    /// store or among the remembered refusals (so a block is appended, or its refusals remembered, first).
    /// `block`, when they were committed in it, lets waiters be answered by the calling thread.
    func removeFromMempool(_ ids: Set<TransactionID>, committedIn block: Block? = nil) {
        mempool.remove(ids)
        tracker.left(ids, committedIn: block)
    }

    private func refuse(_ error: AdmissionError, reason: String) -> AdmissionError {
        metrics.increment("healthledger_transactions_refused_total", labels: "reason=\"\(reason)\"")
        return error
    }

    /// Where a transaction stands now.
    ///
    /// The mempool is asked first: the block producer appends a block to the store and remembers its refusals
    /// before it removes their transactions from the mempool, so a transaction the mempool no longer holds is
    /// already found in the store or among the refusals. (Asked the other way round, a look-up that reached the
    /// store just before the append and the mempool just after the removal found the transaction nowhere.)
    public func status(of id: TransactionID) throws(NodeError) -> TransactionStatus {
        if mempool.contains(id) { return .pending }
        do {
            if let location = try store.location(of: id) { return .committed(height: location.height, position: location.position) }
        } catch {
            throw .storage(error)
        }
        if let refusal = tracker.refusal(of: id) { return .refused(refusal) }
        return .unknown
    }

    /// Waits up to `timeoutMs` for the transaction to be committed or refused.
    public func waitForCommit(_ id: TransactionID, timeoutMs: Int) throws(NodeError) -> TransactionStatus {
        try waitForCommit(id, timeoutMs: timeoutMs, answerEarly: nil)
    }

    /// As `waitForCommit(_:timeoutMs:)`; `answerEarly`, if given, is called with the committed entry on the
    /// thread that appended the block, before this one wakes: a request can be answered from there
    /// (`EarlyAnswer`). It must not block.
    func waitForCommit(_ id: TransactionID, timeoutMs: Int,
                       answerEarly: ((CommitTracker.CommittedEntry) -> Void)?) throws(NodeError) -> TransactionStatus {
        do {
            return try tracker.wait(for: id, timeoutMs: timeoutMs, early: answerEarly) { try status(of: id) }
        } catch let error as NodeError {
            throw error
        } catch {
            throw .configuration(String(describing: error))
        }
    }

    /// The committed entry of a transaction, when committed.
    public func committedEntry(_ id: TransactionID) throws(NodeError) -> (entry: BlockEntry, height: UInt64, position: Int, blockTimeMs: UInt64)? {
        guard case let .committed(height, position) = try status(of: id) else { return nil }
        do {
            guard let (entry, timeMs) = try store.entry(height: height, position: position) else { return nil }
            return (entry, height, position, timeMs)
        } catch {
            throw .storage(error)
        }
    }

    /// Wakes every waiter; used at shutdown.
    func wakeWaiters() { tracker.wakeAll() }
}
