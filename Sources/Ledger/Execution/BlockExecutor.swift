/// Applies the ledger's rules to the transactions of one block, without side effects: it reads the state
/// through `LedgerStateReader` and returns the `StateChanges` the block makes. Proposers use `propose` to
/// build entries (dropping what cannot commit), validators and auditors use `execute` to re-derive a block.
///
/// Ordering rule (docs/FORMAT.md section 8): non-access transactions take effect in block order; every
/// `RecordAccess` in block h is decided against the state after all of block h's other transactions, at
/// block h's time. So a revocation in block h stops every access in block h, wherever it stands. The
/// allowed diagnose/plan accesses of block h become service accesses only after that, so a `ServiceResult`
/// can answer them from block h + 1 on.
/// Signatures are not checked here (the node checks them once at admission; the verifier in parallel).
public struct BlockExecutor: Sendable {
    public let genesis: Genesis

    public init(genesis: Genesis) { self.genesis = genesis }

    /// Builds the entries of a new block from `candidates`, in order, leaving out those that cannot commit.
    /// Candidates beyond the block's entry or byte limit are neither accepted nor rejected: they wait for
    /// the next block.
    public func propose(
        _ candidates: [SignedTransaction], height: UInt64, blockTimeMs: UInt64, state: any LedgerStateReader
    ) throws -> (entries: [BlockEntry], changes: StateChanges, rejected: [(SignedTransaction, TransactionRejection)]) {
        let maxBytes = Int(genesis.consensus.blockMaxBytes)
        var overlay = StateOverlay(base: state, height: height, blockTimeMs: blockTimeMs)
        var accepted: [SignedTransaction] = []
        var rejected: [(SignedTransaction, TransactionRejection)] = []
        var transactionBytes = 0
        for candidate in candidates.prefix(Int(genesis.consensus.blockMaxEntries)) {
            let size = candidate.payload.count + candidate.signature.count
            guard transactionBytes + size <= maxBytes else { break }
            do {
                try admit(candidate, into: &overlay)
                accepted.append(candidate)
                transactionBytes += size
            } catch let rejection as TransactionRejection {
                rejected.append((candidate, rejection))
            }
        }
        var entries = try accepted.map { BlockEntry(transaction: $0, outcome: try outcome(of: $0, in: overlay)) }
        var changes = overlay.changes
        // Outcomes add bytes. Accesses change no state that another transaction of the block can see (their
        // service accesses count from the next block), so dropping the last ones changes no other outcome.
        var entryBytes = entries.reduce(0) { $0 + $1.canonicalBytes.count }
        while entryBytes > maxBytes, let last = entries.lastIndex(where: { $0.outcome != nil }) {
            entryBytes -= entries[last].canonicalBytes.count
            let dropped = entries.remove(at: last).transaction.id
            changes.committed.removeAll { $0.id == dropped }
        }
        precondition(entryBytes <= maxBytes, "non-access transactions alone exceed the block byte limit")
        changes.serviceAccesses = Self.serviceAccesses(in: entries, height: height, blockTimeMs: blockTimeMs)
        return (entries, changes, rejected)
    }

    /// Re-derives `block` against `state`: every transaction must be admissible and every recorded access
    /// outcome must equal the policy's. Returns the changes to apply.
    public func execute(_ block: Block, state: any LedgerStateReader) throws -> StateChanges {
        guard block.entries.count <= genesis.consensus.blockMaxEntries else {
            throw BlockExecutionError.tooManyEntries(count: block.entries.count, limit: genesis.consensus.blockMaxEntries)
        }
        let encodedBytes = block.entries.reduce(0) { $0 + $1.canonicalBytes.count }
        guard encodedBytes <= Int(genesis.consensus.blockMaxBytes) else {
            throw BlockExecutionError.tooManyBytes(count: encodedBytes, limit: genesis.consensus.blockMaxBytes)
        }
        var overlay = StateOverlay(base: state, height: block.header.height, blockTimeMs: block.header.timeMs)
        for (index, entry) in block.entries.enumerated() {
            do {
                try admit(entry.transaction, into: &overlay)
            } catch let rejection as TransactionRejection {
                throw BlockExecutionError.invalidEntry(index: index, rejection)
            }
        }
        for (index, entry) in block.entries.enumerated() {
            guard let derived = try outcome(of: entry.transaction, in: overlay) else { continue }
            guard entry.outcome == derived else {
                throw BlockExecutionError.outcomeMismatch(index: index, recorded: entry.outcome, derived: derived)
            }
        }
        var changes = overlay.changes
        changes.serviceAccesses = Self.serviceAccesses(in: block.entries, height: block.header.height, blockTimeMs: block.header.timeMs)
        return changes
    }

    /// The allowed diagnose and plan accesses among `entries` (whose outcomes are final), in block order.
    private static func serviceAccesses(in entries: [BlockEntry], height: UInt64, blockTimeMs: UInt64) -> [ServiceAccess] {
        entries.compactMap { entry in
            guard case let .recordAccess(request) = entry.transaction.transaction.body, request.action != .read,
                entry.outcome?.isAllowed == true
            else { return nil }
            return ServiceAccess(id: entry.transaction.id, custodian: request.custodian, patient: request.patient,
                                 action: request.action, height: height, blockTimeMs: blockTimeMs)
        }
    }

    /// Checks the rules that do not depend on a block (chain id, freshness against `nowMs`, replay, and the
    /// kind's own rules against the current state): what a node runs when a transaction arrives.
    public func check(_ transaction: SignedTransaction, nowMs: UInt64, state: any LedgerStateReader, nextHeight: UInt64) throws {
        var overlay = StateOverlay(base: state, height: nextHeight, blockTimeMs: nowMs)
        try admit(transaction, into: &overlay)
    }

