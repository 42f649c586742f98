// When a model may run on a patient: enough measured inputs, and a patient inside the population the
// model was built for. Everything else missing is imputed by the model's training medians and listed.

/// The minimum measured inputs of one task.
public struct MinimumInputRule: Sendable, Equatable {
    /// Features that must be measured, whatever else is.
    public let essential: [String]
    /// How many features (essential ones included) must be measured.
    public let minimumMeasured: Int
    /// The youngest age the model is applied to, in years.
    public let minimumAgeYears: Int
    /// The rule in words, for documentation and results.
    public let text: String

    /// Heart: age, sex and chest pain type, and at least 9 of the 13 features measured.
    ///
    /// Age and sex set the baseline risk and are always in the record; the chest pain type is the
    /// presenting complaint the model is built around. At most 4 of the rest may be imputed: enough for the
    /// two tests that need fluoroscopy or a thallium scan (`ca`, `thal`), which many patients never have,
    /// plus two others; beyond that the result would mostly restate the training medians.
    public static let heart = MinimumInputRule(
        essential: ["age", "sex", "cp"], minimumMeasured: 9, minimumAgeYears: 18,
        text: "age, sex and cp must be measured, and at least 9 of the 13 features; adults (18 or older) only")

    /// Diabetes: 2-hour OGTT glucose, BMI and age, and at least 5 of the 8 features measured.
    ///
    /// The 2-hour glucose is the test the Pima outcome was defined by and the strongest predictor; BMI and
    /// age are the other two strong ones. Skin fold, 2-hour insulin and the pedigree function are often not
    /// measured (the Pima data itself lacks skin fold in 30% and insulin in 49% of rows), so all three may
    /// be imputed.
    public static let diabetes = MinimumInputRule(
        essential: ["Glucose", "BMI", "Age"], minimumMeasured: 5, minimumAgeYears: 18,
        text: "Glucose (2-hour OGTT), BMI and Age must be measured, and at least 5 of the 8 features; "
            + "adults (18 or older) only")

    /// The rule of a task id.
    public static func forTask(_ taskID: String) -> MinimumInputRule? {
        switch taskID {
        case ClinicalTask.heart.id: heart
        case ClinicalTask.diabetes.id: diabetes
        default: nil
        }
    }

    /// Creates a rule.
    public init(essential: [String], minimumMeasured: Int, minimumAgeYears: Int, text: String) {
        precondition(minimumMeasured >= essential.count && minimumAgeYears >= 0)
        self.essential = essential
        self.minimumMeasured = minimumMeasured
        self.minimumAgeYears = minimumAgeYears
        self.text = text
    }

    /// Throws when `inputs` do not meet the rule; the error lists every missing input.
    public func check(_ inputs: ModelInputs, age: Extracted<PatientFact<PatientAge>>) throws(ClinicalServiceError) {
        let missingNames = Set(inputs.missing.map(\.name))
        let essentialMissing = essential.filter(missingNames.contains)
        guard essentialMissing.isEmpty, inputs.used.count >= minimumMeasured else {
            throw .insufficientInputs(
                task: inputs.taskID, missing: inputs.missing, essential: essentialMissing, measured: inputs.used.count,
                required: minimumMeasured)
        }
        if let years = age.value?.value.years, years < minimumAgeYears {
            throw .outsideModelPopulation(
                task: inputs.taskID, reason: "the model is for adults aged \(minimumAgeYears) or more")
        }
    }
}
