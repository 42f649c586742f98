import Testing

@testable import Clinical

private func snapshot(_ jsons: [[UInt8]]) throws -> PatientSnapshot {
    try ClinicalFeatureExtractor().extract(FHIR.records(jsons), asOfMs: FHIR.asOfMs)
}

/// The heart records without the observations carrying the given codes.
private func heartRecords(without codes: Set<String>) -> [[UInt8]] {
    FHIR.heartRecords().filter { json in !codes.contains { String(decoding: json, as: UTF8.self).contains("\"\($0)\"") } }
}

@Suite struct MinimumInputRuleTests {
    @Test func heartRefusesWhenAnEssentialInputIsMissing() throws {
        let snapshot = try snapshot(heartRecords(without: ["chest-pain-type"]))
        let inputs = TaskFeatureMap.heart.inputs(from: snapshot)
        #expect(throws: ClinicalServiceError.insufficientInputs(
            task: "heart-disease", missing: [MissingInput(name: "cp", reason: .notRecorded)], essential: ["cp"],
            measured: 12, required: 9)) { try MinimumInputRule.heart.check(inputs, age: snapshot.age) }
    }

    @Test func heartNeedsNineMeasuredFeatures() throws {
        // 13 features; without ca, thal, slope and oldpeak 9 remain (allowed); without restecg too, 8 (refused).
        let nine = try snapshot(
            heartRecords(without: ["major-vessels-fluoroscopy", "thallium-stress-result", "st-slope-peak-exercise",
                                   "st-depression-exercise"]))
        let nineInputs = TaskFeatureMap.heart.inputs(from: nine)
        #expect(nineInputs.used.count == 9)
        try MinimumInputRule.heart.check(nineInputs, age: nine.age)
        let eight = try snapshot(
            heartRecords(without: ["major-vessels-fluoroscopy", "thallium-stress-result", "st-slope-peak-exercise",
                                   "st-depression-exercise", "resting-ecg"]))
        let eightInputs = TaskFeatureMap.heart.inputs(from: eight)
        #expect(throws: ClinicalServiceError.insufficientInputs(
            task: "heart-disease", missing: eightInputs.missing, essential: [], measured: 8, required: 9)) {
            try MinimumInputRule.heart.check(eightInputs, age: eight.age)
        }
        #expect(eightInputs.missing.map(\.name) == ["restecg", "oldpeak", "slope", "ca", "thal"])
    }

    @Test func diabetesNeedsGlucoseBMIAgeAndFiveMeasured() throws {
        let withoutOptional = FHIR.diabetesRecords().filter {
            let text = String(decoding: $0, as: UTF8.self)
            return !text.contains("triceps-skinfold") && !text.contains("insulin-2h-ogtt")
                && !text.contains("diabetes-pedigree-function")
        }
        let five = try snapshot(withoutOptional)
        try MinimumInputRule.diabetes.check(TaskFeatureMap.diabetes.inputs(from: five), age: five.age)
        let noGlucose = try snapshot(withoutOptional.filter { !String(decoding: $0, as: UTF8.self).contains("1518-0") })
        let inputs = TaskFeatureMap.diabetes.inputs(from: noGlucose)
        do {
            try MinimumInputRule.diabetes.check(inputs, age: noGlucose.age)
            Issue.record("accepted without glucose")
        } catch {
            guard case let .insufficientInputs(_, missing, essential, measured, required) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(essential == ["Glucose"] && measured == 4 && required == 5)
            #expect(missing.map(\.name) == ["Glucose", "SkinThickness", "Insulin", "DiabetesPedigreeFunction"])
            #expect(error.description.contains("Glucose (not recorded)"))
        }
    }

    @Test func refusalListsWhyEachInputIsMissingWithoutRecordValues() throws {
        var records = FHIR.heartRecords()
        records[2] = FHIR.quantityObservation(.loinc("8480-6"), "987654", "mm[Hg]")
        let snapshot = try snapshot(records + [FHIR.quantityObservation(.loinc("2093-3"), "4321", "mmol/mol")])
        let inputs = TaskFeatureMap.heart.inputs(from: snapshot)
        let rule = MinimumInputRule(essential: ["trestbps"], minimumMeasured: 9, minimumAgeYears: 18, text: "test")
        do {
            try rule.check(inputs, age: snapshot.age)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("trestbps (most recent observation (record r03) refused: value outside"))
            #expect(error.description.contains("chol (most recent observation (record r13) refused: unit not accepted"))
            #expect(!error.description.contains("987654") && !error.description.contains("4321"))
            #expect(!error.description.contains("mmol/mol"))
        }
    }

    @Test func minorsAreOutsideTheModelPopulation() throws {
        let adult = try snapshot(FHIR.heartRecords(birthDate: "2006-06-01"))
        try MinimumInputRule.heart.check(TaskFeatureMap.heart.inputs(from: adult), age: adult.age)
        let minor = try snapshot(FHIR.heartRecords(birthDate: "2006-06-02"))
        #expect(throws: ClinicalServiceError.outsideModelPopulation(
            task: "heart-disease", reason: "the model is for adults aged 18 or more")) {
            try MinimumInputRule.heart.check(TaskFeatureMap.heart.inputs(from: minor), age: minor.age)
        }
    }
}
