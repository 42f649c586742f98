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
        case let .unsupportedAction(action): return "action \(action) is not served by this endpoint"
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
        guard request.action == .read else { throw .unsupportedAction(request.action) }
        do {
            try admit(transaction)
        } catch {
            throw .admission(error)
        }
        return try release(transaction, waitMs: waitMs)
    }

    private func release(_ transaction: SignedTransaction, waitMs: Int) throws(GatewayError) -> AccessRelease {
        let committed: (entry: BlockEntry, height: UInt64, position: Int, blockTimeMs: UInt64)
        do {
            let status = try waitForCommit(transaction.id, timeoutMs: waitMs)
            if case let .refused(rejection) = status { throw GatewayError.admission(.refused(rejection)) }
            guard case .committed = status, let entry = try committedEntry(transaction.id) else { throw GatewayError.notCommitted(status) }
            committed = entry
        } catch let error as GatewayError {
            throw error
        } catch {
            throw .node(error as? NodeError ?? .configuration("\(error)"))
        }
        switch committed.entry.outcome {
        case let .allowed(grant, recordIDs)?:
            var records: [ReleasedRecord] = []
            for id in recordIDs {
                do {
                    let record = try vault.get(id)
                    records.append(ReleasedRecord(id: id, type: record.type, resource: record.resource, salt: record.salt))
                } catch {
                    if case .recordErased = error { continue }
                    throw .vault(error)
                }
            }
            log.info("access.released", ["transaction": transaction.id.hex, "height": committed.height, "records": records.count])
            return AccessRelease(transaction: transaction.id, height: committed.height, position: committed.position, grant: grant, records: records)
        case let .denied(reason)?:
            log.info("access.denied", ["transaction": transaction.id.hex, "height": committed.height, "reason": LedgerJSON.reasonCode(reason)])
            throw .denied(reason, transaction: transaction.id, height: committed.height)
        case nil:
            throw .malformed("the committed entry has no access outcome")
        }
    }
}
