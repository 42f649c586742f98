// The care plan's decision tree. Four nodes, each a small classification of recorded values by published
// thresholds: glycaemic status (ADA diagnostic cut-offs), weight status (BMI), blood pressure (ACC/AHA
// categories) and the model's risk band. Items are chosen by rules over the branches taken. Each rule
// and each threshold is in docs/CARE-PLAN.md with the guideline passage it rests on.

/// Glycaemic status by the ADA diagnostic thresholds: the most severe of the recorded tests.
public enum GlycaemicStatus: String, Sendable, Equatable {
    /// A1C ≥ 6.5%, fasting glucose ≥ 126 mg/dL or 2-hour OGTT glucose ≥ 200 mg/dL.
    case diabetesRange = "diabetes-range"
    /// A1C 5.7-6.4%, fasting glucose 100-125 mg/dL or 2-hour OGTT glucose 140-199 mg/dL.
    case prediabetesRange = "prediabetes-range"
    /// Every recorded test below the prediabetes thresholds.
    case normal
    /// No A1C, fasting glucose or 2-hour OGTT glucose recorded.
    case notTested = "not-tested"
}

/// Weight status by BMI.
public enum WeightStatus: String, Sendable, Equatable {
    /// BMI ≥ 35 kg/m2.
    case bmi35OrMore = "bmi-35-or-more"
    /// BMI 30 to below 35.
    case obesity
    /// BMI from the overweight threshold (25, or 23 with Asian ancestry) to below 30.
    case overweight
    /// Below the overweight threshold.
    case belowOverweight = "below-overweight"
    /// No BMI recorded.
    case notRecorded = "not-recorded"

    /// At or above the overweight threshold.
    var isOverweightOrMore: Bool { self == .overweight || self == .obesity || self == .bmi35OrMore }
}

/// Blood pressure category (2017 ACC/AHA); with both pressures, the higher category of the two.
public enum BloodPressureCategory: String, Sendable, Equatable, Comparable, CaseIterable {
    /// No blood pressure recorded.
    case notRecorded = "not-recorded"
    /// < 120 and < 80 mm Hg.
    case normal
    /// 120-129 and < 80 mm Hg.
    case elevated
    /// 130-139 or 80-89 mm Hg.
    case stage1 = "stage-1"
    /// ≥ 140 or ≥ 90 mm Hg.
    case stage2 = "stage-2"
    /// > 180 and/or > 120 mm Hg.
    case severe

    public static func < (lhs: BloodPressureCategory, rhs: BloodPressureCategory) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The branch one node took, the inputs it rests on, and the step reported in the path.
public struct NodeOutcome<Branch: Sendable & Equatable>: Sendable, Equatable {
    /// The branch taken.
    public let branch: Branch
    /// The inputs the branch rests on.
    public let inputs: [PlanInput]
    /// The step as reported in the decision path.
    public let step: DecisionStep
}

/// The outcome of the decision tree.
public struct CarePlanDecision: Sendable, Equatable {
    /// The path, root first.
    public let path: [DecisionStep]
    /// The items chosen, by category then rule id.
    public let items: [CarePlanItem]
}

/// The rules.
public enum DiabetesCarePlanRules {
    // MARK: Thresholds (ADA 2024 Section 2; ACC/AHA 2017; ADA 2024 Sections 3 and 9)

    static let a1cDiabetesPercent = 6.5
    static let a1cPrediabetesPercent = 5.7
    static let fastingDiabetesMgDl = 126.0
    static let fastingPrediabetesMgDl = 100.0
    static let ogttDiabetesMgDl = 200.0
    static let ogttPrediabetesMgDl = 140.0
    /// ADA Section 9: early insulin is considered above A1C 10% or glucose from 300 mg/dL.
    static let a1cVeryHighAbovePercent = 10.0
    static let glucoseVeryHighMgDl = 300.0
    static let overweightBMI = 25.0
    static let overweightBMIAsian = 23.0
    static let obesityBMI = 30.0
    static let metforminBMI = 35.0
    static let metforminAges = 25...59
    static let screeningAgeYears = 35

