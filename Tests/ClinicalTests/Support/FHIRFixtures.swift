import Foundation

@testable import Clinical

/// Builders of FHIR R4 records for the extraction tests.
enum FHIR {
    static let patient = "hlk1patientundertest"
    static let otherPatient = "hlk1someoneelse"

    /// A JSON number from its text.
    static func number(_ text: String) -> JSONValue { .number(JSONNumber(checkedText: text, value: Double(text)!)) }

    static func encode(_ value: JSONValue) -> [UInt8] { CanonicalJSON.encode(value) }

    static func coding(_ coding: Coding) -> JSONValue {
        .object(["system": .string(coding.system), "code": .string(coding.code)])
    }

    static func concept(_ codings: [Coding]) -> JSONValue { .object(["coding": .array(codings.map(coding))]) }

    static func subject(_ patient: String = FHIR.patient) -> JSONValue {
        .object([
            "identifier": .object(["system": .string(CodeSystem.healthLedgerPatient), "value": .string(patient)])
        ])
    }

    /// A UCUM Quantity.
    static func quantity(_ value: String, _ ucum: String?) -> JSONValue {
        var members: [String: JSONValue] = ["value": number(value)]
        if let ucum {
            members["system"] = .string(CodeSystem.ucum)
            members["code"] = .string(ucum)
            members["unit"] = .string(ucum)
        }
        return .object(members)
    }

    /// An Observation with one value; `value` is the value[x] element name and its value.
    static func observation(
        _ coding: Coding, _ value: (String, JSONValue)?, effective: String? = "2024-01-10T09:00:00Z",
        status: String = "final", issued: String? = nil, subject: JSONValue? = FHIR.subject(),
        extra: [String: JSONValue] = [:]
    ) -> [UInt8] {
        var members: [String: JSONValue] = [
            "resourceType": .string("Observation"), "status": .string(status), "code": concept([coding]),
        ]
        if let subject { members["subject"] = subject }
        if let (key, element) = value { members[key] = element }
        if let effective { members["effectiveDateTime"] = .string(effective) }
        if let issued { members["issued"] = .string(issued) }
        for (key, element) in extra { members[key] = element }
        return encode(.object(members))
    }

    static func quantityObservation(
        _ coding: Coding, _ value: String, _ ucum: String?, effective: String? = "2024-01-10T09:00:00Z",
        status: String = "final", issued: String? = nil
    ) -> [UInt8] {
        observation(coding, ("valueQuantity", quantity(value, ucum)), effective: effective, status: status, issued: issued)
    }

    static func integerObservation(_ coding: Coding, _ value: String, effective: String = "2024-01-10T09:00:00Z")
        -> [UInt8]
    {
        observation(coding, ("valueInteger", number(value)), effective: effective)
    }

    static func codeObservation(_ coding: Coding, _ answer: String, effective: String = "2024-01-10T09:00:00Z")
        -> [UInt8]
    {
        observation(coding, ("valueCodeableConcept", concept([.feature(answer)])), effective: effective)
    }

    static func booleanObservation(_ coding: Coding, _ flag: Bool, effective: String = "2024-01-10T09:00:00Z")
        -> [UInt8]
    {
        observation(coding, ("valueBoolean", .bool(flag)), effective: effective)
    }

    /// A blood pressure panel (85354-9) with systolic and diastolic components.
    static func bloodPressurePanel(systolic: String, diastolic: String, effective: String = "2024-01-10T09:00:00Z")
        -> [UInt8]
    {
        func component(_ code: String, _ value: String) -> JSONValue {
            .object(["code": concept([.loinc(code)]), "valueQuantity": quantity(value, "mm[Hg]")])
        }
        return encode(
            .object([
                "resourceType": .string("Observation"), "status": .string("final"),
                "code": concept([.loinc("85354-9")]), "subject": subject(), "effectiveDateTime": .string(effective),
                "component": .array([component("8480-6", systolic), component("8462-4", diastolic)]),
            ]))
    }

    static func patientRecord(
        birthDate: String? = "1960-06-15", gender: String? = "male", asian: Bool = false,
        identifier: String = FHIR.patient
    ) -> [UInt8] {
        var members: [String: JSONValue] = [
            "resourceType": .string("Patient"),
            "identifier": .array([
                .object(["system": .string(CodeSystem.healthLedgerPatient), "value": .string(identifier)])
            ]),
        ]
        if let birthDate { members["birthDate"] = .string(birthDate) }
        if let gender { members["gender"] = .string(gender) }
        if asian {
            members["extension"] = .array([
                .object([
                    "url": .string(PatientReader.usCoreRaceURL),
                    "extension": .array([
                        .object([
                            "url": .string("ombCategory"),
                            "valueCoding": coding(Coding(system: CodeSystem.cdcRaceAndEthnicity, code: "2028-9")),
                        ])
                    ]),
                ])
            ])
        }
        return encode(.object(members))
    }

    /// Records with ids `r01`, `r02`, ... in the order given.
    static func records(_ jsons: [[UInt8]]) -> [ClinicalRecord] {
        jsons.enumerated().map { ClinicalRecord(id: String(format: "r%02d", $0.offset + 1), json: $0.element) }
    }

    /// 2024-06-01T00:00:00Z.
    static let asOfMs: Int64 = 1_717_200_000_000

    /// A complete Cleveland-style record set (every heart feature measured).
    static func heartRecords(birthDate: String = "1960-06-15", gender: String = "male") -> [[UInt8]] {
        [
            patientRecord(birthDate: birthDate, gender: gender),
            codeObservation(.feature("chest-pain-type"), "asymptomatic"),
            quantityObservation(.loinc("8480-6"), "145", "mm[Hg]"),
            quantityObservation(.loinc("2093-3"), "233", "mg/dL"),
            quantityObservation(.loinc("1558-6"), "150", "mg/dL"),
            codeObservation(.feature("resting-ecg"), "left-ventricular-hypertrophy"),
            quantityObservation(.loinc("55422-0"), "150", "/min"),
            booleanObservation(.feature("exercise-induced-angina"), false),
            quantityObservation(.feature("st-depression-exercise"), "2.3", "mm"),
            codeObservation(.feature("st-slope-peak-exercise"), "downsloping"),
            integerObservation(.feature("major-vessels-fluoroscopy"), "0"),
            codeObservation(.feature("thallium-stress-result"), "fixed-defect"),
        ]
    }

    /// A complete Pima-style record set (every diabetes feature measured), for a female patient.
    static func diabetesRecords(birthDate: String = "1974-03-02") -> [[UInt8]] {
        [
            patientRecord(birthDate: birthDate, gender: "female"),
            integerObservation(.loinc("11996-6"), "6"),
            quantityObservation(.loinc("1518-0"), "148", "mg/dL"),
            quantityObservation(.loinc("8462-4"), "72", "mm[Hg]"),
            quantityObservation(.feature("triceps-skinfold"), "35", "mm"),
            quantityObservation(.feature("insulin-2h-ogtt"), "94", "u[IU]/mL"),
            quantityObservation(.loinc("39156-5"), "33.6", "kg/m2"),
            quantityObservation(.feature("diabetes-pedigree-function"), "0.627", "1"),
        ]
    }
}

/// FNV-1a 64-bit as hex: a deterministic stand-in for the SHA-256 closure the node passes (Clinical and
/// its tests have no crypto).
func testHash(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    let text = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - text.count) + text
}
