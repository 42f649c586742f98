import Foundation
import Ledger

/// A FHIR R4 JSON resource accepted into the vault: bounded, checked for shape, tied to one patient and
/// normalised.
///
/// The normalised form (keys sorted, no whitespace) is what the vault encrypts and what the on-chain
/// commitment covers, so the same resource always yields the same bytes. Note that re-serialising goes
/// through Foundation's number type: a decimal such as `1.50` comes back as `1.5`.
public struct FHIRResource: Sendable {
    /// The largest input accepted, in bytes (1 MiB).
    public static let maxByteCount = 1 << 20
    /// The deepest nesting of objects and arrays accepted. FHIR resources rarely go beyond 10; the bound keeps
    /// a hostile input from exhausting the parser's stack.
    public static let maxNestingDepth = 64
    /// The Identifier system under which a resource names its patient; the value is the `hlk1…` identity text.
    public static let patientIdentifierSystem = "urn:healthledger:patient"
    /// The `resourceType` values the vault accepts, sorted.
    public static var supportedTypes: [String] { FHIRResourceSchema.supportedTypeNames }

    /// The resource type, such as `Observation`.
    public let type: RecordType
    /// The patient the resource is about.
    public let patient: Identity
    /// The normalised JSON. Health data: keep it out of logs and error messages.
    public let normalizedJSON: [UInt8]

    /// Validates `json` as a resource about `patient` and normalises it.
    ///
    /// - Throws: `FHIRResourceError` naming the first problem found; it never quotes the resource.
    public init(json: [UInt8], patient: Identity) throws(FHIRResourceError) {
        var resource = try Self.parseObject(json)
        guard let typeName = resource["resourceType"] as? String,
            let schema = FHIRResourceSchema.byTypeName[typeName]
        else { throw .unsupportedResourceType(supported: Self.supportedTypes) }
        try schema.checkRequiredElements(of: resource, typeName: typeName)
        try FHIRPatientBinding.bind(&resource, typeName: typeName, element: schema.patientElement, to: patient)
        guard let type = RecordType(typeName) else {
            preconditionFailure("every supported resource type is a valid record type")
        }
        self.type = type
        self.patient = patient
        self.normalizedJSON = try Self.normalize(resource)
    }

    /// Parses `json` into an object after checking its size, encoding and nesting depth.
    private static func parseObject(_ json: [UInt8]) throws(FHIRResourceError) -> [String: Any] {
        guard json.count <= maxByteCount else { throw .tooLarge(byteCount: json.count, limit: maxByteCount) }
        // Foundation would also guess UTF-16 and UTF-32; FHIR JSON is UTF-8 only.
        guard String(validating: json, as: UTF8.self) != nil else { throw .notUTF8 }
        guard !nestingExceeds(maxNestingDepth, in: json) else { throw .nestedTooDeep(limit: maxNestingDepth) }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
        } catch {
            // Foundation's message may quote the input, so it is not passed on.
            throw .notJSON
        }
        guard let object = value as? [String: Any] else { throw .notAnObject }
        return object
    }

    /// True when objects and arrays in `json` nest deeper than `limit`. Runs before the parser, which
    /// recurses once per level; brackets inside strings do not count.
    static func nestingExceeds(_ limit: Int, in json: [UInt8]) -> Bool {
        var depth = 0
        var isInString = false
        var isEscaped = false
        for byte in json {
            if isInString {
                if isEscaped {
                    isEscaped = false
                } else if byte == UInt8(ascii: "\\") {
                    isEscaped = true
                } else if byte == UInt8(ascii: "\"") {
                    isInString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): isInString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return false
    }

    private static func normalize(_ resource: [String: Any]) throws(FHIRResourceError) -> [UInt8] {
        // Anything JSONSerialization parsed, it can write; the catch only guards against a Foundation change.
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: resource, options: [.sortedKeys, .withoutEscapingSlashes])
        else { throw .notJSON }
        return [UInt8](data)
    }
}
