/// The consent state held in memory: for the offline verifier, tests and the simulator.
///
/// Memory grows with grants, enrolments and records, not with accesses (the bulk of a chain), and committed
/// transaction ids are kept only while they could still be replayed: an id created before
/// `blockTime - transactionMaxAgeMs` can never be committed again, so it is forgotten. Likewise an allowed
/// diagnose/plan access is kept only while a `ServiceResult` could still answer it: it is forgotten as soon
/// as a block's time is more than `transactionMaxAgeMs` after the access's block time (FORMAT.md 8.4).
public struct MemoryLedgerState: LedgerState, Sendable {
    private var grantsByID: [GrantID: Grant] = [:]
    private var grantIDsByPatient: [Identity: [GrantID]] = [:]
    private var enrolments: [Identity: Enrolment] = [:]
    private var recordsByID: [RecordID: RecordEntry] = [:]
    private var recordIDsByHolder: [Holder: [RecordID]] = [:]
    private var recentIDs: [TransactionID: UInt64] = [:]
    private var recentByCreation: [(createdAtMs: UInt64, id: TransactionID)] = []
    private var prunedQueueCount = 0
    private var serviceAccesses: [TransactionID: ServiceAccess] = [:]
    /// Service access ids in the order they were committed, hence by block time; `serviceQueueStart` is the
    /// first not yet forgotten.
    private var serviceQueue: [TransactionID] = []
    private var serviceQueueStart = 0
    private let transactionMaxAgeMs: UInt64

    private struct Holder: Hashable, Sendable {
        let patient: Identity
        let custodian: OrganisationID
    }

    public init(transactionMaxAgeMs: UInt64) { self.transactionMaxAgeMs = transactionMaxAgeMs }

    /// Counts, for reports and tests.
    public var grantCount: Int { grantsByID.count }
    public var recordCount: Int { recordsByID.count }
    public var rememberedTransactionCount: Int { recentIDs.count }
    public var rememberedServiceAccessCount: Int { serviceAccesses.count }

    public func grant(_ id: GrantID) -> Grant? { grantsByID[id] }

    public func grants(ofPatient patient: Identity) -> [Grant] {
        (grantIDsByPatient[patient] ?? []).compactMap { grantsByID[$0] }
    }

    public func enrolment(of practitioner: Identity) -> Enrolment? { enrolments[practitioner] }

    public func record(_ id: RecordID) -> RecordEntry? { recordsByID[id] }

    public func records(ofPatient patient: Identity, custodian: OrganisationID) -> [RecordEntry] {
        (recordIDsByHolder[Holder(patient: patient, custodian: custodian)] ?? []).compactMap { recordsByID[$0] }
    }

    public func isCommitted(_ id: TransactionID, createdAtMs: UInt64) -> Bool { recentIDs[id] != nil }

    public func serviceAccess(_ id: TransactionID) -> ServiceAccess? { serviceAccesses[id] }

    public mutating func apply(_ changes: StateChanges) {
        for grant in changes.grants {
            precondition(grantsByID[grant.id] == nil, "grant applied twice")
            grantsByID[grant.id] = grant
            grantIDsByPatient[grant.patient, default: []].append(grant.id)
        }
        for id in changes.revocations {
            precondition(grantsByID[id]?.revokedAtHeight == nil, "revocation of a missing or revoked grant")
            grantsByID[id]?.revokedAtHeight = changes.height
        }
        for enrolment in changes.enrolments { enrolments[enrolment.practitioner] = enrolment }
        for record in changes.records {
            recordsByID[record.id] = record
            let holder = Holder(patient: record.patient, custodian: record.custodian)
            recordIDsByHolder[holder, default: []].append(record.id)
            recordIDsByHolder[holder]!.sort()
        }
        for (id, createdAtMs) in changes.committed {
            recentIDs[id] = createdAtMs
            recentByCreation.append((createdAtMs, id))
        }
        for access in changes.serviceAccesses {
            precondition(serviceAccesses[access.id] == nil && access.resultID == nil, "service access applied twice")
            serviceAccesses[access.id] = access
            serviceQueue.append(access.id)
        }
        for result in changes.serviceResults {
            precondition(serviceAccesses[result.access]?.resultID == nil, "result for a missing or answered access")
            serviceAccesses[result.access]?.resultID = result.id
        }
        forgetUnreplayableIDs(blockTimeMs: changes.blockTimeMs)
        forgetUnanswerableAccesses(blockTimeMs: changes.blockTimeMs)
    }

    /// Drops the service accesses that no later block can answer (their block time is more than the window
    /// before `blockTimeMs`). The queue is in block-time order, so this pops from its front: O(1) amortised.
    private mutating func forgetUnanswerableAccesses(blockTimeMs: UInt64) {
        while serviceQueueStart < serviceQueue.count {
            let id = serviceQueue[serviceQueueStart]
            guard let access = serviceAccesses[id], access.blockTimeMs < blockTimeMs,
                blockTimeMs - access.blockTimeMs > transactionMaxAgeMs
            else { break }
            serviceAccesses[id] = nil
            serviceQueueStart += 1
        }
        if serviceQueueStart >= 1_024, serviceQueueStart * 2 >= serviceQueue.count {
            serviceQueue.removeFirst(serviceQueueStart)
            serviceQueueStart = 0
        }
    }

    /// Drops ids too old to be committed again. Pruning sorts the queue by creation time, so it runs only
    /// once the queue has grown by half since the last time: amortised O(log n) per transaction.
    private mutating func forgetUnreplayableIDs(blockTimeMs: UInt64) {
        guard recentByCreation.count >= max(4_096, 2 * prunedQueueCount), blockTimeMs > transactionMaxAgeMs else { return }
        let horizon = blockTimeMs - transactionMaxAgeMs
        recentByCreation.sort { $0.createdAtMs < $1.createdAtMs }
        let keepFrom = recentByCreation.firstIndex { $0.createdAtMs >= horizon } ?? recentByCreation.count
        for entry in recentByCreation[..<keepFrom] { recentIDs[entry.id] = nil }
        recentByCreation.removeFirst(keepFrom)
        prunedQueueCount = recentByCreation.count
    }
}
