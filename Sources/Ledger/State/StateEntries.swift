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
