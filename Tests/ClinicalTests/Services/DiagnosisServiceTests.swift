import Crypto
import Foundation
import Testing

@testable import Clinical

private func heartService() throws -> DiagnosisService {
    try DiagnosisService(model: ModelFixtures.heart)
}

@Suite struct DiagnosisServiceTests {
    @Test func endToEndHeartResult() throws {
        let service = try heartService()
        let records = FHIR.records(FHIR.heartRecords())
        let result = try service.diagnose(records, asOfMs: FHIR.asOfMs, patient: FHIR.patient)
        let row: [Double?] = [63, 1, 4, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6]
        let prediction = ModelFixtures.heart.predict(row)
        #expect(result.probability == prediction.probability)
        #expect(result.riskBand == RiskBandThresholds.heart.band(for: prediction.probability))
        #expect(result.model == (try ModelReference(id: "heart-test-v1", contentHash: ModelFixtures.heart.contentHash!)))
        #expect(result.inputs.row == row && result.imputed.isEmpty && result.notes.isEmpty)
        #expect(result.disclaimer.hasPrefix("Decision support, not a diagnosis"))
        // Contributions: largest magnitude first, and with the baseline they give the log-odds.
        let magnitudes = result.contributions.map { abs($0.logOdds) }
        #expect(magnitudes == magnitudes.sorted(by: >))
        #expect(Set(result.contributions.map(\.name)) == Set(ModelFixtures.heart.featureNames))
        let logOdds = result.contributions.reduce(result.baselineLogOdds) { $0 + $1.logOdds }
        #expect(abs(LogisticRegression.sigmoid(logOdds) - result.probability) < 1e-12)
        // The generated labels rise with asymptomatic chest pain and fall with a higher max heart rate.
        let coefficient = Dictionary(uniqueKeysWithValues: zip(ModelFixtures.heart.featureNames, ModelFixtures.heart.coefficients))
        #expect(coefficient["cp=4"]! > 0 && coefficient["thalach"]! < 0)
    }

    @Test func missingInputsAreImputedAndListed() throws {
        let records = FHIR.heartRecords().filter {
            let text = String(decoding: $0, as: UTF8.self)
            return !text.contains("major-vessels-fluoroscopy") && !text.contains("thallium-stress-result")
        }
        let result = try heartService().diagnose(FHIR.records(records), asOfMs: FHIR.asOfMs)
        #expect(result.imputed.map(\.name) == ["ca", "thal"])
        let model = ModelFixtures.heart
        #expect(result.imputed[0].value == model.preprocessor.imputeValues[11] && result.imputed[0].unit == "{vessels}")
        #expect(result.imputed[1].value == model.preprocessor.imputeValues[12] && result.imputed[1].unit == "{code}")
        #expect(result.imputed.allSatisfy { $0.reason == .notRecorded })
        #expect(result.probability == model.predict([63, 1, 4, 145, 233, 1, 2, 150, 0, 2.3, 3, nil, nil]).probability)
        let text = String(decoding: result.canonicalJSON(), as: UTF8.self)
        #expect(text.contains(#""imputed":[{"name":"ca","reason":{"code":"not-recorded","text":"not recorded"}"#))
    }

    @Test func tooFewInputsAreRefusedWithTheList() throws {
        let records = [FHIR.patientRecord(), FHIR.quantityObservation(.loinc("8480-6"), "140", "mm[Hg]")]
        let service = try heartService()
        do {
            _ = try service.diagnose(FHIR.records(records), asOfMs: FHIR.asOfMs)
            Issue.record("accepted")
        } catch {
            guard case let .insufficientInputs(task, missing, essential, measured, required) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(task == "heart-disease" && essential == ["cp"] && measured == 3 && required == 9)
            #expect(missing.map(\.name) == ["cp", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca", "thal"])
        }
    }

    @Test func diabetesResultNotesAMalePatient() throws {
        let service = try DiagnosisService(model: ModelFixtures.diabetes)
        var records = FHIR.diabetesRecords()
        records[0] = FHIR.patientRecord(birthDate: "1974-03-02", gender: "male")
        records.remove(at: 1)  // the pregnancy count: 0 for a male patient
        let result = try service.diagnose(FHIR.records(records), asOfMs: FHIR.asOfMs)
        #expect(result.inputs.row == [0, 148, 72, 35, 94, 33.6, 0.627, 50])
        #expect(result.notes.count == 1 && result.notes[0].contains("male patient"))
        #expect(result.thresholds == .diabetes)
    }

