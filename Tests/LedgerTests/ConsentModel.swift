import Ledger

/// A reference model of the consent state, the block admission rules (service results included) and the
/// access policy, written from DESIGN.md section 6 and the documented rules of `AccessPolicy` and
/// `BlockExecutor` (FORMAT.md 8 and 9), not from their code.
///
/// It is deliberately naive: plain arrays in commit order, linear scans, no indexes, no overlay. It shares
/// nothing with the production code but the public value types (transactions, ids, decisions), so a bug in
/// the production indexes, overlay or policy shows up as a disagreement with it.
struct ConsentModel {
    struct Organisation {
        let id: OrganisationID
        let admin: Identity
        let validator: Identity
    }

    struct GrantFact {
        let id: GrantID
        let patient: Identity
        let terms: GrantConsent
        var revokedAtHeight: UInt64?
    }

    struct RecordFact {
        let id: RecordID
        let patient: Identity
        let custodian: OrganisationID
        let type: RecordType
    }

    struct EnrolmentFact {
        let practitioner: Identity
        let organisation: OrganisationID
    }

    /// An allowed diagnose or plan access, which one service result may answer.
    struct ServiceAccessFact {
        let id: TransactionID
        let custodian: OrganisationID
        let timeMs: UInt64
        var answered = false
    }

    /// A transaction the model refuses, and why.
    struct Rejection: Equatable, CustomStringConvertible {
        let id: TransactionID
        let reason: TransactionRejection
        var description: String { "\(id.hex.prefix(8)): \(reason)" }
    }

    /// What the model expects of one block.
    struct BlockExpectation {
        var accepted: [TransactionID] = []
        var rejected: [Rejection] = []
        /// One decision per accepted `RecordAccess`, in block order.
        var outcomes: [(id: TransactionID, decision: AccessDecision)] = []
    }

    let chainID: ChainID
    let organisations: [Organisation]
    let maxAgeMs: UInt64
    let maxFutureMs: UInt64

    private(set) var grants: [GrantFact] = []
    private(set) var records: [RecordFact] = []
    private(set) var enrolments: [EnrolmentFact] = []
    /// Every committed transaction id. Sequences are short, so nothing needs forgetting.
    private(set) var committed: [TransactionID] = []
    /// Every allowed diagnose/plan access, in commit order.
    private(set) var serviceAccesses: [ServiceAccessFact] = []
    /// The time of the last block applied: what the executor's in-memory state has forgotten depends on it.
    private(set) var lastBlockTimeMs: UInt64?

    init(chainID: ChainID, organisations: [Organisation], maxAgeMs: UInt64, maxFutureMs: UInt64) {
        self.chainID = chainID
        self.organisations = organisations
        self.maxAgeMs = maxAgeMs
        self.maxFutureMs = maxFutureMs
    }

    // MARK: Lookups (linear scans on purpose)

    func grant(_ id: GrantID) -> GrantFact? { grants.first { $0.id == id } }
    func record(_ id: RecordID) -> RecordFact? { records.first { $0.id == id } }
    func enrolment(of practitioner: Identity) -> EnrolmentFact? { enrolments.first { $0.practitioner == practitioner } }
    func organisation(_ id: OrganisationID) -> Organisation? { organisations.first { $0.id == id } }

    // MARK: Blocks

