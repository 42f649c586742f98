import Testing

@testable import Clinical

private func input(_ name: String, _ value: Double, _ unit: String = "") -> PlanInput {
    PlanInput(name: name, value: value, unit: unit, recordID: "r-\(name)", effectiveMs: 1)
}

private func inputs(
    age: Double = 50, asian: Bool = false, a1c: Double? = nil, fasting: Double? = nil, ogtt: Double? = nil,
    bmi: Double? = nil, systolic: Double? = nil, diastolic: Double? = nil, risk: RiskBand? = nil
) -> CarePlanInputs {
    CarePlanInputs(
        age: input("age", age, "a"), asianAncestry: asian ? input("asian-ancestry", 1) : nil,
        hemoglobinA1c: a1c.map { input("hemoglobin-a1c", $0, "%") },
        fastingGlucose: fasting.map { input("fasting-glucose", $0, "mg/dL") },
        glucose2hOGTT: ogtt.map { input("glucose-2h-ogtt", $0, "mg/dL") },
        bodyMassIndex: bmi.map { input("body-mass-index", $0, "kg/m2") },
        systolic: systolic.map { input("systolic-blood-pressure", $0, "mm[Hg]") },
        diastolic: diastolic.map { input("diastolic-blood-pressure", $0, "mm[Hg]") },
        modelRisk: risk.map { (input("model-risk", 0.5, "1"), $0) })
}

private func ruleIDs(_ inputs: CarePlanInputs) -> [String] {
    DiabetesCarePlanRules.evaluate(inputs).items.map(\.rule.id)
}

private func answer(_ inputs: CarePlanInputs, _ node: String) -> String? {
    DiabetesCarePlanRules.evaluate(inputs).path.first { $0.node == node }?.answer
}

@Suite struct DiabetesCarePlanRulesTests {
    // MARK: Glycaemic status (ADA 2024 Section 2)

    @Test func glycaemicThresholdsOfEachTest() {
        let cases: [(CarePlanInputs, String)] = [
            (inputs(a1c: 5.6), "normal"), (inputs(a1c: 5.7), "prediabetes-range"),
            (inputs(a1c: 6.4), "prediabetes-range"), (inputs(a1c: 6.5), "diabetes-range"),
            (inputs(fasting: 99.9), "normal"), (inputs(fasting: 100), "prediabetes-range"),
            (inputs(fasting: 125.9), "prediabetes-range"), (inputs(fasting: 126), "diabetes-range"),
            (inputs(ogtt: 139.9), "normal"), (inputs(ogtt: 140), "prediabetes-range"),
            (inputs(ogtt: 199.9), "prediabetes-range"), (inputs(ogtt: 200), "diabetes-range"),
            (inputs(), "not-tested"),
            // The most severe recorded test decides.
            (inputs(a1c: 5.5, fasting: 101, ogtt: 210), "diabetes-range"),
        ]
        for (planInputs, expected) in cases {
            #expect(answer(planInputs, "glycaemic-status") == expected, "\(planInputs.all.map(\.value))")
        }
    }

    @Test func diabetesRangeItems() {
        let plan = DiabetesCarePlanRules.evaluate(inputs(a1c: 5.5, fasting: 130))
        #expect(plan.items.map(\.rule.id) == ["G1", "G2", "G3", "E1", "A1", "B0"])
        let confirm = plan.items[0]
        #expect(confirm.code == "confirm-diagnosis" && confirm.category == .followUp)
        #expect(confirm.triggeredBy.map(\.name) == ["fasting-glucose"] && confirm.triggeredBy[0].value == 130)
        #expect(confirm.rule.guideline == .adaDiagnosis)
        #expect(confirm.rule.guideline.citation.contains("Standards of Care in Diabetes—2024"))
        #expect(plan.items[1].rule.guideline == .adaGlycemicGoals && plan.items[2].code == "refer-dsmes")
    }

    @Test func veryHighGlucoseTriggersPromptReview() {
        #expect(!ruleIDs(inputs(a1c: 10.0)).contains("G4"))
        #expect(ruleIDs(inputs(a1c: 10.1)).contains("G4"))
        #expect(!ruleIDs(inputs(fasting: 299)).contains("G4"))
        #expect(ruleIDs(inputs(fasting: 300)).contains("G4"))
        #expect(ruleIDs(inputs(ogtt: 300)).contains("G4"))
        let review = DiabetesCarePlanRules.evaluate(inputs(a1c: 11, ogtt: 320)).items.first { $0.rule.id == "G4" }!
        #expect(review.triggeredBy.map(\.name) == ["hemoglobin-a1c", "glucose-2h-ogtt"])
        #expect(review.rule.guideline == .adaPharmacologic && review.category == .referral)
    }

