import Testing

@testable import Clinical

private func planner() throws -> DiabetesCarePlanner {
    try DiabetesCarePlanner(model: ModelFixtures.diabetes)
}

@Suite struct DiabetesCarePlannerTests {
    @Test func planCarriesTheModelRiskAndTheRuleItems() throws {
        let jsons =
            FHIR.diabetesRecords() + [
                FHIR.quantityObservation(.loinc("4548-4"), "6.1", "%"),
                FHIR.bloodPressurePanel(systolic: "128", diastolic: "72"),
            ]
        let plan = try planner().plan(FHIR.records(jsons), asOfMs: FHIR.asOfMs, patient: FHIR.patient)
        let risk = try #require(plan.risk)
        #expect(plan.riskNotComputed == nil)
        #expect(risk.probability == ModelFixtures.diabetes.predict([6, 148, 72, 35, 94, 33.6, 0.627, 50]).probability)
        // Glycaemia: A1C 6.1% and 2-hour glucose 148 mg/dL are both in the prediabetes range; BMI 33.6.
        #expect(plan.path.map(\.answer)[0...2] == ["prediabetes-range", "obesity", "elevated"])
        #expect(plan.path[3].answer == risk.riskBand.rawValue)
        #expect(plan.items.map(\.rule.id) == ["P1", "P2", "W2", "E1", "A1", "B2"])
        let retest = plan.items[0]
        #expect(retest.triggeredBy.map(\.name) == ["hemoglobin-a1c", "glucose-2h-ogtt"])
        #expect(retest.triggeredBy.map(\.recordID) == ["r09", "r03"])
        // The diastolic value comes from the panel (later record) rather than the older Pima-style record.
        #expect(plan.inputs.first { $0.name == "diastolic-blood-pressure" }?.recordID == "r10")
        // The plan's inputs are record values; the model's probability is in `risk` (and in the path).
        #expect(plan.inputs.map(\.name) == [
            "age", "hemoglobin-a1c", "glucose-2h-ogtt", "body-mass-index", "systolic-blood-pressure",
            "diastolic-blood-pressure",
        ])
        #expect(plan.path[3].inputs.map(\.value) == [risk.probability])
        #expect(plan.disclaimer.hasPrefix("Decision support, not a diagnosis"))
    }

    @Test func planWithoutTheModelInputsStillAppliesTheGuidelines() throws {
        let jsons = [
            FHIR.patientRecord(birthDate: "1970-01-01", gender: "female"),
            FHIR.quantityObservation(.loinc("4548-4"), "8.2", "%"),
            FHIR.quantityObservation(.loinc("39156-5"), "31", "kg/m2"),
        ]
        let plan = try planner().plan(FHIR.records(jsons), asOfMs: FHIR.asOfMs)
        #expect(plan.risk == nil)
        let reason = try #require(plan.riskNotComputed)
        #expect(reason.contains("essential inputs missing: Glucose") && reason.contains("Pregnancies (not recorded)"))
        #expect(plan.items.map(\.rule.id) == ["G1", "G2", "G3", "W1", "E1", "A1", "B0"])
        #expect(plan.path[3].answer == "not-computed")
        let text = String(decoding: plan.canonicalJSON(), as: UTF8.self)
        #expect(text.contains(#""risk":null,"risk_not_computed":"type2-diabetes: too few measured inputs"#))
        let expectedInputs =
            #""model_inputs":null,"plan_inputs":[{"effective_ms":null,"name":"age","record":"r01","unit":"a","#
            + #""value":54},{"effective_ms":1704877200000,"name":"hemoglobin-a1c","record":"r02","unit":"%","#
            + #""value":8.2},{"effective_ms":1704877200000,"name":"body-mass-index","record":"r03","unit":"kg/m2","#
            + #""value":31}]}"#
        #expect(String(decoding: plan.inputsCanonicalJSON(), as: UTF8.self).hasSuffix(expectedInputs))
    }

    @Test func ageIsRequiredAndAdultsOnly() throws {
        #expect(throws: ClinicalServiceError.insufficientInputs(
            task: "type2-diabetes", missing: [MissingInput(name: "Age", reason: .notRecorded)], essential: ["Age"],
            measured: 0, required: 1)) {
            try planner().plan(FHIR.records([FHIR.quantityObservation(.loinc("4548-4"), "6.1", "%")]), asOfMs: FHIR.asOfMs)
        }
        #expect(throws: ClinicalServiceError.outsideModelPopulation(
            task: "type2-diabetes", reason: "the care plan is for adults aged 18 or more")) {
            try planner().plan(FHIR.records([FHIR.patientRecord(birthDate: "2010-01-01")]), asOfMs: FHIR.asOfMs)
        }
        #expect(throws: ClinicalServiceError.wrongModelForCarePlan(task: "heart-disease")) {
            try DiabetesCarePlanner(model: ModelFixtures.heart)
        }
    }

    @Test func canonicalEncodingIsStableAndCoversTheRisk() throws {
        let jsons = FHIR.diabetesRecords() + [FHIR.quantityObservation(.loinc("1558-6"), "5.9", "mmol/L")]
        let first = try planner().plan(FHIR.records(jsons), asOfMs: FHIR.asOfMs)
        let second = try planner().plan(Array(FHIR.records(jsons).reversed()), asOfMs: FHIR.asOfMs)
        #expect(first.canonicalJSON() == second.canonicalJSON())
        #expect(first.hashes(using: testHash) == second.hashes(using: testHash))
        let parsed = try JSONParser.parse(first.canonicalJSON())
        #expect(parsed == first.canonicalValue)
        #expect(parsed["risk"] == first.risk!.canonicalValue)
        #expect(parsed["items"]?.arrayValue?.first?["guideline"]?["id"] == .string("ada-2024-s2"))
        #expect(
            String(decoding: first.inputsCanonicalJSON(), as: UTF8.self).contains(
                #""model_inputs":{"as_of_ms":1717200000000,"format":"healthledger-model-inputs/1""#))
        // Another as-of time is another result.
        let later = try planner().plan(FHIR.records(jsons), asOfMs: FHIR.asOfMs + 1)
        #expect(later.hashes(using: testHash).input != first.hashes(using: testHash).input)
    }
}