    /// Runs the tree over `inputs`.
    public static func evaluate(_ inputs: CarePlanInputs) -> CarePlanDecision {
        let glycaemic = glycaemicStatus(inputs)
        let weight = weightStatus(inputs)
        let pressure = bloodPressure(inputs)
        let risk = inputs.modelRisk
        let path: [DecisionStep] = [
            glycaemic.step, weight.step, pressure.step,
            DecisionStep(
                node: "model-risk", question: "Diabetes model risk band", answer: risk?.band.rawValue ?? "not-computed",
                inputs: risk.map { [$0.probability] } ?? []),
        ]
        var items: [CarePlanItem] = []
        items += glycaemicItems(glycaemic, weight: weight, pressure: pressure, inputs: inputs)
        items += lifestyleItems(glycaemic, weight: weight, inputs: inputs)
        items += bloodPressureItems(pressure, glycaemic: glycaemic.branch)
        items.sort { $0.category != $1.category ? $0.category < $1.category : $0.rule.id < $1.rule.id }
        return CarePlanDecision(path: path, items: items)
    }

    // MARK: Nodes

    static func glycaemicStatus(_ inputs: CarePlanInputs) -> NodeOutcome<GlycaemicStatus> {
        struct RecordedTest {
            let input: PlanInput
            let diabetesFrom: Double
            let prediabetesFrom: Double
        }
        let recorded = [
            inputs.hemoglobinA1c.map {
                RecordedTest(input: $0, diabetesFrom: a1cDiabetesPercent, prediabetesFrom: a1cPrediabetesPercent)
            },
            inputs.fastingGlucose.map {
                RecordedTest(input: $0, diabetesFrom: fastingDiabetesMgDl, prediabetesFrom: fastingPrediabetesMgDl)
            },
            inputs.glucose2hOGTT.map {
                RecordedTest(input: $0, diabetesFrom: ogttDiabetesMgDl, prediabetesFrom: ogttPrediabetesMgDl)
            },
        ].compactMap { $0 }
        let inDiabetesRange = recorded.filter { $0.input.value >= $0.diabetesFrom }.map(\.input)
        let inPrediabetesRange = recorded.filter { $0.input.value >= $0.prediabetesFrom }.map(\.input)
        let status: GlycaemicStatus
        let triggering: [PlanInput]
        if !inDiabetesRange.isEmpty {
            (status, triggering) = (.diabetesRange, inDiabetesRange)
        } else if !inPrediabetesRange.isEmpty {
            (status, triggering) = (.prediabetesRange, inPrediabetesRange)
        } else {
            (status, triggering) = recorded.isEmpty ? (.notTested, []) : (.normal, recorded.map(\.input))
        }
        let step = DecisionStep(
            node: "glycaemic-status",
            question: "Most severe ADA category of the recorded A1C (6.5 / 5.7 %), fasting glucose (126 / 100 mg/dL) "
                + "and 2-hour OGTT glucose (200 / 140 mg/dL)",
            answer: status.rawValue, inputs: triggering)
        return NodeOutcome(branch: status, inputs: triggering, step: step)
    }

    static func weightStatus(_ inputs: CarePlanInputs) -> NodeOutcome<WeightStatus> {
        let threshold = inputs.asianAncestry == nil ? overweightBMI : overweightBMIAsian
        let status: WeightStatus
        var used: [PlanInput] = []
        if let bmi = inputs.bodyMassIndex {
            used = [bmi] + (inputs.asianAncestry.map { [$0] } ?? [])
            switch bmi.value {
            case metforminBMI...: status = .bmi35OrMore
            case obesityBMI...: status = .obesity
            case threshold...: status = .overweight
            default: status = .belowOverweight
            }
        } else {
            status = .notRecorded
        }
        let step = DecisionStep(
            node: "weight-status",
            question: "BMI category: overweight from \(CanonicalNumber.format(threshold)) kg/m2 "
                + "(23 with recorded Asian ancestry, else 25), obesity from 30, and 35 or more",
            answer: status.rawValue, inputs: used)
        return NodeOutcome(branch: status, inputs: used, step: step)
    }

