import Foundation
import Ledger
import Testing
@testable import Storage

@Suite("FHIR resource validation")
struct FHIRResourceTests {
    let patient = Fixtures.newIdentity()

    // MARK: Accepted

    @Test("a valid Observation is accepted, normalised, and gets the patient identifier filled in")
    func observationAccepted() throws {
        let resource = try FHIRResource(json: Fixtures.json(Fixtures.observation()), patient: patient)
        let object = try parse(resource.normalizedJSON)

        #expect(resource.type == RecordType("Observation"))
        #expect(subjectIdentifier(of: object, element: "subject") == patient.text)
        let text = String(decoding: resource.normalizedJSON, as: UTF8.self)
        #expect(!text.contains("\n") && !text.contains("\": ") && !text.contains(", \""))  // No whitespace.
        #expect(text.hasPrefix("{\"code\":"))  // Keys sorted.
    }

    @Test("normalising is idempotent, so the same resource always yields the same bytes")
    func normalisationIsStable() throws {
        let first = try FHIRResource(json: Fixtures.json(Fixtures.observation()), patient: patient)
        let second = try FHIRResource(json: first.normalizedJSON, patient: patient)
        #expect(first.normalizedJSON == second.normalizedJSON)
    }

    @Test("an Observation that already names the same patient is accepted unchanged")
    func samePatientAccepted() throws {
        let json = Fixtures.json(Fixtures.observation(["subject": Fixtures.reference(to: patient)]))
        let resource = try FHIRResource(json: json, patient: patient)
        #expect(try parse(resource.normalizedJSON) as NSDictionary == (try parse(json)) as NSDictionary)
    }

    @Test("a subject with only a display gets the identifier added and keeps its display")
    func displayOnlySubject() throws {
        let json = Fixtures.json(Fixtures.observation(["subject": ["display": "J. Doe"]]))
        let object = try parse(try FHIRResource(json: json, patient: patient).normalizedJSON)
        #expect(subjectIdentifier(of: object, element: "subject") == patient.text)
        #expect((object["subject"] as? [String: Any])?["display"] as? String == "J. Doe")
    }

    @Test("AllergyIntolerance names its patient in `patient`, not `subject`")
    func allergyUsesPatientElement() throws {
        let json = Fixtures.json(["resourceType": "AllergyIntolerance", "note": [["text": Fixtures.marker]]])
        let object = try parse(try FHIRResource(json: json, patient: patient).normalizedJSON)
        #expect(subjectIdentifier(of: object, element: "patient") == patient.text)
        #expect(object["subject"] == nil)
    }

    @Test("a Condition without subject gets one naming the patient")
    func conditionSubjectFilled() throws {
        let json = Fixtures.json(["resourceType": "Condition", "code": ["text": "Hypertension"]])
        let object = try parse(try FHIRResource(json: json, patient: patient).normalizedJSON)
        #expect(subjectIdentifier(of: object, element: "subject") == patient.text)
    }

    @Test("a Patient resource keeps its other identifiers and gets the HealthLedger one appended")
    func patientResourceIdentifiers() throws {
        let hospitalNumber: [String: Any] = ["system": "urn:oid:1.2.3", "value": "MRN-1"]
        let json = Fixtures.json(["resourceType": "Patient", "identifier": [hospitalNumber]])
        let object = try parse(try FHIRResource(json: json, patient: patient).normalizedJSON)
        let identifiers = try #require(object["identifier"] as? [[String: Any]])
        #expect(identifiers.count == 2)
        #expect(identifiers.last?["value"] as? String == patient.text)
    }

    @Test(
        "every type the design names is supported, and a minimal valid resource of it is accepted",
        arguments: FHIRResource.supportedTypes)
    func supportedTypes(typeName: String) throws {
        let accepted = try FHIRResource(json: Fixtures.json(minimalResource(typeName)), patient: patient)
        #expect(accepted.type.value == typeName)
    }

    @Test("the supported types include the twelve the design names")
    func supportedTypeList() {
        let named = [
            "AllergyIntolerance", "CarePlan", "Condition", "DiagnosticReport", "Encounter", "FamilyMemberHistory",
            "Immunization", "MedicationRequest", "MedicationStatement", "Observation", "Patient", "Procedure",
        ]
        #expect(Set(named).isSubset(of: FHIRResource.supportedTypes))
    }

