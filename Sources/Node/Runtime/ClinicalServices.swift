import Clinical
import Foundation
import Ledger

// The clinical services as the node runs them (DESIGN section 9): `diagnose` is the coronary heart disease
// risk (`heart-v1`), `plan` the type 2 diabetes care plan (`diabetes-v1`). This part is pure: records, the
// access's block time and the patient in, canonical bytes out. The gateway (ServiceGateway.swift) reads the
// records, hashes the bytes and commits the hashes.

/// The shipped models a node serves, loaded and checked against their recorded hashes once, at start.
public struct ClinicalServices: Sendable {
    /// The heart disease model's service: answers `diagnose`.
    public let diagnosis: DiagnosisService
    /// The diabetes care planner: answers `plan`.
    public let carePlanner: DiabetesCarePlanner

    /// Loads `heart` and `diabetes` from the program. A model that fails its content hash stops the node
    /// from starting: results naming a model must come from exactly that model. `limits` bound what one call
    /// reads (records, bytes).
    public static func shipped(limits: ExtractionLimits = .standard) throws(NodeError) -> ClinicalServices {
        do {
            let heart = try ShippedModels.load(named: "heart") { SHA256.hash($0).hex }
            let diabetes = try ShippedModels.load(named: "diabetes") { SHA256.hash($0).hex }
            let extractor = ClinicalFeatureExtractor(limits: limits)
            return ClinicalServices(diagnosis: try DiagnosisService(model: heart, extractor: extractor),
                                    carePlanner: try DiabetesCarePlanner(model: diabetes, extractor: extractor))
        } catch let error as ShippedModelError {
            throw .configuration("cannot load the clinical models: \(error)")
        } catch {
            throw .configuration("cannot serve the clinical models: \(error)")
        }
    }

    /// The model that answers `action`, as the ledger names it: its id and the SHA-256 of its canonical file.
    public func model(for action: AccessAction) -> Ledger.ModelReference {
        let reference = service(for: action).reference
        guard let id = ModelID(reference.id), let hash = SHA256Digest(hex: reference.contentHash) else {
            preconditionFailure("a shipped model's id and content hash fit the ledger's ModelReference")
        }
        return Ledger.ModelReference(id: id, hash: hash)
    }

    private func service(for action: AccessAction) -> DiagnosisService {
        switch action {
        case .diagnose: return diagnosis
        case .plan: return carePlanner.diagnosis
        case .read: preconditionFailure("read is not a clinical service")
        }
    }

    /// Runs the service of `action` over a patient's records as of `asOfMs` (the access's block time).
    /// Always gives canonical bytes to commit: the result, or a refusal document when the service cannot
    /// run on these records, so every allowed call gets a receipt on the ledger.
    public func run(_ action: AccessAction, records: [ClinicalRecord], asOfMs: Int64, patient: String) -> ServiceOutput {
        let service = service(for: action)
        let snapshot: PatientSnapshot
        do {
            snapshot = try service.extractor.extract(records, asOfMs: asOfMs, patient: patient)
        } catch {
            return refuse(action, error, recordIDs: records.map(\.id), asOfMs: asOfMs)
        }
        do {
            switch action {
            case .diagnose:
                let result = try diagnosis.diagnose(snapshot: snapshot)
                return ServiceOutput(model: model(for: action), inputs: result.inputsCanonicalJSON(), output: result.canonicalJSON(), refusal: nil)
            default:
                let plan = try carePlanner.plan(snapshot: snapshot)
                return ServiceOutput(model: model(for: action), inputs: plan.inputsCanonicalJSON(), output: plan.canonicalJSON(), refusal: nil)
            }
        } catch {
            let inputs = service.featureMap.inputs(from: snapshot).canonicalValue(format: DiagnosisResult.inputsFormat)
            return refusal(action, error, inputs: CanonicalJSON.encode(inputs), asOfMs: asOfMs)
        }
    }

    /// The refusal of a request whose records could not be read as a batch (too many, too large, ...): its
    /// inputs are the record ids and the as-of time (`healthledger-service-records/1`).
    public func refuse(_ action: AccessAction, _ error: ClinicalServiceError, recordIDs: [String], asOfMs: Int64) -> ServiceOutput {
        let inputs = CanonicalJSON.encode(.object([
            "format": .string(ServiceOutput.recordsFormat), "as_of_ms": .integer(asOfMs),
            "records": .array(recordIDs.sorted().map { .string($0) }),
        ]))
        return refusal(action, error, inputs: inputs, asOfMs: asOfMs)
    }

