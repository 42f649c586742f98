// The code systems the feature extractor reads. docs/CLINICAL-FEATURES.md lists every code it accepts.

/// Code system URIs, as they appear in `Coding.system`.
public enum CodeSystem {
    /// LOINC.
    public static let loinc = "http://loinc.org"
    /// UCUM units, in `Quantity.system`.
    public static let ucum = "http://unitsofmeasure.org"
    /// The project's own codes, for model inputs that have no plain LOINC code (chest pain type, thallium
    /// result, ...) and for their answer values.
    public static let feature = "https://healthledger.example/fhir/CodeSystem/feature"
    /// CDC Race & Ethnicity code set (OID 2.16.840.1.113883.6.238), used by the US Core race extension.
    public static let cdcRaceAndEthnicity = "urn:oid:2.16.840.1.113883.6.238"
    /// The Identifier system under which the vault names a record's patient (same as the vault's).
    public static let healthLedgerPatient = "urn:healthledger:patient"
}

/// A code in a code system.
public struct Coding: Sendable, Hashable, Codable {
    /// The code system URI.
    public let system: String
    /// The code.
    public let code: String

    /// Creates a coding.
    public init(system: String, code: String) {
        self.system = system
        self.code = code
    }

    /// A LOINC code.
    public static func loinc(_ code: String) -> Coding { Coding(system: CodeSystem.loinc, code: code) }

    /// A code of the project's feature code system.
    public static func feature(_ code: String) -> Coding { Coding(system: CodeSystem.feature, code: code) }

    /// `system|code`, the FHIR token form.
    public var token: String { system + "|" + code }
}
