/// The access decision for one `RecordAccess` request: allowed (under which grant, releasing which
/// records) or denied (and why). It is recorded in the block as the entry's outcome.
public enum AccessDecision: Hashable, Sendable {
    /// `grant` is nil when patients access their own records.
    case allowed(grant: GrantID?, records: [RecordID])
    case denied(DenialReason)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }
}

/// Why an access was denied. The numbers are part of the encoding (docs/FORMAT.md).
public enum DenialReason: UInt8, Error, CaseIterable, Sendable, CustomStringConvertible {
    case noMatchingGrant = 1
    case grantNotFound = 2
    case grantForOtherPatient = 3
    case granteeMismatch = 4
    case grantRevoked = 5
    case grantNotYetValid = 6
    case grantExpired = 7
    case actionNotGranted = 8
    case purposeNotGranted = 9
    case recordNotFound = 10
    case recordOfOtherPatient = 11
    case recordAtOtherCustodian = 12
    case recordOutOfScope = 13
    case selectionTooLarge = 14

    public var description: String {
        switch self {
        case .noMatchingGrant: return "no grant from the patient names this requester"
        case .grantNotFound: return "the named grant does not exist"
        case .grantForOtherPatient: return "the named grant was made by another patient"
        case .granteeMismatch: return "the grant is for someone else"
        case .grantRevoked: return "the grant was revoked"
        case .grantNotYetValid: return "the grant is not yet in force"
        case .grantExpired: return "the grant has expired"
        case .actionNotGranted: return "the grant does not allow this action"
        case .purposeNotGranted: return "the grant does not allow this purpose"
        case .recordNotFound: return "a requested record does not exist"
        case .recordOfOtherPatient: return "a requested record belongs to another patient"
        case .recordAtOtherCustodian: return "a requested record is held by another organisation"
        case .recordOutOfScope: return "a requested record is outside the grant's scope"
        case .selectionTooLarge: return "the request selects more records than one access may release"
        }
    }
}

/// The consent policy: a pure function of (consent state at height h, block time, request) to a decision.
/// The same code runs in the node's gateway, in every validator's block validation, and in the auditor's
/// replay, so all three always agree.
public enum AccessPolicy {
    /// The most records one access may release.
    public static let maxReleasedRecords = 10_000

    /// Decides `request` by `requester` in a block at `height` with time `blockTimeMs`.
    ///
    /// Rules, in order: patients may access their own records. Otherwise the candidate grants are the named
    /// grant, or else the patient's grants whose grantee is the requester (directly, or through the
    /// requester's enrolment in the grantee organisation), oldest first; the first candidate that is in force
    /// (not revoked at or before `height`, `notBefore <= blockTime < notAfter`), includes the action and
    /// the purpose, and covers every selected record allows the access. If none does, the reason is the
    /// first candidate's.
    public static func evaluate(
        _ request: RecordAccess, requester: Identity, height: UInt64, blockTimeMs: UInt64, state: some LedgerStateReader
    ) throws -> AccessDecision {
        if requester == request.patient {
            return try decide(selecting(request, scope: .all, state: state)) { .allowed(grant: nil, records: $0) }
        }
        let candidates: [Grant]
        if let named = request.grant {
            guard let grant = try state.grant(named) else { return .denied(.grantNotFound) }
            guard grant.patient == request.patient else { return .denied(.grantForOtherPatient) }
            guard try isGrantee(requester, of: grant, state: state) else { return .denied(.granteeMismatch) }
            candidates = [grant]
        } else {
            candidates = try state.grants(ofPatient: request.patient).filter { try isGrantee(requester, of: $0, state: state) }
        }
        var firstDenial: DenialReason?
        for grant in candidates {
            let decision = try evaluate(request, under: grant, height: height, blockTimeMs: blockTimeMs, state: state)
            if case let .denied(reason) = decision {
                firstDenial = firstDenial ?? reason
            } else {
                return decision
            }
        }
        return .denied(firstDenial ?? .noMatchingGrant)
    }

    /// True when `requester` is the grant's grantee, directly or through enrolment in the grantee organisation.
    public static func isGrantee(_ requester: Identity, of grant: Grant, state: some LedgerStateReader) throws -> Bool {
        switch grant.terms.grantee {
        case let .practitioner(identity): return identity == requester
        case let .organisation(organisation): return try state.enrolment(of: requester)?.organisation == organisation
        }
    }

    private static func evaluate(
        _ request: RecordAccess, under grant: Grant, height: UInt64, blockTimeMs: UInt64, state: some LedgerStateReader
    ) throws -> AccessDecision {
        let terms = grant.terms
        if grant.isRevoked(atHeight: height) { return .denied(.grantRevoked) }
        if let notBefore = terms.notBeforeMs, blockTimeMs < notBefore { return .denied(.grantNotYetValid) }
        if let notAfter = terms.notAfterMs, blockTimeMs >= notAfter { return .denied(.grantExpired) }
        if !terms.actions.contains(request.action) { return .denied(.actionNotGranted) }
        if !terms.purposes.contains(request.purpose) { return .denied(.purposeNotGranted) }
        return try decide(selecting(request, scope: terms.scope, state: state)) { .allowed(grant: grant.id, records: $0) }
    }

    private static func decide(_ selection: Result<[RecordID], DenialReason>, _ allow: ([RecordID]) -> AccessDecision) -> AccessDecision {
        switch selection {
        case let .success(records): return allow(records)
        case let .failure(reason): return .denied(reason)
        }
    }

    /// The records `request` selects within `scope`, sorted by id, or why it may not have them.
    private static func selecting(
        _ request: RecordAccess, scope: RecordSelector, state: some LedgerStateReader
    ) throws -> Result<[RecordID], DenialReason> {
        let selected: [RecordID]
        switch request.selector {
        case let .records(ids):
            for id in ids {
                guard let record = try state.record(id) else { return .failure(.recordNotFound) }
                guard record.patient == request.patient else { return .failure(.recordOfOtherPatient) }
                guard record.custodian == request.custodian else { return .failure(.recordAtOtherCustodian) }
                guard scope.includes(record) else { return .failure(.recordOutOfScope) }
            }
            selected = ids  // canonical already: decoding and signing refuse unsorted or repeated ids
        case let .types(types):
            if case let .types(allowedTypes) = scope, !Set(types).isSubset(of: allowedTypes) {
                return .failure(.recordOutOfScope)
            }
            selected = try state.records(ofPatient: request.patient, custodian: request.custodian)
                .filter { types.contains($0.type) && scope.includes($0) }.map(\.id)
        case .all:
            selected = try state.records(ofPatient: request.patient, custodian: request.custodian)
                .filter { scope.includes($0) }.map(\.id)
        }
        guard selected.count <= maxReleasedRecords else { return .failure(.selectionTooLarge) }
        return .success(selected)
    }
}