    static func bloodPressure(_ inputs: CarePlanInputs) -> NodeOutcome<BloodPressureCategory> {
        var category = BloodPressureCategory.notRecorded
        if let systolic = inputs.systolic?.value {
            category = max(category, systolicCategory(systolic))
        }
        if let diastolic = inputs.diastolic?.value {
            category = max(category, diastolicCategory(diastolic))
        }
        let used = [inputs.systolic, inputs.diastolic].compactMap { $0 }
        let step = DecisionStep(
            node: "blood-pressure",
            question: "2017 ACC/AHA category, the higher of systolic and diastolic: normal <120/<80, elevated "
                + "120-129/<80, stage 1 130-139/80-89, stage 2 >=140/>=90, severe >180/>120 mm Hg",
            answer: category.rawValue, inputs: used)
        return NodeOutcome(branch: category, inputs: used, step: step)
    }

    static func systolicCategory(_ value: Double) -> BloodPressureCategory {
        switch value {
        case let v where v > 180: .severe
        case 140...: .stage2
        case 130...: .stage1
        case 120...: .elevated
        default: .normal
        }
    }

    /// Diastolic pressure has no "elevated" band: elevated means systolic 120-129 with diastolic below 80.
    static func diastolicCategory(_ value: Double) -> BloodPressureCategory {
        switch value {
        case let v where v > 120: .severe
        case 90...: .stage2
        case 80...: .stage1
        default: .normal
        }
    }
}

// MARK: Items

extension DiabetesCarePlanRules {
    private static func item(
        _ code: String, _ category: CarePlanCategory, _ text: String, rule id: String, _ ruleText: String,
        _ guideline: Guideline, _ triggeredBy: [PlanInput]
    ) -> CarePlanItem {
        CarePlanItem(
            code: code, category: category, text: text,
            rule: CarePlanRule(id: id, text: ruleText, guideline: guideline), triggeredBy: triggeredBy)
    }

    static func glycaemicItems(
        _ glycaemic: NodeOutcome<GlycaemicStatus>, weight: NodeOutcome<WeightStatus>,
        pressure: NodeOutcome<BloodPressureCategory>, inputs: CarePlanInputs
    ) -> [CarePlanItem] {
        let triggering = glycaemic.inputs
        switch glycaemic.branch {
        case .diabetesRange: return diabetesRangeItems(triggering, inputs: inputs)
        case .prediabetesRange: return prediabetesItems(triggering, weight: weight, inputs: inputs)
        case .normal: return normalItems(triggering, inputs: inputs)
        case .notTested: return notTestedItems(weight: weight, pressure: pressure, inputs: inputs)
        }
    }

