/// What a grantee may do with a patient's records (a FHIR Consent `provision.action`).
public enum AccessAction: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// Release the records themselves.
    case read = 1
    /// Run the diagnosis service over the records; only its result is released.
    case diagnose = 2
    /// Run the treatment-plan service over the records; only its result is released.
    case plan = 4

    public var name: String {
        switch self {
        case .read: return "read"
        case .diagnose: return "diagnose"
        case .plan: return "plan"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let action = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = action
    }
}

/// A non-empty set of actions, encoded as a bit mask of `AccessAction` raw values.
public struct AccessActions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(_ actions: [AccessAction]) { self.init(rawValue: actions.reduce(0) { $0 | $1.rawValue }) }

    public static let allBits: UInt8 = AccessAction.allCases.reduce(0) { $0 | $1.rawValue }

    public func contains(_ action: AccessAction) -> Bool { rawValue & action.rawValue != 0 }

    public var actions: [AccessAction] { AccessAction.allCases.filter { contains($0) } }

    public var description: String { actions.map(\.name).joined(separator: ",") }
}

/// Who a grant is for: one practitioner's key, or an organisation (whose enrolled practitioners then qualify).
public enum Grantee: Hashable, Sendable, CustomStringConvertible {
    case practitioner(Identity)
    case organisation(OrganisationID)

    public var description: String {
        switch self {
        case let .practitioner(identity): return identity.text
        case let .organisation(organisation): return "organisation:\(organisation.value)"
        }
    }
}

/// Which of a patient's records: all of them, those of some FHIR resource types, or named records.
/// Used both as a grant's data scope and as an access request's selection.
public enum RecordSelector: Hashable, Sendable, CustomStringConvertible {
    case all
    /// Sorted, unique, 1-32 types.
    case types([RecordType])
    /// Sorted, unique, 1-256 record ids.
    case records([RecordID])

    public static let maxTypes = 32
    public static let maxRecords = 256

    public var description: String {
        switch self {
        case .all: return "all"
        case let .types(types): return types.map { "type:\($0.value)" }.joined(separator: ",")
        case let .records(ids): return ids.map { "record:\($0.hex)" }.joined(separator: ",")
        }
    }

    /// True when `record` falls inside this selection.
    public func includes(_ record: RecordEntry) -> Bool {
        switch self {
        case .all: return true
        case let .types(types): return types.contains(record.type)
        case let .records(ids): return ids.contains(record.id)
        }
    }

    /// Builds a selector in canonical form (sorted, duplicates removed); nil when empty or over the bound.
    public static func types(canonicalising types: [RecordType]) -> RecordSelector? {
        let sorted = Array(Set(types)).sorted()
        guard !sorted.isEmpty, sorted.count <= maxTypes else { return nil }
        return .types(sorted)
    }

    /// Builds a selector in canonical form (sorted, duplicates removed); nil when empty or over the bound.
    public static func records(canonicalising ids: [RecordID]) -> RecordSelector? {
        let sorted = Array(Set(ids)).sorted()
        guard !sorted.isEmpty, sorted.count <= maxRecords else { return nil }
        return .records(sorted)
    }
}
