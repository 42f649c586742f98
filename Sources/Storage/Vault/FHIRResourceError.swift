/// Why a FHIR resource was refused on its way into the vault.
///
/// Safe to print and log: a case names the element by its path in the FHIR definition (for example
/// `Observation.status`) and what the vault expects there, but never repeats a value from the resource,
/// because any value (even a "code" or a key) may carry health information.
public enum FHIRResourceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input is larger than the vault accepts.
    case tooLarge(byteCount: Int, limit: Int)
    /// Objects and arrays nest deeper than the vault accepts.
    case nestedTooDeep(limit: Int)
    /// The input is not valid UTF-8.
    case notUTF8
    /// The input is not valid JSON.
    case notJSON
    /// The JSON is valid but is not an object.
    case notAnObject
    /// `resourceType` is missing, not a string, or not one the vault supports.
    case unsupportedResourceType(supported: [String])
    /// A required element is absent.
    case missingElement(path: String, expected: String)
    /// An element has the wrong JSON type.
    case wrongType(path: String, expected: String)
    /// A code is not in the value set the FHIR definition binds (with "required" strength) to the element.
    case codeNotInValueSet(path: String, allowed: [String])
    /// More than one form of a choice element (such as `medication[x]`) is present.
    case conflictingChoice(path: String, forms: [String])
    /// The element names a patient other than the one the record is stored for.
    case otherPatient(path: String)
    /// The element points at the patient with a literal reference, which the vault cannot check.
    case unverifiablePatientReference(path: String)

    public var description: String {
        switch self {
        case let .tooLarge(byteCount, limit):
            "FHIR resource is \(byteCount) bytes; the vault accepts at most \(limit)"
        case let .nestedTooDeep(limit):
            "FHIR resource nests objects and arrays deeper than \(limit) levels"
        case .notUTF8:
            "FHIR resource is not valid UTF-8"
        case .notJSON:
            "FHIR resource is not valid JSON"
        case .notAnObject:
            "FHIR resource must be a JSON object"
        case let .unsupportedResourceType(supported):
            "resourceType must be a string naming one of: \(supported.joined(separator: ", "))"
        case let .missingElement(path, expected):
            "\(path) is required: expected \(expected)"
        case let .wrongType(path, expected):
            "\(path) has the wrong type: expected \(expected)"
        case let .codeNotInValueSet(path, allowed):
            "\(path) must be one of: \(allowed.joined(separator: ", "))"
        case let .conflictingChoice(path, forms):
            "\(path) takes exactly one of: \(forms.joined(separator: ", "))"
        case let .otherPatient(path):
            "\(path) names a patient other than the record's; expected the identifier {\"system\": "
                + "\"\(FHIRResource.patientIdentifierSystem)\", \"value\": <the patient's hlk1… identity>}"
        case let .unverifiablePatientReference(path):
            "\(path) is a literal reference, which cannot be checked against the record's patient; name the "
                + "patient with an identifier of system \(FHIRResource.patientIdentifierSystem) instead"
        }
    }
}
