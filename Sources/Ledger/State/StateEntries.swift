import Crypto

/// A consent grant as the state holds it: the `GrantConsent` body plus who made it and when.
public struct Grant: Hashable, Sendable {
    public let id: GrantID
    public let patient: Identity
    public let terms: GrantConsent
    public let grantedAtHeight: UInt64
    /// The height of the block that committed its revocation; the grant allows nothing at or after it.
    public var revokedAtHeight: UInt64?

    public init(id: GrantID, patient: Identity, terms: GrantConsent, grantedAtHeight: UInt64, revokedAtHeight: UInt64? = nil) {
        self.id = id
        self.patient = patient
        self.terms = terms
        self.grantedAtHeight = grantedAtHeight
        self.revokedAtHeight = revokedAtHeight
    }

    /// True when the grant is revoked as seen by a block at `height`.
    public func isRevoked(atHeight height: UInt64) -> Bool {
        guard let revokedAtHeight else { return false }
        return revokedAtHeight <= height
    }
}

/// A practitioner's enrolment with an organisation.
public struct Enrolment: Hashable, Sendable {
    public let practitioner: Identity
    public let organisation: OrganisationID
    public let role: PractitionerRole
    public let enrolledAtHeight: UInt64

    public init(practitioner: Identity, organisation: OrganisationID, role: PractitionerRole, enrolledAtHeight: UInt64) {
        self.practitioner = practitioner
        self.organisation = organisation
        self.role = role
        self.enrolledAtHeight = enrolledAtHeight
    }
}

/// A registered record as the state holds it (never its content: that stays in the custodian's vault).
public struct RecordEntry: Hashable, Sendable {
    public let id: RecordID
    public let patient: Identity
    public let custodian: OrganisationID
    public let type: RecordType
    public let commitment: SHA256Digest
    public let author: Identity
    public let registeredAtHeight: UInt64

    public init(id: RecordID, patient: Identity, custodian: OrganisationID, type: RecordType,
                commitment: SHA256Digest, author: Identity, registeredAtHeight: UInt64) {
        self.id = id
        self.patient = patient
        self.custodian = custodian
        self.type = type
        self.commitment = commitment
        self.author = author
        self.registeredAtHeight = registeredAtHeight
    }
}

/// An allowed `diagnose` or `plan` access as the state holds it, so that a `ServiceResult` in a later block
/// can be checked against it (FORMAT.md 8.3): who holds the records, when it was committed, and whether a
/// result already answers it. Only accesses whose outcome allowed them become service accesses.
public struct ServiceAccess: Hashable, Sendable {
    /// The id of the `RecordAccess` transaction.
    public let id: TransactionID
    public let custodian: OrganisationID
    public let patient: Identity
    /// `diagnose` or `plan`.
    public let action: AccessAction
    /// The height and block time of the block that committed the access.
    public let height: UInt64
    public let blockTimeMs: UInt64
    /// The `ServiceResult` transaction that answers it, once one is committed.
    public var resultID: TransactionID?

    public init(id: TransactionID, custodian: OrganisationID, patient: Identity, action: AccessAction, height: UInt64,
                blockTimeMs: UInt64, resultID: TransactionID? = nil) {
        precondition(action == .diagnose || action == .plan, "only diagnose and plan accesses are answered by a service")
        self.id = id
        self.custodian = custodian
        self.patient = patient
        self.action = action
        self.height = height
        self.blockTimeMs = blockTimeMs
        self.resultID = resultID
    }
}

/// A committed `ServiceResult`: what the access log shows next to the access it answers.
public struct ServiceResultEntry: Hashable, Sendable {
    /// The id of the `ServiceResult` transaction.
    public let id: TransactionID
    /// The id of the `RecordAccess` it answers.
    public let access: TransactionID
    public let model: ModelReference
    public let inputHash: SHA256Digest
    public let outputHash: SHA256Digest
    /// The height of the block that committed the result.
    public let height: UInt64

    public init(id: TransactionID, access: TransactionID, model: ModelReference, inputHash: SHA256Digest,
                outputHash: SHA256Digest, height: UInt64) {
        self.id = id
        self.access = access
        self.model = model
        self.inputHash = inputHash
        self.outputHash = outputHash
        self.height = height
    }
}