    @Test func prediabetesItemsByWeightAndAge() {
        #expect(ruleIDs(inputs(a1c: 6.0, bmi: 24.9)) == ["P1", "E1", "A1", "B0"])
        #expect(ruleIDs(inputs(a1c: 6.0, bmi: 25)) == ["P1", "P2", "W2", "E1", "A1", "B0"])
        // 23 kg/m2 is the overweight threshold with recorded Asian ancestry.
        #expect(ruleIDs(inputs(asian: true, a1c: 6.0, bmi: 22.9)) == ["P1", "E1", "A1", "B0"])
        #expect(ruleIDs(inputs(asian: true, a1c: 6.0, bmi: 23)) == ["P1", "P2", "W2", "E1", "A1", "B0"])
        // Metformin: BMI 35 or more and age 25-59.
        #expect(!ruleIDs(inputs(age: 40, a1c: 6.0, bmi: 34.9)).contains("P3"))
        #expect(ruleIDs(inputs(age: 40, a1c: 6.0, bmi: 35)).contains("P3"))
        #expect(!ruleIDs(inputs(age: 24, a1c: 6.0, bmi: 36)).contains("P3"))
        #expect(ruleIDs(inputs(age: 25, a1c: 6.0, bmi: 36)).contains("P3"))
        #expect(ruleIDs(inputs(age: 59, a1c: 6.0, bmi: 36)).contains("P3"))
        #expect(!ruleIDs(inputs(age: 60, a1c: 6.0, bmi: 36)).contains("P3"))
        let metformin = DiabetesCarePlanRules.evaluate(inputs(age: 40, a1c: 6.0, bmi: 35)).items.first { $0.rule.id == "P3" }!
        #expect(metformin.category == .medication)
        #expect(metformin.triggeredBy.map(\.name) == ["hemoglobin-a1c", "body-mass-index", "age"])
        let weight = DiabetesCarePlanRules.evaluate(inputs(a1c: 6.0, bmi: 25)).items.first { $0.rule.id == "W2" }!
        #expect(weight.text.contains("at least 7%") && weight.rule.guideline == .diabetesPreventionProgram)
    }

    @Test func normalResultsRetestEveryThreeYearsUnlessModelRiskIsHigh() {
        #expect(ruleIDs(inputs(a1c: 5.4)).first == "N1")
        #expect(ruleIDs(inputs(a1c: 5.4, risk: .intermediate)).first == "N1")
        #expect(ruleIDs(inputs(a1c: 5.4, risk: .high)).first == "N2")
        let item = DiabetesCarePlanRules.evaluate(inputs(a1c: 5.4, risk: .high)).items[0]
        #expect(item.triggeredBy.map(\.name) == ["hemoglobin-a1c", "model-risk"] && item.code == "retest-yearly")
    }

    @Test func screeningWhenNoGlucoseTestIsRecorded() {
        #expect(ruleIDs(inputs(age: 34)).first == "S3")
        #expect(ruleIDs(inputs(age: 35)).first == "S1")
        // Under 35: overweight with blood pressure from 130/80 (a listed risk factor).
        #expect(ruleIDs(inputs(age: 30, bmi: 25, systolic: 130, diastolic: 70)).first == "S1")
        #expect(ruleIDs(inputs(age: 30, bmi: 25, systolic: 118, diastolic: 80)).first == "S1")
        #expect(ruleIDs(inputs(age: 30, bmi: 25, systolic: 129, diastolic: 79)).first == "S3")
        #expect(ruleIDs(inputs(age: 30, bmi: 24.9, systolic: 150, diastolic: 95)).first == "S3")
        #expect(ruleIDs(inputs(age: 30, risk: .high)).first == "S2")
        let screen = DiabetesCarePlanRules.evaluate(inputs(age: 30, bmi: 26, systolic: 135, diastolic: 70)).items[0]
        #expect(screen.triggeredBy.map(\.name) == ["body-mass-index", "systolic-blood-pressure", "diastolic-blood-pressure"])
    }

