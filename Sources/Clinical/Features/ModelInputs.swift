// Which snapshot value feeds which model feature, and the resulting row with the provenance of every value.

/// Where a model feature's value comes from.
public enum FeatureSource: Sendable, Equatable {
    /// Age in whole years at the as-of time, from `Patient.birthDate`.
    case ageYears
    /// 1 for `Patient.gender` male, 0 for female.
    case sexMale
    /// A measurement's most recent value.
    case measurement(ClinicalMeasurement)
    /// Cleveland `fbs`: the more recent of a recorded "fasting glucose > 120 mg/dL" flag and a fasting
    /// plasma glucose (1 when above 120 mg/dL). On equal times the glucose value wins.
    case fastingGlucoseAbove120
    /// Pima `Pregnancies`: the recorded count; for a male patient without one, 0.
    case pregnanciesOrZeroForMale
}

/// One model feature and its source.
public struct FeatureBinding: Sendable, Equatable {
    /// The feature name, as in `ClinicalTask.features`.
    public let feature: String
    /// Where its value comes from.
    public let source: FeatureSource
}

/// Where a model input value came from.
public struct InputSource: Sendable, Equatable {
    /// The record holding it.
    public let recordID: String
    /// The element read: `Patient.birthDate`, `Patient.gender`, or `Observation` with its code.
    public let element: String
    /// The code that identified an Observation value.
    public let coding: Coding?
    /// When the value was measured; nil for patient elements.
    public let effectiveMs: Int64?
}

/// A model input that was measured (or derived from a measured value), with its provenance.
public struct InputValue: Sendable, Equatable {
    /// The model feature.
    public let name: String
    /// The value given to the model.
    public let value: Double
    /// Its unit.
    public let unit: String
    /// Where it came from.
    public let source: InputSource
    /// The value as the record states it, when it differs in form (a converted unit, a code, a flag).
    public let reportedValue: String?
    /// The unit as the record states it.
    public let reportedUnit: String?
    /// How the value was derived, when it is not the record's value itself.
    public let derivation: String?
}

/// A model input that was not measured.
public struct MissingInput: Sendable, Equatable {
    /// The model feature.
    public let name: String
    /// Why it is missing.
    public let reason: MissingReason
}

/// A model's raw feature row built from a snapshot, with what was used and what is missing.
public struct ModelInputs: Sendable, Equatable {
    /// The task id.
    public let taskID: String
    /// The as-of time of the snapshot.
    public let asOfMs: Int64
    /// One value per feature in task order; nil where missing (the model imputes it).
    public let row: [Double?]
    /// The measured inputs, in task order.
    public let used: [InputValue]
    /// The missing inputs, in task order.
    public let missing: [MissingInput]
}

/// The feature bindings of one task.
public struct TaskFeatureMap: Sendable, Equatable {
    /// The task id (`ClinicalTask.id`).
    public let taskID: String
    /// One binding per feature, in task order.
    public let bindings: [FeatureBinding]

    /// UCI Cleveland heart disease.
    public static let heart = TaskFeatureMap(
        taskID: ClinicalTask.heart.id,
        bindings: [
            FeatureBinding(feature: "age", source: .ageYears),
            FeatureBinding(feature: "sex", source: .sexMale),
            FeatureBinding(feature: "cp", source: .measurement(.chestPainType)),
            FeatureBinding(feature: "trestbps", source: .measurement(.systolicBloodPressure)),
            FeatureBinding(feature: "chol", source: .measurement(.totalCholesterol)),
            FeatureBinding(feature: "fbs", source: .fastingGlucoseAbove120),
            FeatureBinding(feature: "restecg", source: .measurement(.restingECG)),
            FeatureBinding(feature: "thalach", source: .measurement(.maxHeartRateExercise)),
            FeatureBinding(feature: "exang", source: .measurement(.exerciseInducedAngina)),
            FeatureBinding(feature: "oldpeak", source: .measurement(.stDepressionExercise)),
            FeatureBinding(feature: "slope", source: .measurement(.stSlopePeakExercise)),
            FeatureBinding(feature: "ca", source: .measurement(.majorVesselsFluoroscopy)),
            FeatureBinding(feature: "thal", source: .measurement(.thalliumStressResult)),
        ])

    /// Pima type 2 diabetes.
    public static let diabetes = TaskFeatureMap(
        taskID: ClinicalTask.diabetes.id,
        bindings: [
            FeatureBinding(feature: "Pregnancies", source: .pregnanciesOrZeroForMale),
            FeatureBinding(feature: "Glucose", source: .measurement(.glucose2hOGTT)),
            FeatureBinding(feature: "BloodPressure", source: .measurement(.diastolicBloodPressure)),
            FeatureBinding(feature: "SkinThickness", source: .measurement(.tricepsSkinfold)),
            FeatureBinding(feature: "Insulin", source: .measurement(.insulin2hOGTT)),
            FeatureBinding(feature: "BMI", source: .measurement(.bodyMassIndex)),
            FeatureBinding(feature: "DiabetesPedigreeFunction", source: .measurement(.diabetesPedigreeFunction)),
            FeatureBinding(feature: "Age", source: .ageYears),
        ])

    /// The map for `task`: matched by id, and only when the task's features are exactly the bound ones.
    public static func forTask(_ task: ClinicalTask) -> TaskFeatureMap? {
        [heart, diabetes].first { $0.taskID == task.id && $0.bindings.map(\.feature) == task.features.map(\.name) }
    }

