import Foundation
import Ledger
import Storage

/// Why the gateway refused a record operation. Safe to print: it names rules and ids, never content.
public enum GatewayError: Error, CustomStringConvertible {
    case malformed(String)
    case admission(AdmissionError)
    case badSignature
    case wrongChain(ChainID)
    case notCustodian(OrganisationID)
    case unsupportedAction(AccessAction)
    case stale
    case replayed
    case resourceHashMismatch
    case authorNotPermitted
    case invalidResource(VaultError)
    case notCommitted(TransactionStatus)
    case denied(DenialReason, transaction: TransactionID, height: UInt64)
    case vault(VaultError)
    case node(NodeError)

    public var description: String {
        switch self {
        case let .malformed(detail): return "malformed request: \(detail)"
        case let .admission(error): return error.description
        case .badSignature: return "the request's signature does not verify"
        case let .wrongChain(chain): return "the request was signed for chain \(chain), not this node's"
        case let .notCustodian(organisation): return "this node does not hold records of \(organisation): send the request to that organisation's node"
        case let .unsupportedAction(action):
            return "the request's action is \(action), which this endpoint does not serve: send it to \(NodeService.route(serving: action))"
        case .stale: return "the request is too old or from the future: sign a new one (check the clock)"
        case .replayed: return "this signed request was already used: sign a new one"
        case .resourceHashMismatch: return "the resource does not match the hash the author signed"
        case .authorNotPermitted: return "the author must be the patient or a practitioner enrolled with this organisation"
        case let .invalidResource(error): return error.description
        case let .notCommitted(status): return "the event was not committed (\(status)); nothing was released"
        case let .denied(reason, _, _): return "access denied: \(reason)"
        case let .vault(error): return error.description
        case let .node(error): return error.description
        }
    }
}

/// A record released by the gateway.
public struct ReleasedRecord: Sendable {
    public let id: RecordID
    public let type: RecordType
    /// The normalised FHIR JSON.
    public let resource: [UInt8]
    /// Opens the on-chain commitment: SHA-256(salt || resource).
    public let salt: [UInt8]
}

/// The result of an allowed access.
public struct AccessRelease: Sendable {
    public let transaction: TransactionID
    public let height: UInt64
    public let position: Int
    public let grant: GrantID?
    public let records: [ReleasedRecord]
}

/// The result of storing a record.
public struct StoredRecord: Sendable {
    public let receipt: VaultReceipt
    public let transaction: TransactionID
    public let status: TransactionStatus
}

extension NodeService {
    /// The largest signed request accepted (the encoded submission or access transaction).
    static let maxRequestBytes = 4 * 1024

    /// Stores a record sent with its author's signed submission: checks the request, seals the record in the
    /// vault, commits `RegisterRecord` signed by this node, and waits up to `waitMs` for the block.
    public func storeRecord(submission bytes: [UInt8], resource: [UInt8], waitMs: Int) throws(GatewayError) -> StoredRecord {
        let signed = try decodeSubmission(bytes)
        let submission = signed.submission
        try checkSubmission(signed, resource: resource)
        let receipt: VaultReceipt
        do {
            receipt = try vault.put(resource: resource, patient: submission.patient, custodian: organisation)
        } catch {
            if case .invalidResource = error { throw .invalidResource(error) }
            throw .vault(error)
        }
        // Marked used only once the resource is known valid, so a rejected resource can be corrected and
        // sent again under the same signature; a replay of a used request leaves nothing behind.
        do {
            guard try store.consumeRequest(signed.id, expiresAtMs: submission.createdAtMs + genesis.consensus.transactionMaxAgeMs
                                           + genesis.consensus.transactionMaxFutureMs, nowMs: clock.nowMs())
            else { throw GatewayError.replayed }
        } catch {
            try? vault.erase(receipt.record)
            if let error = error as? GatewayError { throw error }
            throw .node(.storage(.wrap(error)))
        }
        let register = Transaction(
            chainID: genesis.chainID, signer: identity, nonce: SecureRandom.bytes(count: Transaction.nonceByteCount), createdAtMs: clock.nowMs(),
            body: .registerRecord(RegisterRecord(record: receipt.record, patient: submission.patient, custodian: organisation,
                                                 type: receipt.type, commitment: receipt.commitment, author: submission.author))
        ).signed(with: nodeKey)
        do {
            try admit(register)
        } catch {
            try? vault.erase(receipt.record)
            throw .admission(error)
        }
        let status: TransactionStatus
        do {
            status = try waitForCommit(register.id, timeoutMs: waitMs)
        } catch {
            throw .node(error)
        }
        if case .refused = status { try? vault.erase(receipt.record) }
        if case .committed = status {
            metrics.increment("healthledger_records_stored_total")
            log.info("record.stored", ["record": receipt.record.hex, "type": receipt.type.value, "transaction": register.id.hex])
        }
        return StoredRecord(receipt: receipt, transaction: register.id, status: status)
    }

    private func decodeSubmission(_ bytes: [UInt8]) throws(GatewayError) -> SignedRecordSubmission {
        guard bytes.count <= Self.maxRequestBytes else { throw .malformed("the submission is larger than \(Self.maxRequestBytes) bytes") }
        do {
            return try SignedRecordSubmission(canonicalBytes: bytes)
        } catch {
            throw .malformed("the submission does not decode: \(error)")
        }
    }

