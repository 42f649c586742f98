// The result of the diagnosis service: probability, band, explanation, inputs with their sources, what
// was imputed and refused, the model, and the disclaimer; with canonical encodings of the result and of its
// inputs whose hashes go on the ledger.

/// The statement every result carries.
public enum ClinicalDisclaimer {
    /// "Decision support, not a diagnosis", with what that means.
    public static let text =
        "Decision support, not a diagnosis: a statistical estimate from a model trained on a public research "
        + "dataset, to be interpreted by a qualified clinician together with the full clinical picture."
}

/// A raw feature that was missing and replaced by the model's training median.
public struct ImputedInput: Sendable, Equatable {
    /// The model feature.
    public let name: String
    /// The value used in its place (fitted on the training data).
    public let value: Double
    /// Its unit.
    public let unit: String
    /// Why it was missing.
    public let reason: MissingReason
}

/// A diagnosis result.
public struct DiagnosisResult: Sendable, Equatable {
    /// The format tag of the canonical encoding.
    public static let format = "healthledger-diagnosis/1"
    /// The format tag of the inputs' canonical encoding.
    public static let inputsFormat = "healthledger-model-inputs/1"

    /// The task id.
    public let taskID: String
    /// The model used.
    public let model: ModelReference
    /// The probability of the positive class (heart disease present; diabetes).
    public let probability: Double
    /// The band of `probability`.
    public let riskBand: RiskBand
    /// The band thresholds and their source.
    public let thresholds: RiskBandThresholds
    /// The model's intercept: the log-odds of a patient at every training mean.
    public let baselineLogOdds: Double
    /// Each model input's log-odds contribution (coefficient × standardised value), largest magnitude first;
    /// ties by name. With `baselineLogOdds` they sum to the log-odds of `probability`.
    public let contributions: [FeatureContribution]
    /// The inputs: used (with sources) and missing.
    public let inputs: ModelInputs
    /// The missing inputs, with the value the model used in their place.
    public let imputed: [ImputedInput]
    /// Observation values that were refused.
    public let refusedObservations: [RefusedObservation]
    /// Records that could not be read.
    public let unreadableRecords: [UnreadableRecord]
    /// The minimum-inputs rule that was met.
    public let minimumInputsRule: String
    /// Caveats about applying the model to this patient.
    public let notes: [String]
    /// "Decision support, not a diagnosis".
    public let disclaimer: String

    /// The canonical bytes of the whole result: the output hash is the hash of these.
    public func canonicalJSON() -> [UInt8] { CanonicalJSON.encode(canonicalValue) }

    /// The canonical bytes of the inputs (what was read from the records): the input hash.
    public func inputsCanonicalJSON() -> [UInt8] { CanonicalJSON.encode(inputs.canonicalValue(format: Self.inputsFormat)) }

    /// The input and output hashes, computed by `hash` (the node passes SHA-256) over the canonical bytes.
    public func hashes<Digest>(using hash: ([UInt8]) -> Digest) -> (input: Digest, output: Digest) {
        (hash(inputsCanonicalJSON()), hash(canonicalJSON()))
    }

    /// The result as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "format": .string(Self.format),
            "task": .string(taskID),
            "model": model.canonicalValue,
            "as_of_ms": .integer(inputs.asOfMs),
            "as_of": .string(FHIRDateTime.format(ms: inputs.asOfMs)),
            "probability": .fixed(probability),
            "risk": .object([
                "band": .string(riskBand.rawValue),
                "intermediate_from": .fixed(thresholds.intermediateFrom),
                "high_from": .fixed(thresholds.highFrom),
                "source": .string(thresholds.source),
            ]),
            "explanation": .object([
                "method": .string(
                    "logistic regression: log-odds = baseline + sum of contributions; a contribution is "
                        + "coefficient x standardised input, 0 at the training mean"),
                "baseline_log_odds": .fixed(baselineLogOdds),
                "contributions": .array(
                    contributions.map { .object(["input": .string($0.name), "log_odds": .fixed($0.logOdds)]) }),
            ]),
            "inputs_used": .array(inputs.used.map(\.canonicalValue)),
            "imputed": .array(imputed.map(\.canonicalValue)),
            "refused_observations": .array(refusedObservations.map(\.canonicalValue)),
            "unreadable_records": .array(unreadableRecords.map(\.canonicalValue)),
            "minimum_inputs_rule": .string(minimumInputsRule),
            "notes": .array(notes.map { .string($0) }),
            "disclaimer": .string(disclaimer),
        ])
    }
}

// MARK: Canonical values of the parts (shared with the care plan)

extension ModelReference {
    /// `{"id": ..., "content_hash": ...}`.
    public var canonicalValue: JSONValue { .object(["id": .string(id), "content_hash": .string(contentHash)]) }
}

extension ModelInputs {
    /// The inputs as a canonical JSON value tagged with `format`.
    public func canonicalValue(format: String) -> JSONValue {
        .object([
            "format": .string(format),
            "task": .string(taskID),
            "as_of_ms": .integer(asOfMs),
            "inputs_used": .array(used.map(\.canonicalValue)),
            "missing": .array(missing.map(\.canonicalValue)),
        ])
    }
}

extension InputValue {
    /// The input as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "name": .string(name),
            "value": .fixed(value),
            "unit": .string(unit),
            "source": source.canonicalValue,
            "reported_value": .optionalString(reportedValue),
            "reported_unit": .optionalString(reportedUnit),
            "derivation": .optionalString(derivation),
        ])
    }
}

extension InputSource {
    /// The source as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "record": .string(recordID),
            "element": .string(element),
            "code": coding.map { .object(["system": .string($0.system), "code": .string($0.code)]) } ?? .null,
            "effective_ms": effectiveMs.map { .integer($0) } ?? .null,
            "effective": effectiveMs.map { .string(FHIRDateTime.format(ms: $0)) } ?? .null,
        ])
    }
}

extension MissingReason {
    /// `{"code": ..., "text": ...}`.
    public var canonicalValue: JSONValue { .object(["code": .string(code), "text": .string(description)]) }
}

extension MissingInput {
    /// The missing input as a canonical JSON value.
    public var canonicalValue: JSONValue { .object(["name": .string(name), "reason": reason.canonicalValue]) }
}

extension ImputedInput {
    /// The imputed input as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "name": .string(name), "value": .fixed(value), "unit": .string(unit), "reason": reason.canonicalValue,
            "rule": .string("median of the model's training data"),
        ])
    }
}

extension RefusedObservation {
    /// The refusal as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "record": .string(recordID),
            "measurement": .string(measurement.rawValue),
            "problem": .object(["code": .string(problem.code), "text": .string(problem.description)]),
        ])
    }
}

extension UnreadableRecord {
    /// The unreadable record as a canonical JSON value.
    public var canonicalValue: JSONValue { .object(["record": .string(recordID), "reason": .string(reason)]) }
}
