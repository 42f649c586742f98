import Ledger

/// Ties a resource to the patient it is stored for.
///
/// The patient is named by an Identifier `{"system": "urn:healthledger:patient", "value": "<hlk1… text>"}`:
/// inside a Reference (`subject` or `patient`), or in the list `Patient.identifier`. A resource that names
/// no patient gets that identifier filled in; one that names anybody else, or points somewhere the vault
/// cannot check (a literal `reference`, a non-Patient `type`, another identifier system), is refused.
/// That way a stored record can never say it is about someone other than the patient on its chain entry.
enum FHIRPatientBinding {
    /// Rewrites `resource` so that its patient element names `patient`, or throws when it names anybody else.
    static func bind(
        _ resource: inout [String: Any], typeName: String, element: FHIRResourceSchema.PatientElement,
        to patient: Identity
    ) throws(FHIRResourceError) {
        switch element {
        case .reference(let name):
            resource[name] = try boundReference(resource[name], path: "\(typeName).\(name)", patient: patient)
        case .identifiers:
            resource["identifier"] = try boundIdentifiers(
                resource["identifier"], path: "\(typeName).identifier", patient: patient)
        }
    }

    /// The Identifier that names `patient`.
    static func identifier(of patient: Identity) -> [String: Any] {
        ["system": FHIRResource.patientIdentifierSystem, "value": patient.text]
    }

    private static func boundReference(_ value: Any?, path: String, patient: Identity) throws(FHIRResourceError)
        -> [String: Any]
    {
        guard let value else { return ["identifier": identifier(of: patient)] }
        guard var reference = value as? [String: Any] else {
            throw .wrongType(path: path, expected: "a Reference object")
        }
        // A literal reference ("Patient/123", a URL, "#contained") resolves outside the vault's knowledge.
        guard reference["reference"] == nil else { throw .unverifiablePatientReference(path: "\(path).reference") }
        if let type = reference["type"], type as? String != "Patient" { throw .otherPatient(path: "\(path).type") }
        guard let named = reference["identifier"] else {
            reference["identifier"] = identifier(of: patient)
            return reference
        }
        try checkNamesPatient(named, path: "\(path).identifier", patient: patient)
        return reference
    }

    private static func checkNamesPatient(_ value: Any, path: String, patient: Identity) throws(FHIRResourceError) {
        guard let identifier = value as? [String: Any] else {
            throw .wrongType(path: path, expected: "an Identifier object")
        }
        guard identifier["system"] as? String == FHIRResource.patientIdentifierSystem,
            identifier["value"] as? String == patient.text
        else { throw .otherPatient(path: path) }
    }

    /// `Patient.identifier` may hold other identifiers of the same person (a hospital number, say), but any
    /// entry of the HealthLedger system must name `patient`; one naming `patient` is added when none does.
    private static func boundIdentifiers(_ value: Any?, path: String, patient: Identity) throws(FHIRResourceError)
        -> [Any]
    {
        guard let value else { return [identifier(of: patient)] }
        let expected = "an array of Identifier objects"
        guard let identifiers = value as? [Any] else { throw .wrongType(path: path, expected: expected) }
        var namesPatient = false
        for entry in identifiers {
            guard let identifier = entry as? [String: Any] else { throw .wrongType(path: path, expected: expected) }
            guard identifier["system"] as? String == FHIRResource.patientIdentifierSystem else { continue }
            guard identifier["value"] as? String == patient.text else { throw .otherPatient(path: path) }
            namesPatient = true
        }
        return namesPatient ? identifiers : identifiers + [identifier(of: patient)]
    }
}
