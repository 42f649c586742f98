// What the extractor looks for in Observations: one entry per measurement, with the codes that identify
// it, the units it accepts (and how they convert to the unit the models were trained in), and the values
// it refuses as implausible. The bounds are plausibility limits that catch unit slips and typing errors
// (a cholesterol of 2000, a systolic pressure of 12), not reference ranges.
//
// docs/CLINICAL-FEATURES.md is the readable form of this file; keep them in step.

/// A measurement the services read from Observations.
public enum ClinicalMeasurement: String, CaseIterable, Sendable, Codable, Comparable {
    /// Systolic blood pressure, mm[Hg] (Cleveland `trestbps`; care-plan blood pressure rules).
    case systolicBloodPressure = "systolic-blood-pressure"
    /// Diastolic blood pressure, mm[Hg] (Pima `BloodPressure`; care-plan blood pressure rules).
    case diastolicBloodPressure = "diastolic-blood-pressure"
    /// Serum total cholesterol, mg/dL (Cleveland `chol`).
    case totalCholesterol = "total-cholesterol"
    /// Fasting plasma glucose, mg/dL (Cleveland `fbs` via > 120 mg/dL; care-plan glycaemic rules).
    case fastingGlucose = "fasting-glucose"
    /// A recorded yes/no "fasting blood sugar > 120 mg/dL" (Cleveland `fbs`).
    case fastingGlucoseOver120 = "fasting-glucose-over-120"
    /// Plasma glucose 2 hours into a 75 g oral glucose tolerance test, mg/dL (Pima `Glucose`; care plan).
    case glucose2hOGTT = "glucose-2h-ogtt"
    /// Haemoglobin A1c, NGSP % (care-plan glycaemic rules).
    case hemoglobinA1c = "hemoglobin-a1c"
    /// Body mass index, kg/m2 (Pima `BMI`; care-plan weight rules).
    case bodyMassIndex = "body-mass-index"
    /// Chest pain type, Cleveland codes 1-4 (`cp`).
    case chestPainType = "chest-pain-type"
    /// Resting ECG result, Cleveland codes 0-2 (`restecg`).
    case restingECG = "resting-ecg"
    /// Maximum heart rate reached in the exercise test, /min (`thalach`).
    case maxHeartRateExercise = "max-heart-rate-exercise"
    /// Angina induced by the exercise test, yes/no (`exang`).
    case exerciseInducedAngina = "exercise-induced-angina"
    /// ST depression induced by exercise relative to rest, mm (`oldpeak`).
    case stDepressionExercise = "st-depression-exercise"
    /// Slope of the peak exercise ST segment, Cleveland codes 1-3 (`slope`).
    case stSlopePeakExercise = "st-slope-peak-exercise"
    /// Major vessels coloured by fluoroscopy, 0-3 (`ca`).
    case majorVesselsFluoroscopy = "major-vessels-fluoroscopy"
    /// Thallium stress scintigraphy result, Cleveland codes 3, 6, 7 (`thal`).
    case thalliumStressResult = "thallium-stress-result"
    /// Number of pregnancies (Pima `Pregnancies`).
    case pregnancies = "pregnancies"
    /// Triceps skinfold thickness, mm (Pima `SkinThickness`).
    case tricepsSkinfold = "triceps-skinfold"
    /// Serum insulin 2 hours into an oral glucose tolerance test, uIU/mL (Pima `Insulin`).
    case insulin2hOGTT = "insulin-2h-ogtt"
    /// Diabetes pedigree function, dimensionless (Pima `DiabetesPedigreeFunction`).
    case diabetesPedigreeFunction = "diabetes-pedigree-function"

    public static func < (lhs: ClinicalMeasurement, rhs: ClinicalMeasurement) -> Bool { lhs.rawValue < rhs.rawValue }

    /// How this measurement is found and read.
    public var definition: MeasurementDefinition { MeasurementCatalog.definitions[self]! }

    /// The measurement a coding identifies, if any.
    public static func identified(by coding: Coding) -> ClinicalMeasurement? { MeasurementCatalog.byCoding[coding] }
}

/// How one measurement is identified and read.
public struct MeasurementDefinition: Sendable {
    /// Human-readable name.
    public let display: String
    /// Codes in `Observation.code.coding` (or `Observation.component.code.coding`) that identify it.
    public let codings: [Coding]
    /// The value form accepted and the checks applied.
    public let value: MeasurementValueRule
}