    private func admit(_ signed: SignedTransaction, into overlay: inout StateOverlay) throws {
        let transaction = signed.transaction
        let blockTimeMs = overlay.changes.blockTimeMs
        guard transaction.chainID == genesis.chainID else { throw TransactionRejection.wrongChain(transaction.chainID) }
        // Compared by differences so that no sum can overflow, whatever times a hostile block carries.
        let createdAtMs = transaction.createdAtMs
        guard createdAtMs <= blockTimeMs || createdAtMs - blockTimeMs <= genesis.consensus.transactionMaxFutureMs else {
            throw TransactionRejection.fromTheFuture
        }
        guard createdAtMs >= blockTimeMs || blockTimeMs - createdAtMs <= genesis.consensus.transactionMaxAgeMs else {
            throw TransactionRejection.expired
        }
        guard try !overlay.isCommitted(signed.id, createdAtMs: createdAtMs) else {
            throw overlay.changes.committed.contains { $0.id == signed.id }
                ? TransactionRejection.duplicateInBlock : TransactionRejection.alreadyCommitted
        }
        try applyBody(of: signed, to: &overlay)
        overlay.markCommitted(signed.id, createdAtMs: transaction.createdAtMs)
    }

    private func applyBody(of signed: SignedTransaction, to overlay: inout StateOverlay) throws {
        let signer = signed.transaction.signer
        let height = overlay.changes.height
        switch signed.transaction.body {
        case let .enrollPractitioner(body):
            guard let organisation = genesis.organisation(body.organisation) else {
                throw TransactionRejection.unknownOrganisation(body.organisation)
            }
            guard organisation.adminKey == signer else { throw TransactionRejection.notOrganisationAdmin }
            guard try overlay.enrolment(of: body.practitioner) == nil else { throw TransactionRejection.alreadyEnrolled }
            overlay.addEnrolment(Enrolment(practitioner: body.practitioner, organisation: body.organisation,
                                           role: body.role, enrolledAtHeight: height))
        case let .registerRecord(body):
            guard genesis.organisation(body.custodian) != nil else { throw TransactionRejection.unknownOrganisation(body.custodian) }
            guard genesis.validators.contains(where: { $0.key == signer && $0.organisation == body.custodian }) else {
                throw TransactionRejection.notCustodianNode
            }
            guard try overlay.record(body.record) == nil else { throw TransactionRejection.recordAlreadyRegistered }
            let authorIsEnrolled = try overlay.enrolment(of: body.author)?.organisation == body.custodian
            guard body.author == body.patient || authorIsEnrolled else { throw TransactionRejection.authorNotPermitted }
            overlay.addRecord(RecordEntry(id: body.record, patient: body.patient, custodian: body.custodian, type: body.type,
                                          commitment: body.commitment, author: body.author, registeredAtHeight: height))
        case let .grantConsent(body):
            if case let .organisation(organisation) = body.grantee, genesis.organisation(organisation) == nil {
                throw TransactionRejection.unknownOrganisation(organisation)
            }
            overlay.addGrant(Grant(id: signed.id, patient: signer, terms: body, grantedAtHeight: height))
        case let .revokeConsent(body):
            guard let grant = try overlay.grant(body.grant) else { throw TransactionRejection.grantNotFound }
            guard grant.patient == signer else { throw TransactionRejection.notGrantingPatient }
            guard grant.revokedAtHeight == nil else { throw TransactionRejection.grantAlreadyRevoked }
            overlay.revoke(body.grant)
        case let .recordAccess(body):
            guard genesis.organisation(body.custodian) != nil else { throw TransactionRejection.unknownOrganisation(body.custodian) }
        case let .serviceResult(body):
            try admitServiceResult(body, id: signed.id, signer: signer, into: &overlay)
        }
    }

    /// The rules of a `ServiceResult` (FORMAT.md 8.3), in order: a validator signs it, for an allowed
    /// diagnose/plan access of an earlier block held by the validator's organisation, within the replay
    /// window of the access, and only once per access.
    private func admitServiceResult(_ body: ServiceResult, id: TransactionID, signer: Identity, into overlay: inout StateOverlay) throws {
        let height = overlay.changes.height
        let blockTimeMs = overlay.changes.blockTimeMs
        guard let node = genesis.validators.first(where: { $0.key == signer }) else { throw TransactionRejection.notValidatorNode }
        guard let access = try overlay.serviceAccess(body.access) else { throw TransactionRejection.serviceAccessNotFound }
        precondition(access.height < height, "the state holds a service access of the block being executed")
        guard access.custodian == node.organisation else { throw TransactionRejection.notAccessCustodianNode }
        // By difference, without overflow: in a node's admission check, `blockTimeMs` is its clock, which may
        // lag the access's block time.
        guard access.blockTimeMs >= blockTimeMs || blockTimeMs - access.blockTimeMs <= genesis.consensus.transactionMaxAgeMs else {
            throw TransactionRejection.serviceAccessExpired
        }
        guard access.resultID == nil else { throw TransactionRejection.serviceResultAlreadyCommitted }
        overlay.addServiceResult(ServiceResultEntry(id: id, access: body.access, model: body.model, inputHash: body.inputHash,
                                                    outputHash: body.outputHash, height: height))
    }

    /// The policy's decision for a `RecordAccess` against the block's final state; nil for other kinds.
    private func outcome(of signed: SignedTransaction, in overlay: StateOverlay) throws -> AccessOutcome? {
        guard case let .recordAccess(request) = signed.transaction.body else { return nil }
        return try AccessPolicy.evaluate(request, requester: signed.transaction.signer, height: overlay.changes.height,
                                         blockTimeMs: overlay.changes.blockTimeMs, state: overlay)
    }
}