    /// The feature row and its provenance.
    public func inputs(from snapshot: PatientSnapshot) -> ModelInputs {
        var row: [Double?] = []
        var used: [InputValue] = []
        var missing: [MissingInput] = []
        for binding in bindings {
            switch Self.resolve(binding, in: snapshot) {
            case .found(let input):
                row.append(input.value)
                used.append(input)
            case .unavailable(let reason):
                row.append(nil)
                missing.append(MissingInput(name: binding.feature, reason: reason))
            }
        }
        return ModelInputs(taskID: taskID, asOfMs: snapshot.asOfMs, row: row, used: used, missing: missing)
    }

    static func resolve(_ binding: FeatureBinding, in snapshot: PatientSnapshot) -> Extracted<InputValue> {
        let name = binding.feature
        switch binding.source {
        case .ageYears:
            return map(snapshot.age) { age in
                InputValue(
                    name: name, value: Double(age.value.years), unit: "a",
                    source: InputSource(recordID: age.recordID, element: "Patient.birthDate", coding: nil, effectiveMs: nil),
                    reportedValue: age.value.birthDate.text, reportedUnit: nil,
                    derivation: "whole years from Patient.birthDate to the as-of time")
            }
        case .sexMale:
            return sexMale(snapshot.gender, name: name)
        case .measurement(let measurement):
            return map(snapshot.extracted(measurement)) { observation(name: name, $0) }
        case .fastingGlucoseAbove120:
            return fastingGlucoseAbove120(snapshot, name: name)
        case .pregnanciesOrZeroForMale:
            return pregnancies(snapshot, name: name)
        }
    }

    private static func sexMale(_ gender: Extracted<PatientFact<AdministrativeGender>>, name: String)
        -> Extracted<InputValue>
    {
        guard case .found(let fact) = gender else { return .unavailable(gender.missingReason!) }
        guard fact.value == .male || fact.value == .female else {
            return .unavailable(.genderNotMaleOrFemale(recordID: fact.recordID))
        }
        return .found(
            InputValue(
                name: name, value: fact.value == .male ? 1 : 0, unit: "{male=1}",
                source: InputSource(recordID: fact.recordID, element: "Patient.gender", coding: nil, effectiveMs: nil),
                reportedValue: fact.value.rawValue, reportedUnit: nil, derivation: nil))
    }

    private static func fastingGlucoseAbove120(_ snapshot: PatientSnapshot, name: String) -> Extracted<InputValue> {
        let glucose = snapshot.extracted(.fastingGlucose)
        let flag = snapshot.extracted(.fastingGlucoseOver120)
        // On equal times (including neither recorded) the glucose value wins.
        let latest = time(of: flag) > time(of: glucose) ? flag : glucose
        guard case .found(let value) = latest else { return .unavailable(latest.missingReason!) }
        guard value.measurement == .fastingGlucose else { return .found(observation(name: name, value)) }
        let above = value.value > 120
        return .found(
            InputValue(
                name: name, value: above ? 1 : 0, unit: "{yes=1}", source: source(of: value),
                reportedValue: value.reportedValue, reportedUnit: value.reportedUnit,
                derivation: "fasting plasma glucose \(CanonicalNumber.format(value.value)) mg/dL "
                    + (above ? "> 120" : "<= 120") + " mg/dL"))
    }

    /// A found value's time, a refused one's time, or the earliest possible time when never recorded.
    private static func time(of extracted: Extracted<MeasuredValue>) -> Int64 {
        switch extracted {
        case .found(let value): value.effectiveMs
        case .unavailable(.mostRecentRefused(_, let effectiveMs, _)): effectiveMs
        case .unavailable: Int64.min
        }
    }

    private static func pregnancies(_ snapshot: PatientSnapshot, name: String) -> Extracted<InputValue> {
        let recorded = snapshot.extracted(.pregnancies)
        if case .found(let value) = recorded { return .found(observation(name: name, value)) }
        guard recorded.missingReason == .notRecorded, case .found(let gender) = snapshot.gender, gender.value == .male
        else { return .unavailable(recorded.missingReason!) }
        return .found(
            InputValue(
                name: name, value: 0, unit: "{#}",
                source: InputSource(recordID: gender.recordID, element: "Patient.gender", coding: nil, effectiveMs: nil),
                reportedValue: gender.value.rawValue, reportedUnit: nil,
                derivation: "male patient without a pregnancy count: 0"))
    }

    private static func observation(name: String, _ value: MeasuredValue) -> InputValue {
        let converted = value.reportedUnit != nil && value.reportedUnit != value.unit
        let coded = value.reportedValue != CanonicalNumber.format(value.value)
        return InputValue(
            name: name, value: value.value, unit: value.unit, source: source(of: value),
            reportedValue: converted || coded ? value.reportedValue : nil,
            reportedUnit: converted ? value.reportedUnit : nil,
            derivation: converted ? "converted from \(value.reportedUnit!) to \(value.unit)" : nil)
    }

    private static func source(of value: MeasuredValue) -> InputSource {
        InputSource(
            recordID: value.recordID, element: "Observation \(value.coding.code)", coding: value.coding,
            effectiveMs: value.effectiveMs)
    }

    private static func map<T>(_ extracted: Extracted<T>, _ transform: (T) -> InputValue) -> Extracted<InputValue> {
        switch extracted {
        case .found(let value): .found(transform(value))
        case .unavailable(let reason): .unavailable(reason)
        }
    }
}