    /// Applies one block: non-access transactions in block order, then every accepted access decided
    /// against the state after all of them (so a revocation anywhere in the block stops its accesses).
    mutating func apply(block transactions: [SignedTransaction], height: UInt64, timeMs: UInt64) -> BlockExpectation {
        var expectation = BlockExpectation()
        var accesses: [(id: TransactionID, requester: Identity, request: RecordAccess)] = []
        for signed in transactions {
            if let reason = admit(signed, height: height, timeMs: timeMs, acceptedInBlock: expectation.accepted) {
                expectation.rejected.append(Rejection(id: signed.id, reason: reason))
                continue
            }
            expectation.accepted.append(signed.id)
            committed.append(signed.id)
            if case let .recordAccess(request) = signed.transaction.body {
                accesses.append((signed.id, signed.transaction.signer, request))
            }
        }
        for access in accesses {
            let decision = decide(access.request, by: access.requester, height: height, timeMs: timeMs)
            expectation.outcomes.append((access.id, decision))
            // Only now, after every decision of the block: a result for it must come in a later block.
            if access.request.action != .read, case .allowed = decision {
                serviceAccesses.append(ServiceAccessFact(id: access.id, custodian: access.request.custodian, timeMs: timeMs))
            }
        }
        lastBlockTimeMs = timeMs
        return expectation
    }

    /// Checks one transaction against the admission rules and applies it; returns why not when it is refused.
    private mutating func admit(
        _ signed: SignedTransaction, height: UInt64, timeMs: UInt64, acceptedInBlock: [TransactionID]
    ) -> TransactionRejection? {
        let transaction = signed.transaction
        let signer = transaction.signer
        if transaction.chainID != chainID { return .wrongChain(transaction.chainID) }
        if transaction.createdAtMs > timeMs + maxFutureMs { return .fromTheFuture }
        if transaction.createdAtMs + maxAgeMs < timeMs { return .expired }
        if acceptedInBlock.contains(signed.id) { return .duplicateInBlock }
        if committed.contains(signed.id) { return .alreadyCommitted }

        switch transaction.body {
        case let .enrollPractitioner(body):
            guard let organisation = organisation(body.organisation) else { return .unknownOrganisation(body.organisation) }
            if organisation.admin != signer { return .notOrganisationAdmin }
            if enrolment(of: body.practitioner) != nil { return .alreadyEnrolled }
            enrolments.append(EnrolmentFact(practitioner: body.practitioner, organisation: body.organisation))
        case let .registerRecord(body):
            guard let custodian = organisation(body.custodian) else { return .unknownOrganisation(body.custodian) }
            if custodian.validator != signer { return .notCustodianNode }
            if record(body.record) != nil { return .recordAlreadyRegistered }
            let authorWorksThere = enrolment(of: body.author)?.organisation == body.custodian
            if body.author != body.patient && !authorWorksThere { return .authorNotPermitted }
            records.append(RecordFact(id: body.record, patient: body.patient, custodian: body.custodian, type: body.type))
        case let .grantConsent(body):
            if case let .organisation(id) = body.grantee, organisation(id) == nil { return .unknownOrganisation(id) }
            grants.append(GrantFact(id: signed.id, patient: signer, terms: body))
        case let .revokeConsent(body):
            guard let index = grants.firstIndex(where: { $0.id == body.grant }) else { return .grantNotFound }
            if grants[index].patient != signer { return .notGrantingPatient }
            if grants[index].revokedAtHeight != nil { return .grantAlreadyRevoked }
            grants[index].revokedAtHeight = height
        case let .recordAccess(body):
            if organisation(body.custodian) == nil { return .unknownOrganisation(body.custodian) }
        case let .serviceResult(body):
            guard let node = organisations.first(where: { $0.validator == signer }) else { return .notValidatorNode }
            guard let index = serviceAccesses.firstIndex(where: { $0.id == body.access }), !isForgotten(serviceAccesses[index]) else {
                return .serviceAccessNotFound
            }
            if serviceAccesses[index].custodian != node.id { return .notAccessCustodianNode }
            if timeMs - serviceAccesses[index].timeMs > maxAgeMs { return .serviceAccessExpired }
            if serviceAccesses[index].answered { return .serviceResultAlreadyCommitted }
            serviceAccesses[index].answered = true
        }
        return nil
    }

