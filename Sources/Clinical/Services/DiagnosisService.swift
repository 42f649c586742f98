// The diagnosis service: records in, a DiagnosisResult out (or a typed refusal). Pure: the node reads the
// records from the vault, passes the time, and hashes the canonical bytes.

/// Runs one model over a patient's records.
public struct DiagnosisService: Sendable {
    /// The model file.
    public let model: ClinicalModelFile
    /// Its id and content hash, as results name it.
    public let reference: ModelReference
    /// Which record values feed which feature.
    public let featureMap: TaskFeatureMap
    /// When the model may run.
    public let rule: MinimumInputRule
    /// The risk bands.
    public let thresholds: RiskBandThresholds
    /// The feature extractor.
    public let extractor: ClinicalFeatureExtractor

    /// A service for `model`, which must be sealed and be the heart or diabetes task. Results name the model
    /// by its `modelID` (such as `heart-v1`) and `contentHash`.
    public init(model: ClinicalModelFile, extractor: ClinicalFeatureExtractor = .init()) throws(ClinicalServiceError) {
        guard let contentHash = model.contentHash else { throw .modelNotSealed }
        guard let featureMap = TaskFeatureMap.forTask(model.task), let rule = MinimumInputRule.forTask(model.task.id),
            let thresholds = RiskBandThresholds.forTask(model.task.id)
        else { throw .unsupportedTask(model.task.id) }
        precondition(model.preprocessor.features == model.task.features, "model file checked on decode")
        self.model = model
        self.reference = try ModelReference(id: model.modelID, contentHash: contentHash)
        self.featureMap = featureMap
        self.rule = rule
        self.thresholds = thresholds
        self.extractor = extractor
    }

    /// Extracts the inputs from `records` as of `asOfMs` and runs the model.
    ///
    /// - Throws: `ClinicalServiceError`: extraction limits, too few measured inputs (listing what is
    ///   missing), or a patient outside the model's population.
    public func diagnose(_ records: [ClinicalRecord], asOfMs: Int64, patient: String? = nil)
        throws(ClinicalServiceError) -> DiagnosisResult
    {
        try diagnose(snapshot: extractor.extract(records, asOfMs: asOfMs, patient: patient))
    }

    /// Runs the model on an extracted snapshot.
    public func diagnose(snapshot: PatientSnapshot) throws(ClinicalServiceError) -> DiagnosisResult {
        let inputs = featureMap.inputs(from: snapshot)
        try rule.check(inputs, age: snapshot.age)
        let prediction = model.predict(inputs.row)
        precondition(prediction.imputed == inputs.missing.map(\.name), "the model imputes exactly the missing inputs")
        let contributions = prediction.contributions.sorted {
            abs($0.logOdds) != abs($1.logOdds) ? abs($0.logOdds) > abs($1.logOdds) : $0.name < $1.name
        }
        let result = DiagnosisResult(
            taskID: model.task.id, model: reference, probability: prediction.probability,
            riskBand: thresholds.band(for: prediction.probability), thresholds: thresholds,
            baselineLogOdds: model.intercept, contributions: contributions, inputs: inputs,
            imputed: imputed(inputs.missing), refusedObservations: snapshot.refusedObservations,
            unreadableRecords: snapshot.unreadableRecords, minimumInputsRule: rule.text,
            notes: Self.notes(taskID: model.task.id, snapshot: snapshot), disclaimer: ClinicalDisclaimer.text)
        try Self.checkEncodable(result)
        return result
    }

    private func imputed(_ missing: [MissingInput]) -> [ImputedInput] {
        missing.map { input in
            let index = model.task.features.firstIndex { $0.name == input.name }!
            let binding = featureMap.bindings[index]
            return ImputedInput(
                name: input.name, value: model.preprocessor.imputeValues[index], unit: binding.source.unit,
                reason: input.reason)
        }
    }

    /// Caveats about the population the model was trained on.
    static func notes(taskID: String, snapshot: PatientSnapshot) -> [String] {
        guard taskID == ClinicalTask.diabetes.id else { return [] }
        var notes: [String] = []
        if snapshot.gender.value?.value == .male {
            notes.append(
                "The diabetes model was trained on women of Pima Indian heritage (Pima Indians Diabetes Database); "
                    + "for a male patient the estimate is an extrapolation.")
        }
        if let years = snapshot.age.value?.value.years, years < 21 {
            notes.append("The diabetes model was trained on patients aged 21 or more; this patient is younger.")
        }
        return notes
    }

    /// Every number of a result must be writable canonically; a degenerate model file could produce a
    /// contribution beyond that, and the node must refuse rather than crash.
    static func checkEncodable(_ result: DiagnosisResult) throws(ClinicalServiceError) {
        let numbers =
            [result.probability, result.baselineLogOdds] + result.contributions.map(\.logOdds)
            + result.imputed.map(\.value)
        guard numbers.allSatisfy({ $0.isFinite && abs($0) < CanonicalNumber.maxMagnitude }) else {
            throw .modelOutputOutOfRange
        }
    }
}

extension FeatureSource {
    /// The unit of the feature's value.
    public var unit: String {
        switch self {
        case .ageYears: "a"
        case .sexMale: "{male=1}"
        case .measurement(let measurement): measurement.definition.value.unit
        case .fastingGlucoseAbove120: "{yes=1}"
        case .pregnanciesOrZeroForMale: "{#}"
        }
    }
}
