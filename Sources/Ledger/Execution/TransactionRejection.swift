/// Why a transaction cannot be committed (in a block being proposed or validated). Safe to print.
public enum TransactionRejection: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongChain(ChainID)
    case badSignature
    /// Created more than `transactionMaxAgeMs` before the block time: too old to commit (or a replay).
    case expired
    /// Created more than `transactionMaxFutureMs` after the block time: the signer's clock is ahead.
    case fromTheFuture
    case alreadyCommitted
    case duplicateInBlock
    case unknownOrganisation(OrganisationID)
    case notOrganisationAdmin
    case alreadyEnrolled
    case notCustodianNode
    case recordAlreadyRegistered
    case authorNotPermitted
    case grantNotFound
    case notGrantingPatient
    case grantAlreadyRevoked
    /// A `ServiceResult` signed by a key that is no genesis validator's.
    case notValidatorNode
    /// A `ServiceResult` naming no allowed diagnose or plan access of an earlier block (or one forgotten
    /// because it is older than the replay window).
    case serviceAccessNotFound
    /// A `ServiceResult` signed by a validator of another organisation than the access's custodian.
    case notAccessCustodianNode
    /// A `ServiceResult` whose access was committed more than `transactionMaxAgeMs` before this block.
    case serviceAccessExpired
    /// A second `ServiceResult` for one access.
    case serviceResultAlreadyCommitted

    public var description: String {
        switch self {
        case let .wrongChain(chain): return "signed for chain \(chain), not this one"
        case .badSignature: return "the signature does not verify"
        case .expired: return "too old: create and sign it again"
        case .fromTheFuture: return "created in the future: check the signer's clock"
        case .alreadyCommitted: return "already committed (a replay)"
        case .duplicateInBlock: return "appears twice in the block"
        case let .unknownOrganisation(organisation): return "organisation \(organisation) is not in the genesis"
        case .notOrganisationAdmin: return "only the organisation's admin key may enrol its practitioners"
        case .alreadyEnrolled: return "the practitioner is already enrolled"
        case .notCustodianNode: return "only a node of the custodian organisation may register its records"
        case .recordAlreadyRegistered: return "a record with this id is already registered"
        case .authorNotPermitted: return "the author must be the patient or a practitioner enrolled with the custodian"
        case .grantNotFound: return "no such grant"
        case .notGrantingPatient: return "only the patient who made a grant may revoke it"
        case .grantAlreadyRevoked: return "the grant is already revoked"
        case .notValidatorNode: return "only a validator node may commit a service result"
        case .serviceAccessNotFound:
            return "the access it answers is not an allowed diagnose or plan access committed in an earlier block within the replay window"
        case .notAccessCustodianNode: return "only a node of the access's custodian organisation may commit its service result"
        case .serviceAccessExpired: return "the access is older than the replay window: its result can no longer be committed"
        case .serviceResultAlreadyCommitted: return "a result for this access is already committed"
        }
    }
}

/// Why a block is not a valid successor of the state it is applied to.
public enum BlockExecutionError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidEntry(index: Int, TransactionRejection)
    case outcomeMismatch(index: Int, recorded: AccessOutcome?, derived: AccessOutcome)
    case tooManyEntries(count: Int, limit: UInt32)
    case tooManyBytes(count: Int, limit: UInt32)

    public var description: String {
        switch self {
        case let .invalidEntry(index, rejection): return "entry \(index): \(rejection)"
        case let .outcomeMismatch(index, recorded, derived):
            return "entry \(index): recorded access outcome \(String(describing: recorded)) but the consent state gives \(derived)"
        case let .tooManyEntries(count, limit): return "\(count) entries, over the limit of \(limit)"
        case let .tooManyBytes(count, limit): return "\(count) bytes of entries, over the limit of \(limit)"
        }
    }
}