    private func checkSubmission(_ signed: SignedRecordSubmission, resource: [UInt8]) throws(GatewayError) {
        let submission = signed.submission
        guard signed.hasValidSignature else { throw .badSignature }
        guard submission.chainID == genesis.chainID else { throw .wrongChain(submission.chainID) }
        guard submission.custodian == organisation else { throw .notCustodian(submission.custodian) }
        guard isFresh(createdAtMs: submission.createdAtMs) else { throw .stale }
        guard SHA256.hash(resource) == submission.resourceHash else { throw .resourceHashMismatch }
        let enrolledHere: Bool
        do {
            enrolledHere = try store.enrolment(of: submission.author)?.organisation == organisation
        } catch {
            throw .node(.storage(.wrap(error)))
        }
        guard submission.author == submission.patient || enrolledHere else { throw .authorNotPermitted }
    }

    private func isFresh(createdAtMs: UInt64) -> Bool {
        let now = clock.nowMs()
        let consensus = genesis.consensus
        return createdAtMs <= now ? now - createdAtMs <= consensus.transactionMaxAgeMs : createdAtMs - now <= consensus.transactionMaxFutureMs
    }

    /// Serves a signed `RecordAccess` read request: commits it (allowed or denied) and, only when the committed
    /// outcome allows it, releases the records from the vault.
    public func access(encoded bytes: [UInt8], waitMs: Int) throws(GatewayError) -> AccessRelease {
        let (transaction, request) = try decodeAccess(bytes, serving: .read)
        let access = try commitAccess(transaction, request, waitMs: waitMs)
        let records = try readRecords(access.recordIDs)
        log.info("access.released", ["transaction": transaction.id.hex, "height": access.height, "records": records.count])
        return AccessRelease(transaction: transaction.id, height: access.height, position: access.position, grant: access.grant, records: records)
    }

    /// The route that serves `action`: reads at `/v1/access`, the clinical services at their own routes.
    static func route(serving action: AccessAction) -> String {
        switch action {
        case .read: return "POST /v1/access"
        case .diagnose: return "POST /v1/diagnose"
        case .plan: return "POST /v1/plan"
        }
    }

    /// Decodes a signed `RecordAccess` for this custodian and `action`. Nothing is admitted: a request with
    /// another action is refused here, before it could be committed.
    func decodeAccess(_ bytes: [UInt8], serving action: AccessAction) throws(GatewayError) -> (SignedTransaction, RecordAccess) {
        guard bytes.count <= Transaction.maxEncodedBytes else { throw .malformed("the request is too large") }
        let transaction: SignedTransaction
        do {
            transaction = try SignedTransaction(canonicalBytes: bytes)
        } catch {
            throw .admission(.malformed(error))
        }
        guard case let .recordAccess(request) = transaction.transaction.body else {
            throw .malformed("expected a RecordAccess transaction, got \(transaction.transaction.kind)")
        }
        guard request.custodian == organisation else { throw .notCustodian(request.custodian) }
        guard request.action == action else { throw .unsupportedAction(request.action) }
        return (transaction, request)
    }

    /// Admits the access request and waits for its block. Returns the committed outcome when it allows the
    /// access; a committed denial is logged and thrown (`denied`), and anything that kept the request from
    /// being committed is thrown too: nothing may be released then.
    func commitAccess(_ transaction: SignedTransaction, _ request: RecordAccess, waitMs: Int) throws(GatewayError) -> CommittedAccess {
        do {
            try admit(transaction)
        } catch {
            throw .admission(error)
        }
        let committed = try waitForCommittedEntry(transaction.id, waitMs: waitMs)
        switch committed.entry.outcome {
        case let .allowed(grant, recordIDs)?:
            return CommittedAccess(transaction: transaction.id, request: request, height: committed.height, position: committed.position,
                                   blockTimeMs: committed.blockTimeMs, grant: grant, recordIDs: recordIDs)
        case let .denied(reason)?:
            log.info("access.denied", ["transaction": transaction.id.hex, "height": committed.height, "action": request.action.name,
                                       "reason": LedgerJSON.reasonCode(reason)])
            throw .denied(reason, transaction: transaction.id, height: committed.height)
        case nil:
            throw .malformed("the committed entry has no access outcome")
        }
    }

    /// Waits up to `waitMs` for the transaction's block and returns its committed entry.
    func waitForCommittedEntry(_ id: TransactionID, waitMs: Int) throws(GatewayError)
        -> (entry: BlockEntry, height: UInt64, position: Int, blockTimeMs: UInt64)
    {
        do {
            let status = try waitForCommit(id, timeoutMs: waitMs)
            if case let .refused(rejection) = status { throw GatewayError.admission(.refused(rejection)) }
            guard case .committed = status, let entry = try committedEntry(id) else { throw GatewayError.notCommitted(status) }
            return entry
        } catch let error as GatewayError {
            throw error
        } catch {
            throw .node(error as? NodeError ?? .configuration("\(error)"))
        }
    }

    /// Decrypts the records a committed outcome names; a record erased since is left out.
    func readRecords(_ ids: [RecordID]) throws(GatewayError) -> [ReleasedRecord] {
        var records: [ReleasedRecord] = []
        for id in ids {
            do {
                let record = try vault.get(id)
                records.append(ReleasedRecord(id: id, type: record.type, resource: record.resource, salt: record.salt))
            } catch {
                if case .recordErased = error { continue }
                throw .vault(error)
            }
        }
        return records
    }
}

/// An access request whose committed outcome allows it: what the gateway may act on.
struct CommittedAccess {
    let transaction: TransactionID
    let request: RecordAccess
    let height: UInt64
    let position: Int
    /// The block's time: the only time the services may use, so a result can be reproduced from the chain.
    let blockTimeMs: UInt64
    let grant: GrantID?
    let recordIDs: [RecordID]
}
