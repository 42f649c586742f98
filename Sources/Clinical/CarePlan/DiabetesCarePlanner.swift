// The care-plan service: records in, a CarePlan out. The model's risk is part of the plan when the model's
// minimum inputs are met; when they are not, the plan still applies the guideline rules to what was
// recorded and states why the risk is missing (a patient with an A1C but no OGTT still gets a plan).

/// Builds diabetes care plans.
public struct DiabetesCarePlanner: Sendable {
    /// The diabetes model's service.
    public let diagnosis: DiagnosisService

    /// A planner over the diabetes model `model` (sealed; named in plans by its id and content hash).
    public init(model: ClinicalModelFile, extractor: ClinicalFeatureExtractor = .init()) throws(ClinicalServiceError) {
        guard model.task.id == ClinicalTask.diabetes.id else { throw .wrongModelForCarePlan(task: model.task.id) }
        diagnosis = try DiagnosisService(model: model, extractor: extractor)
    }

    /// Extracts `records` as of `asOfMs` and builds the plan.
    ///
    /// - Throws: `ClinicalServiceError` for extraction limits, a missing age (the one input every plan
    ///   needs), or a patient younger than 18.
    public func plan(_ records: [ClinicalRecord], asOfMs: Int64, patient: String? = nil)
        throws(ClinicalServiceError) -> CarePlan
    {
        try plan(snapshot: diagnosis.extractor.extract(records, asOfMs: asOfMs, patient: patient))
    }

    /// Builds the plan from an extracted snapshot.
    public func plan(snapshot: PatientSnapshot) throws(ClinicalServiceError) -> CarePlan {
        let task = ClinicalTask.diabetes.id
        guard case .found(let age) = snapshot.age else {
            throw .insufficientInputs(
                task: task, missing: [MissingInput(name: "Age", reason: snapshot.age.missingReason!)], essential: ["Age"],
                measured: 0, required: 1)
        }
        guard age.value.years >= diagnosis.rule.minimumAgeYears else {
            throw .outsideModelPopulation(task: task, reason: "the care plan is for adults aged 18 or more")
        }
        var risk: DiagnosisResult?
        var riskNotComputed: String?
        do {
            risk = try diagnosis.diagnose(snapshot: snapshot)
        } catch {
            switch error {
            case .insufficientInputs, .outsideModelPopulation: riskNotComputed = error.description
            default: throw error
            }
        }
        let inputs = CarePlanInputs(snapshot: snapshot, risk: risk)!
        let decision = DiabetesCarePlanRules.evaluate(inputs)
        return CarePlan(
            model: diagnosis.reference, asOfMs: snapshot.asOfMs, risk: risk, riskNotComputed: riskNotComputed,
            inputs: inputs.all, path: decision.path, items: decision.items, disclaimer: ClinicalDisclaimer.text)
    }
}