    // MARK: Refused: patient

    @Test("an Observation naming another patient is refused")
    func otherPatientRefused() throws {
        let other = Fixtures.newIdentity()
        try expectRefused(
            Fixtures.observation(["subject": Fixtures.reference(to: other)]),
            .otherPatient(path: "Observation.subject.identifier"))
    }

    @Test("a subject identifier of another system is refused")
    func otherSystemRefused() throws {
        try expectRefused(
            Fixtures.observation(["subject": ["identifier": ["system": "urn:oid:1.2.3", "value": Fixtures.marker]]]),
            .otherPatient(path: "Observation.subject.identifier"))
    }

    @Test("a literal reference such as Patient/123 is refused")
    func literalReferenceRefused() throws {
        try expectRefused(
            Fixtures.observation(["subject": ["reference": "Patient/123"]]),
            .unverifiablePatientReference(path: "Observation.subject.reference"))
    }

    @Test("a subject of type Group is refused")
    func groupSubjectRefused() throws {
        var subject = Fixtures.reference(to: patient)
        subject["type"] = "Group"
        try expectRefused(Fixtures.observation(["subject": subject]), .otherPatient(path: "Observation.subject.type"))
    }

    @Test("a Patient resource with another patient's HealthLedger identifier is refused")
    func patientResourceOtherIdentity() throws {
        let other = Fixtures.newIdentity()
        let identifier: [String: Any] = ["system": FHIRResource.patientIdentifierSystem, "value": other.text]
        try expectRefused(
            ["resourceType": "Patient", "identifier": [identifier], "name": [["text": Fixtures.marker]]],
            .otherPatient(path: "Patient.identifier"))
    }

    // MARK: Refused: shape

    @Test("a missing status is refused")
    func missingStatus() throws {
        try expectRefused(
            Fixtures.observation(removing: ["status"]),
            .missingElement(path: "Observation.status", expected: "a code string"))
    }

    @Test("a status outside the value set is refused without repeating it")
    func wrongStatusValue() throws {
        let error = try expectRefused(Fixtures.observation(["status": Fixtures.marker]))
        guard case .codeNotInValueSet(path: "Observation.status", let allowed) = error else {
            Issue.record("got \(error)")
            return
        }
        #expect(allowed.contains("final"))
    }

    @Test("a status that is not a string is refused")
    func statusOfWrongType() throws {
        try expectRefused(
            Fixtures.observation(["status": 3]), .wrongType(path: "Observation.status", expected: "a code string"))
    }

    @Test("a code that is not a CodeableConcept object is refused")
    func codeOfWrongType() throws {
        try expectRefused(
            Fixtures.observation(["code": Fixtures.marker]),
            .wrongType(path: "Observation.code", expected: "a CodeableConcept object"))
    }

    @Test("an unknown resourceType is refused without repeating it")
    func unknownResourceType() throws {
        try expectRefused(
            Fixtures.observation(["resourceType": Fixtures.marker]),
            .unsupportedResourceType(supported: FHIRResource.supportedTypes))
    }

    @Test("both forms of a choice element are refused, as is neither")
    func choiceElements() throws {
        var immunization = minimalResource("Immunization")
        immunization["occurrenceString"] = Fixtures.marker
        let forms = ["occurrenceDateTime", "occurrenceString"]
        try expectRefused(immunization, .conflictingChoice(path: "Immunization.occurrence[x]", forms: forms))
        immunization["occurrenceString"] = nil
        immunization["occurrenceDateTime"] = nil
        let error = try expectRefused(immunization)
        guard case .missingElement(path: "Immunization.occurrence[x]", _) = error else {
            Issue.record("got \(error)")
            return
        }
    }

