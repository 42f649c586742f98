// What the extractor found in one patient's records: the most recent usable value of every measurement,
// the demographics, and everything it refused, each with the record it came from. Services build model
// inputs and care-plan inputs from a snapshot; nothing else reads FHIR.

/// One record given to the extractor: its id (the vault's record id text) and its decrypted FHIR JSON.
///
/// Holds health data: its `description` shows only the id.
public struct ClinicalRecord: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The record id, as the ledger names it; it appears in results as the source of an input.
    public let id: String
    /// The FHIR R4 resource, JSON bytes.
    public let json: [UInt8]

    /// Wraps one record.
    public init(id: String, json: [UInt8]) {
        self.id = id
        self.json = json
    }

    public var description: String { "ClinicalRecord(\(id))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["id": id]) }
}

/// A value read from an Observation, converted to the measurement's canonical unit.
public struct MeasuredValue: Sendable, Equatable {
    /// What was measured.
    public let measurement: ClinicalMeasurement
    /// The value in `unit`.
    public let value: Double
    /// The canonical unit (UCUM), or `{code}` / `{yes=1}` for categories and flags.
    public let unit: String
    /// The value as the record states it: the JSON number text, `true`/`false`, or the answer code.
    public let reportedValue: String
    /// The unit as the record states it, when it had one.
    public let reportedUnit: String?
    /// The record it came from.
    public let recordID: String
    /// The code that identified it.
    public let coding: Coding
    /// When it was measured (effective time, else issued), milliseconds since the epoch.
    public let effectiveMs: Int64
}

/// Why one Observation's value was not used. Safe to print: names the check, never the record's value.
public enum ObservationProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The unit is not one the measurement accepts.
    case unitNotAccepted(accepted: [String])
    /// `Quantity.system` names a unit system other than UCUM.
    case unitSystemNotUCUM
    /// The converted value is outside the plausible range.
    case valueOutOfRange(range: ClosedRange<Double>, unit: String)
    /// The Quantity has a comparator (`<`, `>=`, ...): not an exact measurement.
    case comparatorNotAccepted
    /// The value has a form the measurement does not accept.
    case wrongValueType(expected: String)
    /// More than one `value[x]`.
    case severalValues
    /// A category answer that is not one of the levels.
    case categoryNotRecognised(accepted: [String])
    /// A count or integer code written with a fraction.
    case notAWholeNumber
    /// Neither an effective time nor `issued`.
    case noTime
    /// An effective time or `issued` that is not a valid FHIR dateTime.
    case invalidTime
    /// Measured after the time the result is computed for.
    case effectiveAfterAsOf

    public var description: String {
        switch self {
        case .unitNotAccepted(let accepted): "unit not accepted; expected \(accepted.joined(separator: " or "))"
        case .unitSystemNotUCUM: "unit is not from UCUM (\(CodeSystem.ucum))"
        case let .valueOutOfRange(range, unit):
            "value outside the plausible range \(CanonicalNumber.format(range.lowerBound))"
                + "...\(CanonicalNumber.format(range.upperBound)) \(unit)"
        case .comparatorNotAccepted: "value has a comparator, so it is not an exact measurement"
        case .wrongValueType(let expected): "value must be \(expected)"
        case .severalValues: "observation carries more than one value[x]"
        case .categoryNotRecognised(let accepted): "answer is not one of: \(accepted.joined(separator: ", "))"
        case .notAWholeNumber: "value must be a whole number"
        case .noTime: "observation has neither an effective time nor issued"
        case .invalidTime: "effective time or issued is not a valid FHIR dateTime"
        case .effectiveAfterAsOf: "measured after the time the result is computed for"
        }
    }

    /// A short stable identifier, for canonical encodings.
    public var code: String {
        switch self {
        case .unitNotAccepted: "unit-not-accepted"
        case .unitSystemNotUCUM: "unit-system-not-ucum"
        case .valueOutOfRange: "value-out-of-range"
        case .comparatorNotAccepted: "comparator-not-accepted"
        case .wrongValueType: "wrong-value-type"
        case .severalValues: "several-values"
        case .categoryNotRecognised: "category-not-recognised"
        case .notAWholeNumber: "not-a-whole-number"
        case .noTime: "no-time"
        case .invalidTime: "invalid-time"
        case .effectiveAfterAsOf: "effective-after-as-of"
        }
    }
}

/// An Observation value that was refused.
public struct RefusedObservation: Sendable, Equatable {
    /// The record holding it.
    public let recordID: String
    /// The measurement its code names.
    public let measurement: ClinicalMeasurement
    /// Why it was refused.
    public let problem: ObservationProblem
}