    // MARK: Lifestyle

    @Test func weightDietAndActivityRules() {
        #expect(ruleIDs(inputs(a1c: 7, bmi: 24.9)).contains("W1") == false)
        #expect(ruleIDs(inputs(a1c: 7, bmi: 25)).contains("W1"))
        // Normal glucose: a weight goal from BMI 30 (obesity), with the reduced-calorie eating pattern.
        #expect(ruleIDs(inputs(a1c: 5.0, bmi: 29.9)) == ["N1", "A2", "B0"])
        #expect(ruleIDs(inputs(a1c: 5.0, bmi: 30)) == ["N1", "W3", "E2", "A2", "B0"])
        #expect(ruleIDs(inputs(bmi: 30)).contains("W3"))
        let activity = DiabetesCarePlanRules.evaluate(inputs(a1c: 5.0)).items.first { $0.category == .activity }!
        #expect(activity.rule.guideline == .physicalActivityGuidelines && activity.text.contains("150-300 minutes"))
        let dysglycaemicActivity = DiabetesCarePlanRules.evaluate(inputs(a1c: 6.0)).items.first { $0.category == .activity }!
        #expect(dysglycaemicActivity.rule.id == "A1" && dysglycaemicActivity.text.contains("At least 150 minutes"))
    }

    // MARK: Blood pressure (2017 ACC/AHA)

    @Test func bloodPressureCategories() {
        let cases: [(Double?, Double?, String)] = [
            (119, 79, "normal"), (120, 79, "elevated"), (129, 79, "elevated"), (130, 79, "stage-1"),
            (125, 80, "stage-1"), (139, 89, "stage-1"), (140, 70, "stage-2"), (110, 90, "stage-2"),
            (180, 100, "stage-2"), (181, 100, "severe"), (150, 120, "stage-2"), (150, 121, "severe"),
            (nil, 85, "stage-1"), (122, nil, "elevated"), (nil, 70, "normal"), (nil, nil, "not-recorded"),
        ]
        for (systolic, diastolic, expected) in cases {
            #expect(
                answer(inputs(systolic: systolic, diastolic: diastolic), "blood-pressure") == expected,
                "\(String(describing: systolic))/\(String(describing: diastolic))")
        }
    }

    @Test func bloodPressureItems() {
        func bpRule(_ systolic: Double?, _ diastolic: Double?, a1c: Double? = nil) -> String? {
            DiabetesCarePlanRules.evaluate(inputs(a1c: a1c, systolic: systolic, diastolic: diastolic)).items
                .first { $0.category == .bloodPressure }?.rule.id
        }
        #expect(bpRule(nil, nil) == "B0")
        #expect(bpRule(118, 76) == "B1")
        #expect(bpRule(124, 76) == "B2")
        #expect(bpRule(134, 76) == "B4")
        #expect(bpRule(134, 76, a1c: 6.5) == "B3")
        #expect(bpRule(134, 76, a1c: 6.4) == "B4")
        #expect(bpRule(145, 76) == "B5")
        #expect(bpRule(185, 76) == "B6")
        let item = DiabetesCarePlanRules.evaluate(inputs(systolic: 145, diastolic: 76)).items.last!
        #expect(item.triggeredBy.map(\.value) == [145, 76] && item.rule.guideline == .accAhaBloodPressure)
    }

    // MARK: The path

    @Test func pathReportsEveryNodeWithItsInputs() {
        let decision = DiabetesCarePlanRules.evaluate(
            inputs(asian: true, a1c: 6.1, bmi: 24, systolic: 128, diastolic: 82, risk: .intermediate))
        #expect(decision.path.map(\.node) == ["glycaemic-status", "weight-status", "blood-pressure", "model-risk"])
        #expect(decision.path.map(\.answer) == ["prediabetes-range", "overweight", "stage-1", "intermediate"])
        #expect(decision.path[1].inputs.map(\.name) == ["body-mass-index", "asian-ancestry"])
        #expect(decision.path[1].question.contains("overweight from 23 kg/m2"))
        #expect(decision.path[3].inputs.map(\.name) == ["model-risk"])
        // Items are ordered by category, then rule id, whatever order the rules fire in.
        let categories = decision.items.map(\.category)
        #expect(categories == categories.sorted())
    }
}
