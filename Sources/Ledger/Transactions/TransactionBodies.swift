import Crypto

/// An organisation's admin enrols a practitioner, who from then on qualifies for grants made to the
/// organisation and may register records held by it. Signed by the organisation's admin key.
public struct EnrollPractitioner: Hashable, Sendable {
    public var organisation: OrganisationID
    public var practitioner: Identity
    public var role: PractitionerRole

    public init(organisation: OrganisationID, practitioner: Identity, role: PractitionerRole) {
        self.organisation = organisation
        self.practitioner = practitioner
        self.role = role
    }
}

/// A custodian announces a record it holds. Only a salted commitment goes on chain: SHA-256(salt || content)
/// with a random 32-byte salt kept in the custodian's vault. Signed by a validator key of the custodian.
public struct RegisterRecord: Hashable, Sendable {
    public var record: RecordID
    public var patient: Identity
    public var custodian: OrganisationID
    public var type: RecordType
    public var commitment: SHA256Digest
    /// Who wrote the record: the patient, or a practitioner enrolled with the custodian.
    public var author: Identity

    public init(record: RecordID, patient: Identity, custodian: OrganisationID, type: RecordType,
                commitment: SHA256Digest, author: Identity) {
        self.record = record
        self.patient = patient
        self.custodian = custodian
        self.type = type
        self.commitment = commitment
        self.author = author
    }
}

/// A patient (the signer) grants access, shaped like a FHIR R4 Consent provision.
public struct GrantConsent: Hashable, Sendable {
    public var grantee: Grantee
    public var actions: AccessActions
    public var scope: RecordSelector
    /// Sorted, unique, 1-8 codes; a request must name one of them.
    public var purposes: [PurposeCode]
    /// Validity window in block time (milliseconds since the Unix epoch): in force when
    /// `notBeforeMs <= blockTime < notAfterMs`; an absent bound is open.
    public var notBeforeMs: UInt64?
    public var notAfterMs: UInt64?

    public static let maxPurposes = 8

    public init(grantee: Grantee, actions: AccessActions, scope: RecordSelector = .all,
                purposes: [PurposeCode] = [.treatment], notBeforeMs: UInt64? = nil, notAfterMs: UInt64? = nil) {
        self.grantee = grantee
        self.actions = actions
        self.scope = scope
        self.purposes = purposes
        self.notBeforeMs = notBeforeMs
        self.notAfterMs = notAfterMs
    }
}

/// The patient who made a grant (the signer) revokes it. It stops every access from the block that
/// commits the revocation on, including accesses earlier in that same block.
public struct RevokeConsent: Hashable, Sendable {
    public var grant: GrantID

    public init(grant: GrantID) { self.grant = grant }
}

/// A signed request to access a patient's records held by one custodian (the signer is the requester).
/// The transaction itself is the request: its nonce and creation time make it fresh and usable once.
/// The decision is not signed by anyone: every validator derives it from the consent state, and the block
/// carries it as the entry's `AccessOutcome`.
public struct RecordAccess: Hashable, Sendable {
    public var custodian: OrganisationID
    public var patient: Identity
    public var action: AccessAction
    public var selector: RecordSelector
    public var purpose: PurposeCode
    /// The grant the requester relies on; when absent, the patient's first grant that allows it is used.
    public var grant: GrantID?

    public init(custodian: OrganisationID, patient: Identity, action: AccessAction, selector: RecordSelector,
                purpose: PurposeCode = .treatment, grant: GrantID? = nil) {
        self.custodian = custodian
        self.patient = patient
        self.action = action
        self.selector = selector
        self.purpose = purpose
        self.grant = grant
    }
}

/// The body of a transaction, one case per kind.
public enum TransactionBody: Hashable, Sendable {
    case enrollPractitioner(EnrollPractitioner)
    case registerRecord(RegisterRecord)
    case grantConsent(GrantConsent)
    case revokeConsent(RevokeConsent)
    case recordAccess(RecordAccess)
    case serviceResult(ServiceResult)

    /// The one-byte kind tag of the encoding.
    public var kind: TransactionKind {
        switch self {
        case .enrollPractitioner: return .enrollPractitioner
        case .registerRecord: return .registerRecord
        case .grantConsent: return .grantConsent
        case .revokeConsent: return .revokeConsent
        case .recordAccess: return .recordAccess
        case .serviceResult: return .serviceResult
        }
    }
}

/// Transaction kinds and their one-byte tags.
public enum TransactionKind: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case enrollPractitioner = 1
    case registerRecord = 2
    case grantConsent = 3
    case revokeConsent = 4
    case recordAccess = 5
    case serviceResult = 6

    public var description: String {
        switch self {
        case .enrollPractitioner: return "EnrollPractitioner"
        case .registerRecord: return "RegisterRecord"
        case .grantConsent: return "GrantConsent"
        case .revokeConsent: return "RevokeConsent"
        case .recordAccess: return "RecordAccess"
        case .serviceResult: return "ServiceResult"
        }
    }
}
