// Reads the demographics of FHIR R4 Patient resources (birth date, gender, US Core race) and reconciles
// several Patient records of the same person.

/// What one Patient record states.
struct PatientRecordFacts: Sendable {
    let recordID: String
    /// nil when absent; `.failure` when present but not a valid FHIR date.
    let birthDate: Result<CivilDate, InvalidElement>?
    let gender: Result<AdministrativeGender, InvalidElement>?
    let statesAsianAncestry: Bool

    struct InvalidElement: Error, Equatable {}
}

enum PatientReader {
    /// The US Core race extension.
    static let usCoreRaceURL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
    /// OMB race category "Asian" in the CDC Race & Ethnicity code set.
    static let ombAsian = "2028-9"
    /// The oldest age accepted; an older birth date is taken for a typing error.
    static let maxAgeYears = 120

    static func read(_ patient: [String: JSONValue], recordID: String) -> PatientRecordFacts {
        let birthDate = patient["birthDate"].map { value -> Result<CivilDate, PatientRecordFacts.InvalidElement> in
            guard let text = value.stringValue, let date = FHIRDateTime.parseDate(text) else {
                return .failure(PatientRecordFacts.InvalidElement())
            }
            return .success(date)
        }
        let gender = patient["gender"].map { value -> Result<AdministrativeGender, PatientRecordFacts.InvalidElement> in
            guard let text = value.stringValue, let gender = AdministrativeGender(rawValue: text) else {
                return .failure(PatientRecordFacts.InvalidElement())
            }
            return .success(gender)
        }
        return PatientRecordFacts(
            recordID: recordID, birthDate: birthDate, gender: gender, statesAsianAncestry: statesAsianAncestry(patient))
    }

    /// True when a US Core race extension has an `ombCategory` coding 2028-9 (Asian).
    private static func statesAsianAncestry(_ patient: [String: JSONValue]) -> Bool {
        for extensionValue in patient["extension"]?.arrayValue ?? []
        where extensionValue["url"]?.stringValue == usCoreRaceURL {
            for nested in extensionValue["extension"]?.arrayValue ?? []
            where nested["url"]?.stringValue == "ombCategory" {
                let coding = nested["valueCoding"]
                if coding?["system"]?.stringValue == CodeSystem.cdcRaceAndEthnicity,
                    coding?["code"]?.stringValue == ombAsian
                {
                    return true
                }
            }
        }
        return false
    }

    /// One element across all Patient records: every record that states it must agree.
    static func reconcile<Value: Equatable & Sendable>(
        _ facts: [PatientRecordFacts], element: String,
        _ pick: (PatientRecordFacts) -> Result<Value, PatientRecordFacts.InvalidElement>?
    ) -> Extracted<PatientFact<Value>> {
        var stated: [(recordID: String, value: Value)] = []
        for fact in facts {
            switch pick(fact) {
            case .none: continue
            case .failure: return .unavailable(.invalidPatientElement(recordID: fact.recordID, element: element))
            case .success(let value): stated.append((fact.recordID, value))
            }
        }
        guard let first = stated.min(by: { $0.recordID.utf8.lexicographicallyPrecedes($1.recordID.utf8) }) else {
            return .unavailable(.notRecorded)
        }
        guard stated.allSatisfy({ $0.value == first.value }) else {
            return .unavailable(.conflictingPatientRecords(element: element))
        }
        return .found(PatientFact(value: first.value, recordID: first.recordID))
    }

    /// Age in whole years at `asOfMs`; unavailable when the birth date is after it or over 120 years before.
    static func age(from birthDate: Extracted<PatientFact<CivilDate>>, asOfMs: Int64) -> Extracted<PatientFact<PatientAge>> {
        switch birthDate {
        case .unavailable(let reason): return .unavailable(reason)
        case .found(let fact):
            guard let years = fact.value.wholeYears(until: CivilDate(utcMs: asOfMs)), years <= maxAgeYears else {
                return .unavailable(.invalidPatientElement(recordID: fact.recordID, element: "Patient.birthDate"))
            }
            return .found(PatientFact(value: PatientAge(years: years, birthDate: fact.value), recordID: fact.recordID))
        }
    }
}