    @Test func modelsMustBeSealedNamedAndSupported() throws {
        let unsealed = ClinicalModelFile(
            modelID: "heart-v1", task: .heart, preprocessor: ModelFixtures.heart.preprocessor,
            model: ModelFixtures.heart.model, l2: 1, trainingDataSHA256: "x", trainingRows: 1,
            crossValidation: ModelFixtures.heart.crossValidation)
        #expect(throws: ClinicalServiceError.modelNotSealed) { try DiagnosisService(model: unsealed) }
        for id in ["", "Heart-v1", "heart_v1", "heart v1", "-heart", String(repeating: "a", count: 65)] {
            #expect(throws: ClinicalServiceError.invalidModelID) { try ModelReference(id: id, contentHash: "00") }
        }
        #expect(try ModelReference(id: String(repeating: "a", count: 64), contentHash: "00").id.count == 64)
        let other = ClinicalTask(
            id: "other", layout: .diabetesPima, features: ClinicalTask.diabetes.features, targetColumn: "Outcome",
            positiveAbove: 0)
        let otherModel = ModelFixtures.train(
            task: other, modelID: "other-v1", rows: ModelFixtures.diabetesRows(count: 60, seed: 3))
        #expect(throws: ClinicalServiceError.unsupportedTask("other")) { try DiagnosisService(model: otherModel) }
    }

    /// The shipped models (built from the real datasets) fit the feature maps: both serve the generated
    /// record sets, and name themselves by their ids and recorded hashes.
    @Test func shippedModelsServeTheirTasks() throws {
        let sha256: ([UInt8]) -> String = { SHA256.hash($0).hex }
        let heart = try DiagnosisService(model: try ShippedModels.load(named: "heart", hash: sha256))
        let heartResult = try heart.diagnose(FHIR.records(FHIR.heartRecords()), asOfMs: FHIR.asOfMs)
        #expect(heartResult.model.id == "heart-v1")
        #expect(heartResult.model.contentHash == ShippedModels.model(named: "heart")!.contentHash)
        #expect(heartResult.imputed.isEmpty && (0...1).contains(heartResult.probability))
        let planner = try DiabetesCarePlanner(model: try ShippedModels.load(named: "diabetes", hash: sha256))
        let plan = try planner.plan(FHIR.records(FHIR.diabetesRecords()), asOfMs: FHIR.asOfMs)
        #expect(plan.model.id == "diabetes-v1" && plan.risk?.inputs.row == [6, 148, 72, 35, 94, 33.6, 0.627, 50])
    }

    @Test func riskBandsChangeAtTheirThresholds() {
        let heart = RiskBandThresholds.heart
        #expect(heart.band(for: 0) == .low && heart.band(for: 0.1499999) == .low)
        #expect(heart.band(for: 0.15) == .intermediate && heart.band(for: 0.8499999) == .intermediate)
        #expect(heart.band(for: 0.85) == .high && heart.band(for: 1) == .high)
        let diabetes = RiskBandThresholds.diabetes
        #expect(diabetes.band(for: 0.2499999) == .low && diabetes.band(for: 0.25) == .intermediate)
        #expect(diabetes.band(for: 0.4999999) == .intermediate && diabetes.band(for: 0.5) == .high)
    }

    // MARK: Canonical encodings

    @Test func canonicalEncodingsAreStable() throws {
        let service = try heartService()
        let jsons = FHIR.heartRecords()
        let first = try service.diagnose(FHIR.records(jsons), asOfMs: FHIR.asOfMs)
        let shuffled = Array(FHIR.records(jsons).reversed())
        let second = try service.diagnose(shuffled, asOfMs: FHIR.asOfMs)
        #expect(first.canonicalJSON() == second.canonicalJSON())
        #expect(first.inputsCanonicalJSON() == second.inputsCanonicalJSON())
        let hashes = first.hashes(using: testHash)
        #expect(hashes.input == testHash(second.inputsCanonicalJSON()) && hashes.output == testHash(second.canonicalJSON()))
        #expect(hashes.input != hashes.output)
        // The bytes parse back to the same value, and a different input changes both hashes.
        #expect(try JSONParser.parse(first.canonicalJSON()) == first.canonicalValue)
        var changed = jsons
        changed[3] = FHIR.quantityObservation(.loinc("2093-3"), "234", "mg/dL")
        let third = try service.diagnose(FHIR.records(changed), asOfMs: FHIR.asOfMs)
        #expect(third.hashes(using: testHash).input != hashes.input)
        #expect(third.hashes(using: testHash).output != hashes.output)
    }

