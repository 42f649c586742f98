/// What the vault checks in one FHIR R4 resource type: where the resource names its patient, and the
/// elements the R4 definition makes required (cardinality 1..1), with their JSON types and, for codes, the
/// value set bound with "required" strength.
///
/// The element that names the patient (`subject` or `patient`) is required for several types, but it is
/// not listed here: the vault fills it in when it is absent (see `FHIRPatientBinding`).
/// Optional elements are not checked; this is a shape check on the way in, not a full FHIR validator.
struct FHIRResourceSchema: Sendable {
    /// Where a resource names the patient it is about.
    enum PatientElement: Sendable {
        /// A Reference element, `subject` or `patient`.
        case reference(String)
        /// The resource is the patient: `Patient.identifier`, a list of Identifier.
        case identifiers
    }

    /// The JSON shape of an element.
    enum Shape: Sendable {
        /// A complex FHIR type (CodeableConcept, Coding, Reference, ...): a JSON object.
        case object(String)
        /// A FHIR primitive carried as a JSON string (dateTime, string, ...).
        case string(String)

        var expected: String {
            switch self {
            case .object(let type): "a \(type) object"
            case .string(let type): "a \(type) string"
            }
        }

        func matches(_ value: Any) -> Bool {
            switch self {
            case .object: value is [String: Any]
            case .string: value is String
            }
        }
    }

    /// One required element.
    enum Requirement: Sendable {
        /// A `code` bound to a required value set.
        case code(String, valueSet: [String])
        /// An element of the given shape.
        case element(String, Shape)
        /// A choice element `name[x]`: exactly one of its forms, such as `medicationCodeableConcept`.
        case choice(String, forms: [(element: String, shape: Shape)])
    }

    let patientElement: PatientElement
    let requirements: [Requirement]

    /// Throws for the first required element that is absent or of the wrong shape.
    func checkRequiredElements(of resource: [String: Any], typeName: String) throws(FHIRResourceError) {
        for requirement in requirements {
            try requirement.check(resource, typeName: typeName)
        }
    }
}

extension FHIRResourceSchema.Requirement {
    fileprivate func check(_ resource: [String: Any], typeName: String) throws(FHIRResourceError) {
        switch self {
        case let .code(name, valueSet):
            let path = "\(typeName).\(name)"
            guard let value = resource[name] else { throw .missingElement(path: path, expected: "a code string") }
            guard let code = value as? String else { throw .wrongType(path: path, expected: "a code string") }
            guard valueSet.contains(code) else { throw .codeNotInValueSet(path: path, allowed: valueSet) }
        case let .element(name, shape):
            let path = "\(typeName).\(name)"
            guard let value = resource[name] else { throw .missingElement(path: path, expected: shape.expected) }
            guard shape.matches(value) else { throw .wrongType(path: path, expected: shape.expected) }
        case let .choice(name, forms):
            try checkChoice(resource, path: "\(typeName).\(name)[x]", typeName: typeName, forms: forms)
        }
    }

    private func checkChoice(
        _ resource: [String: Any], path: String, typeName: String,
        forms: [(element: String, shape: FHIRResourceSchema.Shape)]
    ) throws(FHIRResourceError) {
        let formNames = forms.map(\.element)
        let present = forms.filter { resource[$0.element] != nil }
        guard present.count <= 1 else { throw .conflictingChoice(path: path, forms: formNames) }
        guard let form = present.first else {
            throw .missingElement(path: path, expected: "one of \(formNames.joined(separator: ", "))")
        }
        guard form.shape.matches(resource[form.element]!) else {
            throw .wrongType(path: "\(typeName).\(form.element)", expected: form.shape.expected)
        }
    }
}

// MARK: The supported types (FHIR R4, v4.0.1)

extension FHIRResourceSchema {
    /// The schema of each resource type the vault accepts, by `resourceType`.
    static let byTypeName: [String: FHIRResourceSchema] = [
        "AllergyIntolerance": FHIRResourceSchema(patientElement: .reference("patient"), requirements: []),
        "CarePlan": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [.code("status", valueSet: requestStatus), .code("intent", valueSet: carePlanIntent)]),
        "Condition": FHIRResourceSchema(patientElement: .reference("subject"), requirements: []),
        "DiagnosticReport": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [
                .code("status", valueSet: diagnosticReportStatus), .element("code", .object("CodeableConcept")),
            ]),
        "Encounter": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [.code("status", valueSet: encounterStatus), .element("class", .object("Coding"))]),
        "FamilyMemberHistory": FHIRResourceSchema(
            patientElement: .reference("patient"),
            requirements: [
                .code("status", valueSet: familyHistoryStatus), .element("relationship", .object("CodeableConcept")),
            ]),
        "Immunization": FHIRResourceSchema(
            patientElement: .reference("patient"),
            requirements: [
                .code("status", valueSet: immunizationStatus), .element("vaccineCode", .object("CodeableConcept")),
                .choice(
                    "occurrence",
                    forms: [("occurrenceDateTime", .string("dateTime")), ("occurrenceString", .string("string"))]),
            ]),
        "MedicationRequest": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [
                .code("status", valueSet: medicationRequestStatus),
                .code("intent", valueSet: medicationRequestIntent), medication,
            ]),
        "MedicationStatement": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [.code("status", valueSet: medicationStatementStatus), medication]),
        "Observation": FHIRResourceSchema(
            patientElement: .reference("subject"),
            requirements: [.code("status", valueSet: observationStatus), .element("code", .object("CodeableConcept"))]),
        "Patient": FHIRResourceSchema(patientElement: .identifiers, requirements: []),
        "Procedure": FHIRResourceSchema(
            patientElement: .reference("subject"), requirements: [.code("status", valueSet: eventStatus)]),
    ]

    /// The supported `resourceType` values, sorted.
    static let supportedTypeNames = byTypeName.keys.sorted()

    private static let medication = Requirement.choice(
        "medication",
        forms: [
            ("medicationCodeableConcept", .object("CodeableConcept")),
            ("medicationReference", .object("Reference")),
        ])

    // Value sets bound with "required" strength in R4.
    private static let observationStatus = [
        "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
    ]
    private static let diagnosticReportStatus = [
        "registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled",
        "entered-in-error", "unknown",
    ]
    private static let eventStatus = [
        "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown",
    ]
    private static let encounterStatus = [
        "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error",
        "unknown",
    ]
    private static let medicationRequestStatus = [
        "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown",
    ]
    private static let medicationRequestIntent = [
        "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option",
    ]
    private static let medicationStatementStatus = [
        "active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken",
    ]
    private static let immunizationStatus = ["completed", "entered-in-error", "not-done"]
    private static let requestStatus = [
        "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown",
    ]
    private static let carePlanIntent = ["proposal", "plan", "order", "option"]
    private static let familyHistoryStatus = ["partial", "completed", "entered-in-error", "health-unknown"]
}