/// A unit the extractor accepts, and its conversion to the canonical unit: `canonical = value × factor + offset`.
public struct UnitConversion: Sendable, Equatable {
    /// The UCUM code (`Quantity.code`). Empty means a Quantity without any unit (dimensionless values).
    public let ucum: String
    /// Multiplier to the canonical unit.
    public let factor: Double
    /// Added after multiplying.
    public let offset: Double

    /// A conversion; identity by default.
    public init(_ ucum: String, factor: Double = 1, offset: Double = 0) {
        self.ucum = ucum
        self.factor = factor
        self.offset = offset
    }
}

/// One answer of a categorical measurement: the model's numeric code and the project code for it.
public struct CategoryLevel: Sendable, Equatable {
    /// The value the model uses (the dataset's code, such as 4 for asymptomatic chest pain).
    public let value: Double
    /// The code in `CodeSystem.feature` that a `valueCodeableConcept` may carry instead.
    public let code: String
}

/// The forms of value a measurement accepts.
public enum MeasurementValueRule: Sendable {
    /// `valueQuantity` in one of the accepted units, converted to `unit`, refused outside `range`.
    case quantity(unit: String, accepted: [UnitConversion], range: ClosedRange<Double>)
    /// A whole count: `valueInteger`, or a `valueQuantity` with a whole value and unit `1`, `{#}` or none.
    case count(unit: String, range: ClosedRange<Int>)
    /// Yes/no: `valueBoolean`, or `valueInteger` 0 or 1. The model value is 1 for yes.
    case flag
    /// One of the levels: `valueInteger` equal to a level's value, or a `valueCodeableConcept` with a
    /// coding in `CodeSystem.feature` equal to a level's code.
    case category([CategoryLevel])

    /// The unit of the model value, for display (`{code}` for categories, `{yes=1}` for flags).
    public var unit: String {
        switch self {
        case .quantity(let unit, _, _), .count(let unit, _): unit
        case .flag: "{yes=1}"
        case .category: "{code}"
        }
    }
}

/// The table of definitions.
enum MeasurementCatalog {
    /// mg/dL per mmol/L of glucose (molar mass 180.16 g/mol).
    static let glucoseMgDlPerMmolL = 18.016
    /// mg/dL per mmol/L of cholesterol (molar mass 386.65 g/mol).
    static let cholesterolMgDlPerMmolL = 38.67

    static let mgDl = "mg/dL"
    static let mmHg = "mm[Hg]"

    static let glucoseUnits = [UnitConversion(mgDl), UnitConversion("mmol/L", factor: glucoseMgDlPerMmolL)]