    @Test func goldenBytesOfOneResult() throws {
        let snapshot = try ClinicalFeatureExtractor().extract(
            FHIR.records([
                FHIR.patientRecord(birthDate: "1960-06-15", gender: "male"),
                FHIR.quantityObservation(.loinc("2093-3"), "5.2", "mmol/L", effective: "2024-01-10T09:00:00+01:00"),
                FHIR.quantityObservation(.loinc("8480-6"), "17", "kPa"),
            ]), asOfMs: FHIR.asOfMs)
        let inputs = TaskFeatureMap.heart.inputs(from: snapshot)
        let result = DiagnosisResult(
            taskID: "heart-disease", model: try ModelReference(id: "heart-v1", contentHash: "ab12"), probability: 0.123456789,
            riskBand: .low, thresholds: RiskBandThresholds(intermediateFrom: 0.15, highFrom: 0.85, source: "test"),
            baselineLogOdds: -0.25, contributions: [FeatureContribution(name: "chol", logOdds: 0.1 + 0.2)],
            inputs: ModelInputs(
                taskID: inputs.taskID, asOfMs: inputs.asOfMs, row: inputs.row, used: Array(inputs.used.prefix(2)),
                missing: Array(inputs.missing.prefix(1))),
            imputed: [ImputedInput(name: "trestbps", value: 130, unit: "mm[Hg]", reason: inputs.missing[0].reason)],
            refusedObservations: snapshot.refusedObservations, unreadableRecords: [], minimumInputsRule: "rule",
            notes: [], disclaimer: "Decision support, not a diagnosis.")
        let expected =
            #"{"as_of":"2024-06-01T00:00:00.000Z","as_of_ms":1717200000000,"disclaimer":"Decision support, not a diagnosis.","#
            + #""explanation":{"baseline_log_odds":-0.25,"contributions":[{"input":"chol","log_odds":0.3}],"#
            + #""method":"logistic regression: log-odds = baseline + sum of contributions; a contribution is coefficient x standardised input, 0 at the training mean"},"#
            + #""format":"healthledger-diagnosis/1","imputed":[{"name":"trestbps","reason":{"code":"not-recorded","#
            + #""text":"not recorded"},"rule":"median of the model's training data","unit":"mm[Hg]","value":130}],"#
            + #""inputs_used":[{"derivation":"whole years from Patient.birthDate to the as-of time","name":"age","#
            + #""reported_unit":null,"reported_value":"1960-06-15","source":{"code":null,"effective":null,"#
            + #""effective_ms":null,"element":"Patient.birthDate","record":"r01"},"unit":"a","value":63},"#
            + #"{"derivation":null,"name":"sex","reported_unit":null,"reported_value":"male","source":{"code":null,"#
            + #""effective":null,"effective_ms":null,"element":"Patient.gender","record":"r01"},"unit":"{male=1}","value":1}],"#
            + #""minimum_inputs_rule":"rule","model":{"content_hash":"ab12","id":"heart-v1"},"notes":[],"#
            + #""probability":0.123457,"refused_observations":[{"measurement":"systolic-blood-pressure","#
            + #""problem":{"code":"unit-not-accepted","text":"unit not accepted; expected mm[Hg]"},"record":"r03"}],"#
            + #""risk":{"band":"low","high_from":0.85,"intermediate_from":0.15,"source":"test"},"#
            + #""task":"heart-disease","unreadable_records":[]}"#
        #expect(String(decoding: result.canonicalJSON(), as: UTF8.self) == expected)
        #expect(inputs.missing[0].name == "cp")
        let expectedInputs =
            #"{"as_of_ms":1717200000000,"format":"healthledger-model-inputs/1","inputs_used":[{"derivation":"whole years "#
            + #"from Patient.birthDate to the as-of time","name":"age","reported_unit":null,"reported_value":"1960-06-15","#
            + #""source":{"code":null,"effective":null,"effective_ms":null,"element":"Patient.birthDate","record":"r01"},"#
            + #""unit":"a","value":63},{"derivation":null,"name":"sex","reported_unit":null,"reported_value":"male","#
            + #""source":{"code":null,"effective":null,"effective_ms":null,"element":"Patient.gender","record":"r01"},"#
            + #""unit":"{male=1}","value":1}],"missing":[{"name":"cp","reason":{"code":"not-recorded","#
            + #""text":"not recorded"}}],"task":"heart-disease"}"#
        #expect(String(decoding: result.inputsCanonicalJSON(), as: UTF8.self) == expectedInputs)
        // The cholesterol input, converted from mmol/L, as the full result would list it.
        let cholesterol = try #require(inputs.used.first { $0.name == "chol" })
        #expect(
            String(decoding: CanonicalJSON.encode(cholesterol.canonicalValue), as: UTF8.self)
                == #"{"derivation":"converted from mmol/L to mg/dL","name":"chol","reported_unit":"mmol/L","#
                + #""reported_value":"5.2","source":{"code":{"code":"2093-3","system":"http://loinc.org"},"#
                + #""effective":"2024-01-10T08:00:00.000Z","effective_ms":1704873600000,"element":"Observation 2093-3","#
                + #""record":"r02"},"unit":"mg/dL","value":201.084}"#)
    }
}
