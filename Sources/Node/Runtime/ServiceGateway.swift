import Clinical
import Foundation
import Ledger
import Storage

// The gate of the clinical services (DESIGN sections 6 and 9, FORMAT 4.7). A `diagnose` or `plan` request is a
// `RecordAccess` the clinician signs. The node commits it like a read; only when the committed outcome allows
// it does it read the records it names from the vault (they never leave the node), run the service as of the
// access's block time, and commit a `ServiceResult` with the model and the hashes of the inputs and of the
// output. Only after that event is committed is the output released. A diagnose or plan grant therefore
// yields a result, never the records, and every result on the wire has its receipt on the ledger.

/// The answer to an allowed diagnose or plan request: the committed access, the committed `ServiceResult`
/// and the canonical output it names (a result, or a refusal document when the service could not run).
public struct ServiceAnswer: Sendable {
    /// `diagnose` or `plan`.
    public let action: AccessAction
    /// The `RecordAccess` transaction.
    public let access: TransactionID
    /// The block that committed the access, and the access's position in it.
    public let accessHeight: UInt64
    public let position: Int
    /// The grant that allowed it; nil when patients ran the service over their own records.
    public let grant: GrantID?
    /// The records the service read (the committed outcome's, less any erased since).
    public let records: [RecordID]
    /// The access's block time: the as-of time of the result.
    public let asOfMs: UInt64
    /// The `ServiceResult` transaction.
    public let result: TransactionID
    /// The block that committed the `ServiceResult` (after the access's).
    public let resultHeight: UInt64
    /// The model that answered, as the `ServiceResult` names it.
    public let model: Ledger.ModelReference
    /// SHA-256 of the canonical inputs, as committed.
    public let inputHash: SHA256Digest
    /// SHA-256 of `output`, as committed.
    public let outputHash: SHA256Digest
    /// The canonical output: `SHA-256(output) == outputHash`.
    public let output: [UInt8]
    /// Why no result was computed; nil when `output` is a result.
    public let refusal: ServiceRefusal?
}

extension NodeService {
    /// Serves a signed `RecordAccess` with action `diagnose` or `plan`: commits the access (allowed or
    /// denied), and only when the committed outcome allows it runs the service over the records, commits the
    /// `ServiceResult`, and returns the output. Each of the two commits waits up to `waitMs`.
    public func serve(_ action: AccessAction, encoded bytes: [UInt8], waitMs: Int) throws(GatewayError) -> ServiceAnswer {
        precondition(action != .read, "reads are served by access(encoded:waitMs:)")
        let (transaction, request) = try decodeAccess(bytes, serving: action)
        let access = try commitAccess(transaction, request, waitMs: waitMs)
        let (output, records) = try compute(action, for: access)
        let body = ServiceResult(access: transaction.id, model: output.model, inputHash: SHA256.hash(output.inputs),
                                 outputHash: SHA256.hash(output.output))
        let result = try commitServiceResult(body, waitMs: waitMs)
        let outcome = output.refusal == nil ? "result" : "refused"
        metrics.increment("healthledger_service_calls_total", labels: "action=\"\(action.name)\",outcome=\"\(outcome)\"")
        var fields: [String: any Sendable] = ["access": transaction.id.hex, "action": action.name, "model": output.model.id.value,
                                              "records": records.count, "height": result.height, "outcome": outcome]
        fields["reason"] = output.refusal?.reason
        log.info("service.answered", fields)
        return ServiceAnswer(action: action, access: transaction.id, accessHeight: access.height, position: access.position,
                             grant: access.grant, records: records, asOfMs: access.blockTimeMs, result: result.id,
                             resultHeight: result.height, model: output.model, inputHash: body.inputHash, outputHash: body.outputHash,
                             output: output.output, refusal: output.refusal)
    }

    /// Runs the service of `action` over the records the committed outcome names, as of the access's block time,
    /// naming the patient so that a record of anybody else refuses the run. Returns the output and the records read.
    private func compute(_ action: AccessAction, for access: CommittedAccess) throws(GatewayError) -> (ServiceOutput, [RecordID]) {
        let asOfMs = Int64(access.blockTimeMs)
        switch try readRecords(access.recordIDs, maxTotalBytes: clinical.maxRecordBytes) {
        case let .complete(records):
            let output = clinical.run(action, records: records.map { ClinicalRecord(id: $0.id.hex, json: $0.resource) }, asOfMs: asOfMs,
                                      patient: access.request.patient.text)
            return (output, records.map(\.id))
        case let .tooLarge(byteCount):
            let error = ClinicalServiceError.recordsTooLarge(byteCount: byteCount, limit: clinical.maxRecordBytes)
            return (clinical.refuse(action, error, recordIDs: access.recordIDs.map(\.hex), asOfMs: asOfMs), access.recordIDs)
        }
    }

    /// The records of a service call, decrypted one by one until they pass `maxTotalBytes`: a patient's
    /// records may be up to 10,000 of 1 MiB each, far more than one call may hold in memory.
    enum BoundedRecords {
        case complete([ReleasedRecord])
        /// The bytes decrypted when the limit was passed (more than it; not the total).
        case tooLarge(byteCount: Int)
    }

    private func readRecords(_ ids: [RecordID], maxTotalBytes: Int) throws(GatewayError) -> BoundedRecords {
        var records: [ReleasedRecord] = []
        var byteCount = 0
        for id in ids {
            let read = try readRecords([id])
            records += read
            byteCount += read.reduce(0) { $0 + $1.resource.count }
            if byteCount > maxTotalBytes { return .tooLarge(byteCount: byteCount) }
        }
        return .complete(records)
    }

    /// Signs the `ServiceResult` with this node's key, admits it (retrying while the mempool is full, within
    /// the wait) and waits for its block. Returns its id and block height.
    private func commitServiceResult(_ body: ServiceResult, waitMs: Int) throws(GatewayError) -> (id: TransactionID, height: UInt64) {
        let transaction = Transaction(chainID: genesis.chainID, signer: identity, nonce: SecureRandom.bytes(count: Transaction.nonceByteCount),
                                      createdAtMs: clock.nowMs(), body: .serviceResult(body)).signed(with: nodeKey)
        let deadlineMs = clock.nowMs() + UInt64(waitMs)
        while true {
            do {
                try admit(transaction)
                break
            } catch {
                guard error == .busy, clock.nowMs() < deadlineMs else { throw .admission(error) }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        return (transaction.id, try waitForCommittedEntry(transaction.id, waitMs: waitMs).height)
    }
}