    static let definitions: [ClinicalMeasurement: MeasurementDefinition] = [
        .systolicBloodPressure: MeasurementDefinition(
            display: "Systolic blood pressure", codings: [.loinc("8480-6")],
            value: .quantity(unit: mmHg, accepted: [UnitConversion(mmHg)], range: 50...300)),
        .diastolicBloodPressure: MeasurementDefinition(
            display: "Diastolic blood pressure", codings: [.loinc("8462-4")],
            value: .quantity(unit: mmHg, accepted: [UnitConversion(mmHg)], range: 20...200)),
        .totalCholesterol: MeasurementDefinition(
            display: "Cholesterol [Mass/volume] in Serum or Plasma", codings: [.loinc("2093-3")],
            value: .quantity(
                unit: mgDl, accepted: [UnitConversion(mgDl), UnitConversion("mmol/L", factor: cholesterolMgDlPerMmolL)],
                range: 50...1000)),
        .fastingGlucose: MeasurementDefinition(
            display: "Fasting glucose [Mass/volume] in Serum or Plasma", codings: [.loinc("1558-6")],
            value: .quantity(unit: mgDl, accepted: glucoseUnits, range: 20...1500)),
        .fastingGlucoseOver120: MeasurementDefinition(
            display: "Fasting blood glucose above 120 mg/dL", codings: [.feature("fasting-glucose-over-120")],
            value: .flag),
        .glucose2hOGTT: MeasurementDefinition(
            display: "Glucose [Mass/volume] in Serum or Plasma --2 hours post 75 g glucose PO",
            codings: [.loinc("1518-0"), .loinc("14995-5")],
            value: .quantity(unit: mgDl, accepted: glucoseUnits, range: 20...1500)),
        .hemoglobinA1c: MeasurementDefinition(
            display: "Hemoglobin A1c/Hemoglobin.total in Blood",
            codings: [.loinc("4548-4"), .loinc("17856-6"), .loinc("59261-8")],
            value: .quantity(
                unit: "%",
                // IFCC to NGSP master equation: NGSP % = 0.09148 × IFCC mmol/mol + 2.152.
                accepted: [UnitConversion("%"), UnitConversion("mmol/mol", factor: 0.09148, offset: 2.152)],
                range: 3...20)),
        .bodyMassIndex: MeasurementDefinition(
            display: "Body mass index (BMI) [Ratio]", codings: [.loinc("39156-5")],
            value: .quantity(unit: "kg/m2", accepted: [UnitConversion("kg/m2")], range: 10...100)),
        .chestPainType: MeasurementDefinition(
            display: "Chest pain type", codings: [.feature("chest-pain-type")],
            value: .category([
                CategoryLevel(value: 1, code: "typical-angina"), CategoryLevel(value: 2, code: "atypical-angina"),
                CategoryLevel(value: 3, code: "non-anginal-pain"), CategoryLevel(value: 4, code: "asymptomatic"),
            ])),
        .restingECG: MeasurementDefinition(
            display: "Resting electrocardiographic result", codings: [.feature("resting-ecg")],
            value: .category([
                CategoryLevel(value: 0, code: "normal"), CategoryLevel(value: 1, code: "st-t-wave-abnormality"),
                CategoryLevel(value: 2, code: "left-ventricular-hypertrophy"),
            ])),
        .maxHeartRateExercise: MeasurementDefinition(
            display: "Heart rate Encounter maximum (exercise test)", codings: [.loinc("55422-0")],
            value: .quantity(
                unit: "/min", accepted: [UnitConversion("/min"), UnitConversion("{beats}/min")], range: 40...250)),
        .exerciseInducedAngina: MeasurementDefinition(
            display: "Exercise-induced angina", codings: [.feature("exercise-induced-angina")], value: .flag),
        .stDepressionExercise: MeasurementDefinition(
            display: "ST depression induced by exercise relative to rest", codings: [.feature("st-depression-exercise")],
            // 1 mm at the standard ECG calibration of 10 mm/mV is 0.1 mV.
            value: .quantity(
                unit: "mm", accepted: [UnitConversion("mm"), UnitConversion("mV", factor: 10)], range: -10...15)),
        .stSlopePeakExercise: MeasurementDefinition(
            display: "Slope of the peak exercise ST segment", codings: [.feature("st-slope-peak-exercise")],
            value: .category([
                CategoryLevel(value: 1, code: "upsloping"), CategoryLevel(value: 2, code: "flat"),
                CategoryLevel(value: 3, code: "downsloping"),
            ])),
        .majorVesselsFluoroscopy: MeasurementDefinition(
            display: "Number of major vessels coloured by fluoroscopy", codings: [.feature("major-vessels-fluoroscopy")],
            value: .count(unit: "{vessels}", range: 0...3)),
        .thalliumStressResult: MeasurementDefinition(
            display: "Thallium stress test result", codings: [.feature("thallium-stress-result")],
            value: .category([
                CategoryLevel(value: 3, code: "normal"), CategoryLevel(value: 6, code: "fixed-defect"),
                CategoryLevel(value: 7, code: "reversible-defect"),
            ])),
        .pregnancies: MeasurementDefinition(
            display: "[#] Pregnancies", codings: [.loinc("11996-6")], value: .count(unit: "{#}", range: 0...30)),
        .tricepsSkinfold: MeasurementDefinition(
            display: "Triceps skinfold thickness", codings: [.feature("triceps-skinfold")],
            value: .quantity(unit: "mm", accepted: [UnitConversion("mm"), UnitConversion("cm", factor: 10)], range: 2...100)),
        .insulin2hOGTT: MeasurementDefinition(
            display: "Insulin in serum, 2 hours into a 75 g oral glucose tolerance test",
            codings: [.feature("insulin-2h-ogtt")],
            value: .quantity(
                unit: "u[IU]/mL", accepted: [UnitConversion("u[IU]/mL"), UnitConversion("m[IU]/L")], range: 1...3000)),
        .diabetesPedigreeFunction: MeasurementDefinition(
            display: "Diabetes pedigree function", codings: [.feature("diabetes-pedigree-function")],
            value: .quantity(unit: "1", accepted: [UnitConversion("1"), UnitConversion("")], range: 0...10)),
    ]

    static let byCoding: [Coding: ClinicalMeasurement] = {
        var index: [Coding: ClinicalMeasurement] = [:]
        for (measurement, definition) in definitions {
            for coding in definition.codings {
                precondition(index.updateValue(measurement, forKey: coding) == nil, "a coding names one measurement")
            }
        }
        precondition(index.count > 0 && definitions.count == ClinicalMeasurement.allCases.count)
        return index
    }()
}
