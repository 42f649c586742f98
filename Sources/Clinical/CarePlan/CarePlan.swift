// The diabetes care plan: the model's risk (when it could be computed) plus items chosen by documented,
// guideline-based rules, each with the inputs that triggered it, and the decision path that was taken.

/// A value a care-plan rule read, with where it came from.
public struct PlanInput: Sendable, Equatable {
    /// What it is (`hemoglobin-a1c`, `age`, `model-risk`, ...).
    public let name: String
    /// The value, in `unit`.
    public let value: Double
    /// Its unit.
    public let unit: String
    /// The record it came from; nil for the model's output.
    public let recordID: String?
    /// When it was measured; nil for patient elements and the model's output.
    public let effectiveMs: Int64?

    /// Creates an input.
    public init(name: String, value: Double, unit: String, recordID: String?, effectiveMs: Int64?) {
        self.name = name
        self.value = value
        self.unit = unit
        self.recordID = recordID
        self.effectiveMs = effectiveMs
    }
}

/// The kind of a care-plan item; items are listed in this order.
public enum CarePlanCategory: String, Sendable, CaseIterable, Comparable {
    /// Which test next, and when.
    case followUp = "follow-up"
    /// A referral.
    case referral
    /// A medicine to discuss with the clinician.
    case medication
    /// A weight goal.
    case weight
    /// An eating pattern.
    case diet
    /// A physical-activity goal.
    case activity
    /// Blood pressure follow-up.
    case bloodPressure = "blood-pressure"

    public static func < (lhs: CarePlanCategory, rhs: CarePlanCategory) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A rule of the care plan.
public struct CarePlanRule: Sendable, Equatable {
    /// A stable id, such as `P2`.
    public let id: String
    /// The condition, in words.
    public let text: String
    /// The guideline it comes from.
    public let guideline: Guideline
}

/// One item of the plan.
public struct CarePlanItem: Sendable, Equatable {
    /// A stable code, such as `retest-yearly`.
    public let code: String
    /// Its kind.
    public let category: CarePlanCategory
    /// What to do.
    public let text: String
    /// The rule that chose it.
    public let rule: CarePlanRule
    /// The inputs (and their values) that triggered the rule.
    public let triggeredBy: [PlanInput]
}

/// One node of the decision tree and the branch taken.
public struct DecisionStep: Sendable, Equatable {
    /// The node id (`glycaemic-status`, `weight-status`, `blood-pressure`, `model-risk`).
    public let node: String
    /// The question the node asks.
    public let question: String
    /// The branch taken.
    public let answer: String
    /// The inputs the answer rests on.
    public let inputs: [PlanInput]
}

/// A diabetes care plan.
public struct CarePlan: Sendable, Equatable {
    /// The format tag of the canonical encoding.
    public static let format = "healthledger-care-plan/1"
    /// The format tag of the inputs' canonical encoding.
    public static let inputsFormat = "healthledger-care-plan-inputs/1"

    /// The diabetes model.
    public let model: ModelReference
    /// The time the plan is for.
    public let asOfMs: Int64
    /// The model's result, when its minimum inputs were met.
    public let risk: DiagnosisResult?
    /// Why the risk was not computed (the refusal, naming every missing input), when it was not.
    public let riskNotComputed: String?
    /// The record values the rules read (the model's probability, also read by the rules, is in `risk`).
    public let inputs: [PlanInput]
    /// The decision path, root first.
    public let path: [DecisionStep]
    /// The items, by category then rule id.
    public let items: [CarePlanItem]
    /// "Decision support, not a diagnosis".
    public let disclaimer: String

    /// The canonical bytes of the plan: the output hash is the hash of these.
    public func canonicalJSON() -> [UInt8] { CanonicalJSON.encode(canonicalValue) }

    /// The canonical bytes of everything read from the records: the input hash.
    public func inputsCanonicalJSON() -> [UInt8] {
        CanonicalJSON.encode(
            .object([
                "format": .string(Self.inputsFormat),
                "as_of_ms": .integer(asOfMs),
                "plan_inputs": .array(inputs.map(\.canonicalValue)),
                "model_inputs": risk.map { $0.inputs.canonicalValue(format: DiagnosisResult.inputsFormat) } ?? .null,
            ]))
    }

    /// The input and output hashes, computed by `hash` over the canonical bytes.
    public func hashes<Digest>(using hash: ([UInt8]) -> Digest) -> (input: Digest, output: Digest) {
        (hash(inputsCanonicalJSON()), hash(canonicalJSON()))
    }

    /// The plan as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "format": .string(Self.format),
            "model": model.canonicalValue,
            "as_of_ms": .integer(asOfMs),
            "as_of": .string(FHIRDateTime.format(ms: asOfMs)),
            "risk": risk?.canonicalValue ?? .null,
            "risk_not_computed": .optionalString(riskNotComputed),
            "inputs": .array(inputs.map(\.canonicalValue)),
            "decision_path": .array(path.map(\.canonicalValue)),
            "items": .array(items.map(\.canonicalValue)),
            "disclaimer": .string(disclaimer),
        ])
    }
}

extension PlanInput {
    /// The input as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "name": .string(name),
            "value": .fixed(value),
            "unit": .string(unit),
            "record": .optionalString(recordID),
            "effective_ms": effectiveMs.map { .integer($0) } ?? .null,
        ])
    }
}

extension DecisionStep {
    /// The step as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "node": .string(node), "question": .string(question), "answer": .string(answer),
            "inputs": .array(inputs.map(\.canonicalValue)),
        ])
    }
}

extension CarePlanItem {
    /// The item as a canonical JSON value.
    public var canonicalValue: JSONValue {
        .object([
            "code": .string(code),
            "category": .string(category.rawValue),
            "text": .string(text),
            "rule": .object(["id": .string(rule.id), "text": .string(rule.text)]),
            "guideline": .object(["id": .string(rule.guideline.rawValue), "citation": .string(rule.guideline.citation)]),
            "triggered_by": .array(triggeredBy.map(\.canonicalValue)),
        ])
    }
}
