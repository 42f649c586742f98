/// Read access to the consent state at some height: grants, enrolments, registered records, allowed
/// `diagnose`/`plan` accesses with their service results, and which transaction ids are already committed.
/// The chain store implements it over SQLite; `MemoryLedgerState` implements it in memory for the verifier
/// and tests. Policy and block execution see only this protocol.
public protocol LedgerStateReader {
    func grant(_ id: GrantID) throws -> Grant?
    /// The patient's grants in the order they were committed.
    func grants(ofPatient patient: Identity) throws -> [Grant]
    func enrolment(of practitioner: Identity) throws -> Enrolment?
    func record(_ id: RecordID) throws -> RecordEntry?
    /// The patient's records held by `custodian`, sorted by record id.
    func records(ofPatient patient: Identity, custodian: OrganisationID) throws -> [RecordEntry]
    /// True when a transaction with this id was committed and could still be replayed: ids older than the
    /// replay window (see `Transaction`) may be forgotten, because the window alone refuses them.
    /// `createdAtMs` is the transaction's creation time, which its id covers: a store may answer from the
    /// ids it knows were committed within the window without looking further.
    func isCommitted(_ id: TransactionID, createdAtMs: UInt64) throws -> Bool
    /// The allowed `diagnose` or `plan` access committed as transaction `id`, with its result once one is
    /// committed; nil for any other id. An access whose block time is more than `transactionMaxAgeMs` before
    /// the last block applied may be forgotten: no result can be committed for it any more (FORMAT.md 8.4).
    func serviceAccess(_ id: TransactionID) throws -> ServiceAccess?
}

/// A consent state that a committed block can be applied to.
public protocol LedgerState: LedgerStateReader {
    /// Applies the changes of one committed block, atomically.
    mutating func apply(_ changes: StateChanges) throws
}

/// What one block changes in the consent state, computed by `BlockExecutor` without touching the state.
public struct StateChanges: Sendable, Equatable {
    public let height: UInt64
    public let blockTimeMs: UInt64
    public var grants: [Grant] = []
    public var revocations: [GrantID] = []
    public var enrolments: [Enrolment] = []
    public var records: [RecordEntry] = []
    /// The block's `RecordAccess` entries whose action is diagnose or plan and whose outcome allowed them.
    public var serviceAccesses: [ServiceAccess] = []
    /// The block's `ServiceResult` transactions, each answering an access of an earlier block.
    public var serviceResults: [ServiceResultEntry] = []
    /// Every transaction in the block, with its creation time (for the replay window).
    public var committed: [(id: TransactionID, createdAtMs: UInt64)] = []

    public init(height: UInt64, blockTimeMs: UInt64) {
        self.height = height
        self.blockTimeMs = blockTimeMs
    }

    public static func == (lhs: StateChanges, rhs: StateChanges) -> Bool {
        lhs.height == rhs.height && lhs.blockTimeMs == rhs.blockTimeMs && lhs.grants == rhs.grants
            && lhs.revocations == rhs.revocations && lhs.enrolments == rhs.enrolments && lhs.records == rhs.records
            && lhs.serviceAccesses == rhs.serviceAccesses && lhs.serviceResults == rhs.serviceResults
            && lhs.committed.map(\.id) == rhs.committed.map(\.id)
            && lhs.committed.map(\.createdAtMs) == rhs.committed.map(\.createdAtMs)
    }
}

/// The state as seen inside a block being executed: the committed state plus this block's changes so far.
struct StateOverlay: LedgerStateReader {
    let base: any LedgerStateReader
    private(set) var changes: StateChanges
    private var newGrants: [GrantID: Int] = [:]
    private var newGrantsByPatient: [Identity: [Int]] = [:]
    private var revoked: Set<GrantID> = []
    private var newEnrolments: [Identity: Enrolment] = [:]
    private var newRecords: [RecordID: RecordEntry] = [:]
    private var newRecordsByPatient: [Identity: [RecordEntry]] = [:]
    private var newIDs: Set<TransactionID> = []
    /// Access id -> id of the result committed for it earlier in this block.
    private var newResults: [TransactionID: TransactionID] = [:]

    init(base: any LedgerStateReader, height: UInt64, blockTimeMs: UInt64) {
        self.base = base
        changes = StateChanges(height: height, blockTimeMs: blockTimeMs)
    }

    mutating func addGrant(_ grant: Grant) {
        newGrants[grant.id] = changes.grants.count
        newGrantsByPatient[grant.patient, default: []].append(changes.grants.count)
        changes.grants.append(grant)
    }

    mutating func revoke(_ id: GrantID) {
        revoked.insert(id)
        changes.revocations.append(id)
    }

    mutating func addEnrolment(_ enrolment: Enrolment) {
        newEnrolments[enrolment.practitioner] = enrolment
        changes.enrolments.append(enrolment)
    }

    mutating func addRecord(_ record: RecordEntry) {
        newRecords[record.id] = record
        newRecordsByPatient[record.patient, default: []].append(record)
        changes.records.append(record)
    }

    mutating func addServiceResult(_ result: ServiceResultEntry) {
        precondition(newResults[result.access] == nil, "two results for one access in a block")
        newResults[result.access] = result.id
        changes.serviceResults.append(result)
    }

    mutating func markCommitted(_ id: TransactionID, createdAtMs: UInt64) {
        newIDs.insert(id)
        changes.committed.append((id, createdAtMs))
    }

    private func withRevocations(_ grant: Grant) -> Grant {
        guard revoked.contains(grant.id), grant.revokedAtHeight == nil else { return grant }
        var revokedGrant = grant
        revokedGrant.revokedAtHeight = changes.height
        return revokedGrant
    }

    func grant(_ id: GrantID) throws -> Grant? {
        if let index = newGrants[id] { return withRevocations(changes.grants[index]) }
        return try base.grant(id).map(withRevocations)
    }

    func grants(ofPatient patient: Identity) throws -> [Grant] {
        let committed = try base.grants(ofPatient: patient)
        let added = (newGrantsByPatient[patient] ?? []).map { changes.grants[$0] }
        return (committed + added).map(withRevocations)
    }

    func enrolment(of practitioner: Identity) throws -> Enrolment? {
        try newEnrolments[practitioner] ?? base.enrolment(of: practitioner)
    }

    func record(_ id: RecordID) throws -> RecordEntry? {
        try newRecords[id] ?? base.record(id)
    }

    func records(ofPatient patient: Identity, custodian: OrganisationID) throws -> [RecordEntry] {
        let added = (newRecordsByPatient[patient] ?? []).filter { $0.custodian == custodian }
        let committed = try base.records(ofPatient: patient, custodian: custodian)
        return added.isEmpty ? committed : (committed + added).sorted { $0.id < $1.id }
    }

    func isCommitted(_ id: TransactionID, createdAtMs: UInt64) throws -> Bool {
        try newIDs.contains(id) || base.isCommitted(id, createdAtMs: createdAtMs)
    }

    func serviceAccess(_ id: TransactionID) throws -> ServiceAccess? {
        guard var access = try base.serviceAccess(id) else { return nil }
        if access.resultID == nil, let result = newResults[id] { access.resultID = result }
        return access
    }
}