    private static func diabetesRangeItems(_ triggering: [PlanInput], inputs: CarePlanInputs) -> [CarePlanItem] {
        var items = [
            item(
                "confirm-diagnosis", .followUp,
                "A result is in the diabetes range. Confirm with a second test on a new sample without delay (the same "
                    + "test or a different one), unless hyperglycaemia is unequivocal.",
                rule: "G1", "A1C >= 6.5%, fasting glucose >= 126 mg/dL or 2-hour OGTT glucose >= 200 mg/dL",
                .adaDiagnosis, triggering),
            item(
                "a1c-every-3-months", .followUp,
                "If diabetes is confirmed: A1C at least every 3 months while treatment is changing or goals are not "
                    + "met, then at least twice a year once stable.",
                rule: "G2", "glycaemic status in the diabetes range", .adaGlycemicGoals, triggering),
            item(
                "refer-dsmes", .referral,
                "If diabetes is confirmed: refer to diabetes self-management education and support (DSMES) at "
                    + "diagnosis.",
                rule: "G3", "glycaemic status in the diabetes range", .adaHealthBehaviours, triggering),
        ]
        let veryHigh =
            [inputs.hemoglobinA1c].compactMap { $0 }.filter { $0.value > a1cVeryHighAbovePercent }
            + [inputs.fastingGlucose, inputs.glucose2hOGTT].compactMap { $0 }.filter { $0.value >= glucoseVeryHighMgDl }
        if !veryHigh.isEmpty {
            items.append(
                item(
                    "prompt-specialist-review", .referral,
                    "Very high glucose: prompt clinician review (the ADA standards consider starting insulin early at "
                        + "these levels) and referral for specialist (endocrinology) care.",
                    rule: "G4",
                    "A1C > 10% or fasting or 2-hour glucose >= 300 mg/dL (ADA thresholds for considering early "
                        + "insulin; the referral is a project choice)",
                    .adaPharmacologic, veryHigh))
        }
        return items
    }

    private static func prediabetesItems(
        _ triggering: [PlanInput], weight: NodeOutcome<WeightStatus>,
        inputs: CarePlanInputs
    ) -> [CarePlanItem] {
        var items = [
            item(
                "retest-yearly", .followUp,
                "Prediabetes range: test for diabetes at least once a year (A1C, fasting glucose or 2-hour OGTT).",
                rule: "P1", "A1C 5.7-6.4%, fasting glucose 100-125 mg/dL or 2-hour OGTT glucose 140-199 mg/dL",
                .adaDiagnosis, triggering)
        ]
        if weight.branch.isOverweightOrMore {
            items.append(
                item(
                    "refer-diabetes-prevention-program", .referral,
                    "Refer to an intensive lifestyle behaviour-change programme modelled on the Diabetes Prevention "
                        + "Program (such as a CDC-recognised National DPP lifestyle programme).",
                    rule: "P2", "prediabetes range and BMI >= 25 kg/m2 (>= 23 with Asian ancestry)", .adaPrevention,
                    triggering + weight.inputs))
            if weight.branch == .bmi35OrMore, metforminAges.contains(Int(inputs.age.value)) {
                items.append(
                    item(
                        "discuss-metformin", .medication,
                        "Discuss metformin for the prevention of type 2 diabetes with the treating clinician.",
                        rule: "P3", "prediabetes range, BMI >= 35 kg/m2 and age 25-59", .adaPrevention,
                        triggering + weight.inputs + [inputs.age]))
            }
        }
        return items
    }

    private static func normalItems(_ triggering: [PlanInput], inputs: CarePlanInputs) -> [CarePlanItem] {
        if let risk = inputs.modelRisk, risk.band == .high {
            return [
                item(
                    "retest-yearly", .followUp,
                    "Glucose tests are in the normal range but the model's risk is high: test again within a year "
                        + "rather than waiting 3 years.",
                    rule: "N2",
                    "all recorded glucose tests normal and model risk band high (ADA: test more often than every 3 "
                        + "years depending on risk; yearly is a project choice)",
                    .adaDiagnosis, triggering + [risk.probability])
            ]
        }
        return [
            item(
                "retest-within-3-years", .followUp,
                "Glucose tests are in the normal range: repeat testing at least every 3 years.",
                rule: "N1", "all recorded glucose tests below the prediabetes thresholds", .adaDiagnosis, triggering)
        ]
    }