/// A record that could not be read at all.
public struct UnreadableRecord: Sendable, Equatable {
    /// The record.
    public let recordID: String
    /// Why: not JSON, too large, too deep, or not an object.
    public let reason: String
}

/// Why an input is not available.
public enum MissingReason: Sendable, Equatable, CustomStringConvertible {
    /// No usable record holds it.
    case notRecorded
    /// The most recent observation was refused; older ones are not used in its place, because that would
    /// present an out-of-date value as the current one.
    case mostRecentRefused(recordID: String, effectiveMs: Int64, problem: ObservationProblem)
    /// Two Patient records disagree on the element.
    case conflictingPatientRecords(element: String)
    /// The Patient element is invalid (unparseable, or a birth date after the as-of time or over 120 years ago).
    case invalidPatientElement(recordID: String, element: String)
    /// `Patient.gender` is `other` or `unknown`; the models were trained on male/female only.
    case genderNotMaleOrFemale(recordID: String)

    public var description: String {
        switch self {
        case .notRecorded: "not recorded"
        case let .mostRecentRefused(recordID, _, problem): "most recent observation (record \(recordID)) refused: \(problem)"
        case .conflictingPatientRecords(let element): "Patient records disagree on \(element)"
        case let .invalidPatientElement(recordID, element): "\(element) in record \(recordID) is not valid"
        case .genderNotMaleOrFemale(let recordID):
            "Patient.gender in record \(recordID) is neither male nor female, which the model cannot encode"
        }
    }

    /// A short stable identifier, for canonical encodings.
    public var code: String {
        switch self {
        case .notRecorded: "not-recorded"
        case .mostRecentRefused: "most-recent-refused"
        case .conflictingPatientRecords: "conflicting-patient-records"
        case .invalidPatientElement: "invalid-patient-element"
        case .genderNotMaleOrFemale: "gender-not-male-or-female"
        }
    }
}

/// A value found, or why there is none.
public enum Extracted<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The value.
    case found(Value)
    /// Why there is no value.
    case unavailable(MissingReason)

    /// The value when found.
    public var value: Value? {
        if case .found(let value) = self { return value }
        return nil
    }

    /// The reason when unavailable.
    public var missingReason: MissingReason? {
        if case .unavailable(let reason) = self { return reason }
        return nil
    }
}

/// A patient element and the record it came from.
public struct PatientFact<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The value.
    public let value: Value
    /// The Patient record holding it.
    public let recordID: String
}

/// `Patient.gender` (FHIR AdministrativeGender).
public enum AdministrativeGender: String, Sendable, Equatable, CaseIterable {
    /// Male.
    case male
    /// Female.
    case female
    /// Other.
    case other
    /// Unknown.
    case unknown
}

/// A patient's age at the as-of time.
public struct PatientAge: Sendable, Equatable {
    /// Whole years.
    public let years: Int
    /// The birth date it was computed from (a partial date counts from the first day of its period).
    public let birthDate: CivilDate
}

/// Everything extracted from one patient's records at one time.
public struct PatientSnapshot: Sendable, Equatable {
    /// The time the snapshot is for, milliseconds since the epoch. Observations after it are not used.
    public let asOfMs: Int64
    /// Age at `asOfMs`, from `Patient.birthDate`.
    public let age: Extracted<PatientFact<PatientAge>>
    /// `Patient.gender`.
    public let gender: Extracted<PatientFact<AdministrativeGender>>
    /// The record that states Asian ancestry (US Core race, OMB category 2028-9), or nil when none does.
    public let asianAncestryRecordID: String?
    /// Every measurement: its most recent usable value, or why there is none.
    public let measurements: [ClinicalMeasurement: Extracted<MeasuredValue>]
    /// Every refused observation value (the most recent one or not), ordered by record id then measurement.
    public let refusedObservations: [RefusedObservation]
    /// Records that could not be read at all, ordered by record id.
    public let unreadableRecords: [UnreadableRecord]

    /// The most recent usable value of `measurement`, if any.
    public func value(of measurement: ClinicalMeasurement) -> MeasuredValue? { measurements[measurement]?.value }

    /// The state of `measurement` (unavailable/notRecorded when the extractor never saw it).
    public func extracted(_ measurement: ClinicalMeasurement) -> Extracted<MeasuredValue> {
        measurements[measurement] ?? .unavailable(.notRecorded)
    }
}