    @Test(
        "JSON that is not an object is refused",
        arguments: ["[\"\(Fixtures.marker)\"]", "\"\(Fixtures.marker)\"", "42", "null"])
    func nonObject(json: String) throws {
        try expectRefused(bytes: Array(json.utf8), .notAnObject)
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() throws {
        let json = Array("{\"note\": \"\(Fixtures.marker)".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)
        try expectRefused(bytes: json, .notUTF8)
    }

    @Test(
        "invalid JSON is refused without Foundation's message",
        arguments: ["{\"note\": \"\(Fixtures.marker)\"", "{note: \"\(Fixtures.marker)\"}", "\(Fixtures.marker)", ""])
    func invalidJSON(json: String) throws {
        try expectRefused(bytes: Array(json.utf8), .notJSON)
    }

    @Test("input over 1 MiB is refused before parsing")
    func oversized() throws {
        var resource = Fixtures.observation()
        resource["note"] = [["text": Fixtures.marker + String(repeating: "x", count: FHIRResource.maxByteCount)]]
        let json = Fixtures.json(resource)
        try expectRefused(bytes: json, .tooLarge(byteCount: json.count, limit: FHIRResource.maxByteCount))
    }

    @Test("input nested deeper than the limit is refused before parsing")
    func tooDeep() throws {
        let depth = FHIRResource.maxNestingDepth
        let deep =
            String(repeating: "[", count: depth) + "\"\(Fixtures.marker)\"" + String(repeating: "]", count: depth)
        let json = Array("{\"resourceType\":\"Observation\",\"extension\":\(deep)}".utf8)
        try expectRefused(bytes: json, .nestedTooDeep(limit: depth))
    }

    @Test("the nesting scan counts objects and arrays at their depth and ignores brackets inside strings")
    func nestingScan() {
        let limit = 3
        #expect(!FHIRResource.nestingExceeds(limit, in: Array("{\"a\":[{}]}".utf8)))
        #expect(FHIRResource.nestingExceeds(limit, in: Array("{\"a\":[{\"b\":[]}]}".utf8)))
        #expect(!FHIRResource.nestingExceeds(limit, in: Array("{\"a\":\"[[[[\\\"[[\"}".utf8)))
    }

    // MARK: Helpers

    /// Expects `resource` to be refused with `expected`, and the error's description not to quote the marker.
    private func expectRefused(
        _ resource: [String: Any], _ expected: FHIRResourceError, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try expectRefused(bytes: Fixtures.json(resource), expected, sourceLocation: sourceLocation)
    }

    private func expectRefused(
        bytes: [UInt8], _ expected: FHIRResourceError, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let error = try expectRefused(bytes: bytes, sourceLocation: sourceLocation)
        #expect(error == expected, sourceLocation: sourceLocation)
    }

    @discardableResult
    private func expectRefused(_ resource: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> FHIRResourceError
    {
        try expectRefused(bytes: Fixtures.json(resource), sourceLocation: sourceLocation)
    }

    private func expectRefused(bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> FHIRResourceError
    {
        let error = try #require(throws: FHIRResourceError.self, sourceLocation: sourceLocation) {
            try FHIRResource(json: bytes, patient: patient)
        }
        #expect(!error.description.contains(Fixtures.marker), sourceLocation: sourceLocation)
        #expect(!String(describing: VaultError.invalidResource(error)).contains(Fixtures.marker))
        return error
    }

    private func parse(_ json: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }

    private func subjectIdentifier(of object: [String: Any], element: String) -> String? {
        let identifier = (object[element] as? [String: Any])?["identifier"] as? [String: Any]
        #expect(identifier?["system"] as? String == FHIRResource.patientIdentifierSystem)
        return identifier?["value"] as? String
    }
}

/// A minimal valid resource of each supported type: only its required elements, and the marker in a note.
private func minimalResource(_ typeName: String) -> [String: Any] {
    let concept: [String: Any] = ["coding": [["system": "http://snomed.info/sct", "code": "38341003"]]]
    let required: [String: Any] =
        switch typeName {
        case "CarePlan": ["status": "active", "intent": "plan"]
        case "DiagnosticReport": ["status": "final", "code": concept]
        case "Encounter": ["status": "finished", "class": ["code": "AMB"]]
        case "FamilyMemberHistory": ["status": "completed", "relationship": concept]
        case "Immunization": ["status": "completed", "vaccineCode": concept, "occurrenceDateTime": "2024-05-01"]
        case "MedicationRequest": ["status": "active", "intent": "order", "medicationCodeableConcept": concept]
        case "MedicationStatement": ["status": "active", "medicationReference": ["display": "Metformin"]]
        case "Observation": ["status": "final", "code": concept]
        case "Procedure": ["status": "completed"]
        default: [:]
        }
    return required.merging(["resourceType": typeName, "note": [["text": Fixtures.marker]]]) { old, _ in old }
}