    /// The most record bytes one call reads (the extractor's own limit, checked here before decrypting more).
    public var maxRecordBytes: Int { diagnosis.extractor.limits.maxTotalBytes }

    private func refusal(_ action: AccessAction, _ error: ClinicalServiceError, inputs: [UInt8], asOfMs: Int64) -> ServiceOutput {
        let refusal = ServiceRefusal(error)
        let reference = service(for: action).reference
        let document = JSONValue.object([
            "format": .string(ServiceOutput.refusalFormat),
            "action": .string(action.name),
            "task": .string(service(for: action).model.task.id),
            "model": reference.canonicalValue,
            "as_of_ms": .integer(asOfMs),
            "as_of": .string(FHIRDateTime.format(ms: asOfMs)),
            "reason": .string(refusal.reason),
            "detail": .string(refusal.detail),
            "missing": .array(refusal.missing.map(\.canonicalValue)),
            "essential": .array(refusal.essential.map { .string($0) }),
            "measured": refusal.measured.map { .integer(Int64($0)) } ?? .null,
            "required": refusal.required.map { .integer(Int64($0)) } ?? .null,
        ])
        return ServiceOutput(model: model(for: action), inputs: inputs, output: CanonicalJSON.encode(document), refusal: refusal)
    }
}

/// What a service run produced: the bytes whose SHA-256 go on the ledger as the input and output hashes.
public struct ServiceOutput: Sendable {
    /// The layout of a refusal document (docs/API.md).
    public static let refusalFormat = "healthledger-service-refusal/1"
    /// The layout of the inputs of a refusal that came before any input could be read: the record ids.
    public static let recordsFormat = "healthledger-service-records/1"

    /// The model that answered.
    public let model: Ledger.ModelReference
    /// The canonical inputs (`healthledger-model-inputs/1`, `healthledger-care-plan-inputs/1`, or the
    /// record list of a refusal before extraction).
    public let inputs: [UInt8]
    /// The canonical result (`healthledger-diagnosis/1`, `healthledger-care-plan/1`) or refusal.
    public let output: [UInt8]
    /// Why the service did not compute a result; nil when `output` is one.
    public let refusal: ServiceRefusal?
}

/// Why a service did not compute a result. Safe to print and log: it names inputs, rules and limits,
/// never a value from a record (`ClinicalServiceError`'s guarantee).
public struct ServiceRefusal: Sendable {
    /// A stable name: `insufficient-inputs`, `outside-model-population`, `too-many-records`, ...
    public let reason: String
    /// The refusal in words (`ClinicalServiceError.description`).
    public let detail: String
    /// The missing inputs with why each is missing (for `insufficient-inputs`).
    public let missing: [MissingInput]
    /// The missing inputs the minimum-inputs rule requires.
    public let essential: [String]
    /// How many inputs were measured (for `insufficient-inputs`).
    public let measured: Int?
    /// How many measured inputs the rule requires (for `insufficient-inputs`).
    public let required: Int?

    init(_ error: ClinicalServiceError) {
        detail = error.description
        if case let .insufficientInputs(_, missing, essential, measured, required) = error {
            reason = "insufficient-inputs"
            (self.missing, self.essential, self.measured, self.required) = (missing, essential, measured, required)
            return
        }
        (missing, essential, measured, required) = ([], [], nil, nil)
        switch error {
        case .insufficientInputs: preconditionFailure("handled above")
        case .outsideModelPopulation: reason = "outside-model-population"
        case .tooManyRecords: reason = "too-many-records"
        case .recordsTooLarge: reason = "records-too-large"
        case .invalidRecordID: reason = "invalid-record-id"
        case .duplicateRecordID: reason = "duplicate-record-id"
        case .invalidAsOf: reason = "invalid-as-of"
        case .recordForOtherPatient: reason = "record-for-other-patient"
        case .unsupportedTask: reason = "unsupported-task"
        case .modelNotSealed: reason = "model-not-sealed"
        case .invalidModelID: reason = "invalid-model-id"
        case .wrongModelForCarePlan: reason = "wrong-model-for-care-plan"
        case .modelOutputOutOfRange: reason = "model-output-out-of-range"
        }
    }
}
