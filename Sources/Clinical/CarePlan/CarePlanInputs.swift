// The values the care-plan rules read, taken from a snapshot (and the model's band when it ran).

/// The care-plan rules' inputs. Every value is optional except age: a rule whose input is missing does not
/// fire, and the decision path says the input was not recorded.
public struct CarePlanInputs: Sendable, Equatable {
    /// Age in whole years.
    public var age: PlanInput
    /// Present when a Patient record states Asian ancestry (US Core race 2028-9); value 1.
    public var asianAncestry: PlanInput?
    /// Haemoglobin A1c, %.
    public var hemoglobinA1c: PlanInput?
    /// Fasting plasma glucose, mg/dL.
    public var fastingGlucose: PlanInput?
    /// 2-hour 75 g OGTT plasma glucose, mg/dL.
    public var glucose2hOGTT: PlanInput?
    /// Body mass index, kg/m2.
    public var bodyMassIndex: PlanInput?
    /// Systolic blood pressure, mm[Hg].
    public var systolic: PlanInput?
    /// Diastolic blood pressure, mm[Hg].
    public var diastolic: PlanInput?
    /// The model's probability (value) and band, when the model ran.
    public var modelRisk: (probability: PlanInput, band: RiskBand)?

    /// Creates inputs (the tests drive the rules through this).
    public init(
        age: PlanInput, asianAncestry: PlanInput? = nil, hemoglobinA1c: PlanInput? = nil,
        fastingGlucose: PlanInput? = nil, glucose2hOGTT: PlanInput? = nil, bodyMassIndex: PlanInput? = nil,
        systolic: PlanInput? = nil, diastolic: PlanInput? = nil, modelRisk: (probability: PlanInput, band: RiskBand)? = nil
    ) {
        self.age = age
        self.asianAncestry = asianAncestry
        self.hemoglobinA1c = hemoglobinA1c
        self.fastingGlucose = fastingGlucose
        self.glucose2hOGTT = glucose2hOGTT
        self.bodyMassIndex = bodyMassIndex
        self.systolic = systolic
        self.diastolic = diastolic
        self.modelRisk = modelRisk
    }

    /// The inputs of `snapshot`; nil when the age is unavailable.
    public init?(snapshot: PatientSnapshot, risk: DiagnosisResult?) {
        guard let age = snapshot.age.value else { return nil }
        self.age = PlanInput(
            name: "age", value: Double(age.value.years), unit: "a", recordID: age.recordID, effectiveMs: nil)
        asianAncestry = snapshot.asianAncestryRecordID.map {
            PlanInput(name: "asian-ancestry", value: 1, unit: "{yes=1}", recordID: $0, effectiveMs: nil)
        }
        func measured(_ measurement: ClinicalMeasurement) -> PlanInput? {
            snapshot.value(of: measurement).map {
                PlanInput(
                    name: measurement.rawValue, value: $0.value, unit: $0.unit, recordID: $0.recordID,
                    effectiveMs: $0.effectiveMs)
            }
        }
        hemoglobinA1c = measured(.hemoglobinA1c)
        fastingGlucose = measured(.fastingGlucose)
        glucose2hOGTT = measured(.glucose2hOGTT)
        bodyMassIndex = measured(.bodyMassIndex)
        systolic = measured(.systolicBloodPressure)
        diastolic = measured(.diastolicBloodPressure)
        modelRisk = risk.map {
            (PlanInput(name: "model-risk", value: $0.probability, unit: "1", recordID: nil, effectiveMs: nil), $0.riskBand)
        }
    }

    /// Every input read from the records, in a fixed order (the model's risk is not one: it is in the plan's
    /// `risk`).
    public var all: [PlanInput] {
        [age, asianAncestry, hemoglobinA1c, fastingGlucose, glucose2hOGTT, bodyMassIndex, systolic, diastolic]
            .compactMap { $0 }
    }

    public static func == (lhs: CarePlanInputs, rhs: CarePlanInputs) -> Bool {
        lhs.all == rhs.all && lhs.modelRisk?.probability == rhs.modelRisk?.probability
            && lhs.modelRisk?.band == rhs.modelRisk?.band
    }
}