    /// The documented memory bound of the in-memory state (FORMAT.md 8.4): an access is forgotten once a
    /// committed block's time is more than the replay window after it. A forgotten access is "not found";
    /// one still remembered but too old for this block is "expired".
    private func isForgotten(_ access: ServiceAccessFact) -> Bool {
        guard let lastBlockTimeMs else { return false }
        return lastBlockTimeMs - access.timeMs > maxAgeMs
    }

    // MARK: Policy

    /// The documented policy: self-access; else the named grant, or the patient's grants naming the requester
    /// oldest first; the first that allows decides, otherwise the first candidate's reason.
    func decide(_ request: RecordAccess, by requester: Identity, height: UInt64, timeMs: UInt64) -> AccessDecision {
        if requester == request.patient {
            return release(request, scope: .all, grant: nil)
        }
        let candidates: [GrantFact]
        if let named = request.grant {
            guard let grant = grant(named) else { return .denied(.grantNotFound) }
            if grant.patient != request.patient { return .denied(.grantForOtherPatient) }
            if !isGrantee(requester, of: grant) { return .denied(.granteeMismatch) }
            candidates = [grant]
        } else {
            candidates = grants.filter { $0.patient == request.patient && isGrantee(requester, of: $0) }
        }
        let decisions = candidates.map { decide(request, under: $0, height: height, timeMs: timeMs) }
        if let allowed = decisions.first(where: { if case .allowed = $0 { true } else { false } }) { return allowed }
        return decisions.first ?? .denied(.noMatchingGrant)
    }

    private func isGrantee(_ requester: Identity, of grant: GrantFact) -> Bool {
        switch grant.terms.grantee {
        case let .practitioner(identity): return identity == requester
        case let .organisation(id): return enrolment(of: requester)?.organisation == id
        }
    }

    private func decide(_ request: RecordAccess, under grant: GrantFact, height: UInt64, timeMs: UInt64) -> AccessDecision {
        let terms = grant.terms
        if let revokedAt = grant.revokedAtHeight, revokedAt <= height { return .denied(.grantRevoked) }
        if let notBefore = terms.notBeforeMs, timeMs < notBefore { return .denied(.grantNotYetValid) }
        if let notAfter = terms.notAfterMs, timeMs >= notAfter { return .denied(.grantExpired) }
        if terms.actions.rawValue & request.action.rawValue == 0 { return .denied(.actionNotGranted) }
        if !terms.purposes.contains(request.purpose) { return .denied(.purposeNotGranted) }
        return release(request, scope: terms.scope, grant: grant.id)
    }

    /// The records the request selects within `scope`, sorted by id bytes, or the first reason it may not.
    private func release(_ request: RecordAccess, scope: RecordSelector, grant: GrantID?) -> AccessDecision {
        let held = records
            .filter { $0.patient == request.patient && $0.custodian == request.custodian }
            .sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
        let selected: [RecordID]
        switch request.selector {
        case let .records(ids):
            for id in ids {
                guard let record = record(id) else { return .denied(.recordNotFound) }
                if record.patient != request.patient { return .denied(.recordOfOtherPatient) }
                if record.custodian != request.custodian { return .denied(.recordAtOtherCustodian) }
                if !Self.scope(scope, includes: record) { return .denied(.recordOutOfScope) }
            }
            selected = ids.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        case let .types(types):
            if case let .types(allowed) = scope, types.contains(where: { !allowed.contains($0) }) {
                return .denied(.recordOutOfScope)
            }
            selected = held.filter { types.contains($0.type) && Self.scope(scope, includes: $0) }.map(\.id)
        case .all:
            selected = held.filter { Self.scope(scope, includes: $0) }.map(\.id)
        }
        if selected.count > 10_000 { return .denied(.selectionTooLarge) }
        return .allowed(grant: grant, records: selected)
    }

    private static func scope(_ scope: RecordSelector, includes record: RecordFact) -> Bool {
        switch scope {
        case .all: return true
        case let .types(types): return types.contains(record.type)
        case let .records(ids): return ids.contains(record.id)
        }
    }
}
