import Testing

@testable import Clinical

@Suite struct HealthDataDescriptionTests {
    /// Marker values in the records must not appear in any text form of what is built from them.
    @Test func textFormsLeaveOutHealthData() throws {
        let jsons =
            FHIR.diabetesRecords(birthDate: "1971-07-23") + [
                FHIR.quantityObservation(.loinc("4548-4"), "6.37", "%"),
                FHIR.bloodPressurePanel(systolic: "137", diastolic: "83"),
            ]
        let records = FHIR.records(jsons)
        let planner = try DiabetesCarePlanner(model: ModelFixtures.diabetes)
        let snapshot = try planner.diagnosis.extractor.extract(records, asOfMs: FHIR.asOfMs)
        let plan = try planner.plan(snapshot: snapshot)
        let result = try #require(plan.risk)
        let inputs = try #require(CarePlanInputs(snapshot: snapshot, risk: result))
        var texts: [String] = []
        func add(_ value: Any) {
            texts.append(String(describing: value))
            texts.append(String(reflecting: value))
            var dumped = ""
            dump(value, to: &dumped)
            texts.append(dumped)
        }
        add(records[0])
        add(snapshot)
        add(result)
        add(result.inputs)
        add(plan)
        add(inputs)
        add(snapshot.measurements)
        add(snapshot.age)
        add(plan.items)
        add(plan.path)
        let markers = [
            "1971", "6.37", "137", "83", "148", "33.6", "0.627", "prediabetes", "stage-1",
            CanonicalNumber.format(result.probability), String(result.probability),
        ]
        for text in texts {
            for marker in markers {
                #expect(!text.contains(marker), "\(marker) in \(text)")
            }
        }
        #expect(String(describing: result) == "DiagnosisResult(type2-diabetes, model diabetes-test-v1)")
        #expect(String(describing: snapshot.value(of: .hemoglobinA1c)!) == "MeasuredValue(hemoglobin-a1c, record r09)")
    }
}
