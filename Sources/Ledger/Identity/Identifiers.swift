import Crypto

/// A transaction's id: SHA-256 of its signed payload (docs/FORMAT.md section 5). A grant's id is the id of
/// the `GrantConsent` transaction that created it.
public struct TransactionID: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalEncodable, CanonicalDecodable {
    public let digest: SHA256Digest

    public init(digest: SHA256Digest) { self.digest = digest }

    /// Parses 64 hex characters.
    public init?(hex: String) {
        guard let digest = SHA256Digest(hex: hex) else { return nil }
        self.digest = digest
    }

    public var hex: String { digest.hex }
    public var description: String { digest.hex }

    public static func < (lhs: TransactionID, rhs: TransactionID) -> Bool { lhs.digest < rhs.digest }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.digest(digest) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) { digest = try decoder.digest("transaction id") }
}

/// A consent grant is named by the id of the transaction that created it.
public typealias GrantID = TransactionID

/// A record's id: 16 random bytes chosen by the custodian's vault. Text form: 32 lowercase hex characters.
public struct RecordID: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalEncodable, CanonicalDecodable {
    public static let byteCount = 16
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard hex.utf8.count == Self.byteCount * 2, let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func < (lhs: RecordID, rhs: RecordID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.fixed(bytes) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        bytes = try decoder.fixed(Self.byteCount, "record id")
    }
}

/// A short, restricted ASCII code: the shape shared by organisation ids, purpose codes, record types and
/// practitioner roles. Each kind fixes its alphabet and length so that no free text (and so no health
/// information) can reach the ledger through these fields.
public protocol RestrictedCode: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalEncodable, CanonicalDecodable {
    var value: String { get }
    init(unchecked value: String)
    static var kind: String { get }
    static var maxLength: Int { get }
    static func isAllowed(_ character: UInt8, at position: Int) -> Bool
}

extension RestrictedCode {
    /// Validates `value`; nil when its length or characters are outside what this kind allows.
    public init?(_ value: String) {
        guard Self.isValid(value) else { return nil }
        self.init(unchecked: value)
    }

    public static func isValid(_ value: String) -> Bool {
        let utf8 = Array(value.utf8)
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        return utf8.enumerated().allSatisfy { isAllowed($0.element, at: $0.offset) }
    }

    public var description: String { value }

    public static func < (lhs: Self, rhs: Self) -> Bool { Array(lhs.value.utf8).lexicographicallyPrecedes(rhs.value.utf8) }

    public func encode(to encoder: inout CanonicalEncoder) { encoder.string(value) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let value = try decoder.string(Self.kind, maxBytes: Self.maxLength)
        guard Self.isValid(value) else { throw .invalidValue(field: Self.kind, reason: "characters or length not allowed") }
        self.init(unchecked: value)
    }
}

private func isLowerAlphanumeric(_ c: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
}

private func isUpper(_ c: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c) }

/// An organisation (hospital) listed in genesis: 1-64 of `a-z 0-9 -`, starting with a letter or digit.
public struct OrganisationID: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "organisation id"
    public static let maxLength = 64
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool {
        isLowerAlphanumeric(c) || (position > 0 && c == UInt8(ascii: "-"))
    }
}

/// A chain id: 1-64 of `a-z 0-9 - .`, starting with a letter or digit. Inside every signed payload, so a
/// signature made for one chain never verifies on another.
public struct ChainID: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "chain id"
    public static let maxLength = 64
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool {
        isLowerAlphanumeric(c) || (position > 0 && (c == UInt8(ascii: "-") || c == UInt8(ascii: ".")))
    }
}

/// An HL7 PurposeOfUse code such as `TREAT`, `ETREAT` or `HRESCH`: 1-16 uppercase letters.
public struct PurposeCode: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "purpose code"
    public static let maxLength = 16
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool { isUpper(c) }

    /// Treatment, the default purpose.
    public static let treatment = PurposeCode(unchecked: "TREAT")
}

/// A FHIR R4 resource type such as `Observation`: an uppercase letter then 0-63 ASCII letters.
public struct RecordType: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "record type"
    public static let maxLength = 64
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool {
        isUpper(c) || (position > 0 && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c))
    }
}

/// A practitioner's role within an organisation, such as `physician` or `nurse`: 1-32 of `a-z 0-9 -`.
public struct PractitionerRole: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "practitioner role"
    public static let maxLength = 32
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool {
        isLowerAlphanumeric(c) || (position > 0 && c == UInt8(ascii: "-"))
    }
}

/// A clinical model's name and version, such as `heart-v1` or `diabetes-plan.2`: 1-64 of `a-z 0-9 - .`,
/// starting with a letter or digit. Named in every `ServiceResult`, next to the hash of the model file.
public struct ModelID: RestrictedCode {
    public let value: String
    public init(unchecked value: String) { self.value = value }
    public static let kind = "model id"
    public static let maxLength = 64
    public static func isAllowed(_ c: UInt8, at position: Int) -> Bool {
        isLowerAlphanumeric(c) || (position > 0 && (c == UInt8(ascii: "-") || c == UInt8(ascii: ".")))
    }
}