    private static func notTestedItems(
        weight: NodeOutcome<WeightStatus>,
        pressure: NodeOutcome<BloodPressureCategory>, inputs: CarePlanInputs
    ) -> [CarePlanItem] {
        let hypertension = pressure.branch >= .stage1
        if Int(inputs.age.value) >= screeningAgeYears || (weight.branch.isOverweightOrMore && hypertension) {
            let byAge = Int(inputs.age.value) >= screeningAgeYears
            return [
                item(
                    "test-now", .followUp,
                    "No glucose test on record and screening is indicated: test now with A1C, fasting plasma glucose or "
                        + "a 2-hour 75 g OGTT.",
                    rule: "S1",
                    "no glucose test recorded, and age >= 35, or BMI >= 25 kg/m2 (>= 23 with Asian ancestry) with "
                        + "blood pressure >= 130/80 mm Hg",
                    .adaDiagnosis, byAge ? [inputs.age] : weight.inputs + pressure.inputs)
            ]
        }
        if let risk = inputs.modelRisk, risk.band == .high {
            return [
                item(
                    "test-now", .followUp,
                    "No glucose test on record and the model's risk is high: test now with A1C, fasting plasma glucose "
                        + "or a 2-hour 75 g OGTT.",
                    rule: "S2",
                    "no glucose test recorded, ADA screening criteria not met in the recorded data, model risk band "
                        + "high (a project rule)",
                    .adaDiagnosis, [risk.probability])
            ]
        }
        return [
            item(
                "test-from-age-35", .followUp,
                "No screening criterion is met in the recorded data: begin testing at age 35, or earlier if overweight "
                    + "with another risk factor.",
                rule: "S3", "no glucose test recorded and no screening criterion met", .adaDiagnosis, [inputs.age])
        ]
    }

    static func lifestyleItems(
        _ glycaemic: NodeOutcome<GlycaemicStatus>, weight: NodeOutcome<WeightStatus>, inputs: CarePlanInputs
    ) -> [CarePlanItem] {
        let status = glycaemic.branch
        var items: [CarePlanItem] = []
        let dysglycaemia = status == .diabetesRange || status == .prediabetesRange
        if status == .diabetesRange, weight.branch.isOverweightOrMore {
            items.append(
                item(
                    "weight-loss-goal", .weight,
                    "Weight-loss goal: at least 5% of body weight, through diet, physical activity and behavioural "
                        + "support.",
                    rule: "W1", "diabetes range and BMI >= 25 kg/m2 (>= 23 with Asian ancestry)", .adaObesity,
                    weight.inputs))
        } else if status == .prediabetesRange, weight.branch.isOverweightOrMore {
            items.append(
                item(
                    "weight-loss-goal", .weight,
                    "Weight-loss goal: at least 7% of initial body weight, kept off (the Diabetes Prevention Program "
                        + "lifestyle goal).",
                    rule: "W2", "prediabetes range and BMI >= 25 kg/m2 (>= 23 with Asian ancestry)",
                    .diabetesPreventionProgram, weight.inputs))
        } else if !dysglycaemia, weight.branch == .obesity || weight.branch == .bmi35OrMore {
            items.append(
                item(
                    "weight-loss-goal", .weight,
                    "Weight-loss goal: 5-10% of body weight within 6 months; even a sustained 3-5% loss brings "
                        + "meaningful health benefits.",
                    rule: "W3", "glucose not in a diabetes or prediabetes range and BMI >= 30 kg/m2",
                    .ahaAccTosObesity, weight.inputs))
        }
        if dysglycaemia {
            items.append(
                item(
                    "eating-pattern", .diet,
                    "Eating pattern: Mediterranean-style, DASH-style or plant-based, reduced in calories when weight "
                        + "loss is a goal; individualised medical nutrition therapy from a registered dietitian "
                        + "nutritionist.",
                    rule: "E1", "glucose in the diabetes or prediabetes range", .adaHealthBehaviours, glycaemic.inputs))
        } else if weight.branch == .obesity || weight.branch == .bmi35OrMore {
            items.append(
                item(
                    "eating-pattern", .diet,
                    "A reduced-calorie eating pattern (for example Mediterranean-style or DASH) as part of a "
                        + "comprehensive lifestyle programme for weight loss.",
                    rule: "E2", "glucose not in a diabetes or prediabetes range and BMI >= 30 kg/m2",
                    .ahaAccTosObesity, weight.inputs))
        }
        if dysglycaemia {
            items.append(
                item(
                    "physical-activity", .activity,
                    "At least 150 minutes a week of moderate-to-vigorous aerobic activity over at least 3 days, with "
                        + "no more than 2 days in a row without activity; and 2-3 sessions a week of resistance "
                        + "exercise on non-consecutive days.",
                    rule: "A1", "glucose in the diabetes or prediabetes range", .adaHealthBehaviours, glycaemic.inputs))
        } else {
            items.append(
                item(
                    "physical-activity", .activity,
                    "150-300 minutes a week of moderate-intensity (or 75-150 minutes of vigorous) aerobic activity, "
                        + "and muscle-strengthening activity on 2 or more days a week.",
                    rule: "A2", "every adult", .physicalActivityGuidelines, [inputs.age]))
        }
        return items
    }

