// Canonical encodings of transaction bodies (docs/FORMAT.md section 4). Decoders enforce every rule the
// format states: known tags only, sets sorted and unique, bounded counts, consistent validity windows.

extension AccessAction: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.u8(rawValue) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let raw = try decoder.u8("action")
        guard let action = AccessAction(rawValue: raw) else { throw .invalidValue(field: "action", reason: "unknown action \(raw)") }
        self = action
    }
}

extension AccessActions: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.u8(rawValue) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let raw = try decoder.u8("actions")
        guard raw != 0, raw & ~AccessActions.allBits == 0 else {
            throw .invalidValue(field: "actions", reason: "must be a non-empty set of known actions")
        }
        self.init(rawValue: raw)
    }
}

extension Grantee: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case let .practitioner(identity):
            encoder.u8(1)
            identity.encode(to: &encoder)
        case let .organisation(organisation):
            encoder.u8(2)
            organisation.encode(to: &encoder)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        switch try decoder.u8("grantee kind") {
        case 1: self = .practitioner(try Identity(from: &decoder))
        case 2: self = .organisation(try OrganisationID(from: &decoder))
        case let other: throw .invalidValue(field: "grantee kind", reason: "unknown kind \(other)")
        }
    }
}

extension RecordSelector: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .all:
            encoder.u8(0)
        case let .types(types):
            encoder.u8(1)
            encoder.list(types) { $1.encode(to: &$0) }
        case let .records(ids):
            encoder.u8(2)
            encoder.list(ids) { $1.encode(to: &$0) }
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        switch try decoder.u8("selector kind") {
        case 0:
            self = .all
        case 1:
            let types = try decoder.list("record types", maxCount: Self.maxTypes) { (d) throws(DecodingError) in try RecordType(from: &d) }
            try Self.requireCanonicalSet(types, field: "record types")
            self = .types(types)
        case 2:
            let ids = try decoder.list("record ids", maxCount: Self.maxRecords) { (d) throws(DecodingError) in try RecordID(from: &d) }
            try Self.requireCanonicalSet(ids, field: "record ids")
            self = .records(ids)
        case let other:
            throw .invalidValue(field: "selector kind", reason: "unknown kind \(other)")
        }
    }

    private static func requireCanonicalSet<T: Comparable>(_ items: [T], field: String) throws(DecodingError) {
        guard !items.isEmpty else { throw .invalidValue(field: field, reason: "must not be empty") }
        guard items.isStrictlyIncreasing else { throw .invalidValue(field: field, reason: "must be sorted and unique") }
    }
}

extension EnrollPractitioner: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        organisation.encode(to: &encoder)
        practitioner.encode(to: &encoder)
        role.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        organisation = try OrganisationID(from: &decoder)
        practitioner = try Identity(from: &decoder)
        role = try PractitionerRole(from: &decoder)
    }
}

extension RegisterRecord: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        record.encode(to: &encoder)
        patient.encode(to: &encoder)
        custodian.encode(to: &encoder)
        type.encode(to: &encoder)
        encoder.digest(commitment)
        author.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        record = try RecordID(from: &decoder)
        patient = try Identity(from: &decoder)
        custodian = try OrganisationID(from: &decoder)
        type = try RecordType(from: &decoder)
        commitment = try decoder.digest("commitment")
        author = try Identity(from: &decoder)
    }
}

extension GrantConsent: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        grantee.encode(to: &encoder)
        actions.encode(to: &encoder)
        scope.encode(to: &encoder)
        encoder.list(purposes) { $1.encode(to: &$0) }
        encoder.optional(notBeforeMs) { $0.u64($1) }
        encoder.optional(notAfterMs) { $0.u64($1) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        grantee = try Grantee(from: &decoder)
        actions = try AccessActions(from: &decoder)
        scope = try RecordSelector(from: &decoder)
        purposes = try decoder.list("purposes", maxCount: Self.maxPurposes) { (d) throws(DecodingError) in try PurposeCode(from: &d) }
        guard !purposes.isEmpty, purposes.isStrictlyIncreasing else {
            throw .invalidValue(field: "purposes", reason: "must be a non-empty sorted set")
        }
        notBeforeMs = try decoder.optional("not before") { (d) throws(DecodingError) in try d.u64("not before") }
        notAfterMs = try decoder.optional("not after") { (d) throws(DecodingError) in try d.u64("not after") }
        if let notBeforeMs, let notAfterMs, notBeforeMs >= notAfterMs {
            throw .invalidValue(field: "validity window", reason: "not-before must be earlier than not-after")
        }
    }
}

extension RevokeConsent: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) { grant.encode(to: &encoder) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) { grant = try GrantID(from: &decoder) }
}

extension RecordAccess: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        custodian.encode(to: &encoder)
        patient.encode(to: &encoder)
        action.encode(to: &encoder)
        selector.encode(to: &encoder)
        purpose.encode(to: &encoder)
        encoder.optional(grant) { $1.encode(to: &$0) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        custodian = try OrganisationID(from: &decoder)
        patient = try Identity(from: &decoder)
        action = try AccessAction(from: &decoder)
        selector = try RecordSelector(from: &decoder)
        purpose = try PurposeCode(from: &decoder)
        grant = try decoder.optional("grant") { (d) throws(DecodingError) in try GrantID(from: &d) }
    }
}

extension TransactionBody: CanonicalEncodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.u8(kind.rawValue)
        switch self {
        case let .enrollPractitioner(body): body.encode(to: &encoder)
        case let .registerRecord(body): body.encode(to: &encoder)
        case let .grantConsent(body): body.encode(to: &encoder)
        case let .revokeConsent(body): body.encode(to: &encoder)
        case let .recordAccess(body): body.encode(to: &encoder)
        case let .serviceResult(body): body.encode(to: &encoder)
        }
    }
}

extension TransactionBody: CanonicalDecodable {
    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let raw = try decoder.u8("transaction kind")
        guard let kind = TransactionKind(rawValue: raw) else {
            throw .invalidValue(field: "transaction kind", reason: "unknown kind \(raw)")
        }
        switch kind {
        case .enrollPractitioner: self = .enrollPractitioner(try EnrollPractitioner(from: &decoder))
        case .registerRecord: self = .registerRecord(try RegisterRecord(from: &decoder))
        case .grantConsent: self = .grantConsent(try GrantConsent(from: &decoder))
        case .revokeConsent: self = .revokeConsent(try RevokeConsent(from: &decoder))
        case .recordAccess: self = .recordAccess(try RecordAccess(from: &decoder))
        case .serviceResult: self = .serviceResult(try ServiceResult(from: &decoder))
        }
    }
}