    static func bloodPressureItems(
        _ pressure: NodeOutcome<BloodPressureCategory>, glycaemic: GlycaemicStatus
    ) -> [CarePlanItem] {
        let used = pressure.inputs
        switch pressure.branch {
        case .notRecorded:
            return [
                item(
                    "measure-blood-pressure", .bloodPressure,
                    "No blood pressure on record: measure it (at every routine visit for people with diabetes).",
                    rule: "B0", "no blood pressure recorded", .adaCardiovascular, [])
            ]
        case .normal:
            return [
                item(
                    "bp-reassess-1-year", .bloodPressure,
                    "Blood pressure normal: keep a healthy lifestyle and reassess in 1 year.",
                    rule: "B1", "blood pressure < 120/80 mm Hg", .accAhaBloodPressure, used)
            ]
        case .elevated:
            return [
                item(
                    "bp-lifestyle-reassess-3-6-months", .bloodPressure,
                    "Elevated blood pressure: non-drug therapy (weight loss, DASH-style diet, less sodium, more "
                        + "potassium, physical activity, less alcohol) and reassess in 3-6 months.",
                    rule: "B2", "systolic 120-129 and diastolic < 80 mm Hg", .accAhaBloodPressure, used)
            ]
        case .stage1 where glycaemic == .diabetesRange:
            return [
                item(
                    "bp-stage-1-treat", .bloodPressure,
                    "Stage 1 hypertension with glucose in the diabetes range: if diabetes is confirmed, non-drug "
                        + "therapy plus blood-pressure-lowering medication, and reassess in 1 month.",
                    rule: "B3",
                    "130-139 or 80-89 mm Hg with glucose in the diabetes range (the ACC/AHA guideline starts "
                        + "medication at 130/80 mm Hg in diabetes)",
                    .accAhaBloodPressure, used)
            ]
        case .stage1:
            return [
                item(
                    "bp-stage-1-assess-risk", .bloodPressure,
                    "Stage 1 hypertension: estimate the 10-year ASCVD risk. Below 10%: non-drug therapy and reassess in "
                        + "3-6 months. 10% or more, or clinical cardiovascular disease: add blood-pressure-lowering "
                        + "medication and reassess in 1 month.",
                    rule: "B4", "systolic 130-139 or diastolic 80-89 mm Hg", .accAhaBloodPressure, used)
            ]
        case .stage2:
            return [
                item(
                    "bp-stage-2-treat", .bloodPressure,
                    "Stage 2 hypertension: non-drug therapy plus blood-pressure-lowering medication (two drugs of "
                        + "different classes may be needed), and reassess in 1 month.",
                    rule: "B5", "systolic >= 140 or diastolic >= 90 mm Hg", .accAhaBloodPressure, used)
            ]
        case .severe:
            return [
                item(
                    "bp-severe-same-day", .bloodPressure,
                    "Blood pressure above 180/120 mm Hg: same-day evaluation for acute target-organ damage "
                        + "(hypertensive emergency or urgency).",
                    rule: "B6", "systolic > 180 or diastolic > 120 mm Hg", .accAhaBloodPressure, used)
            ]
        }
    }
}
