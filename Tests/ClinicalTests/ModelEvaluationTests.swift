import Crypto
import Foundation
import Testing
@testable import Clinical

/// Training from a CSV and scoring a trained model on other rows, on data the tests generate from fixed seeds.
@Suite struct ModelEvaluationTests {
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }

    /// Pima-layout rows whose risk rises with Glucose, BMI and Age; about one in ten measurements is missing
    /// (written `?`, empty, `NaN`, or a zero in the columns where zero means "not measured").
    static func pimaCSV(rows: Int, seed: UInt64) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        var lines = [CSVTests.pimaHeader]
        for _ in 0..<rows {
            let glucose = 120 + 30 * gaussian(&g)
            let bmi = 32 + 6 * gaussian(&g)
            let age = 20 + Double(g.next() % 50)
            let logOdds = 0.06 * (glucose - 120) + 0.1 * (bmi - 32) + 0.03 * (age - 40) - 0.6
            let probability = 1 / (1 + exp(-logOdds))
            let outcome = Double(g.next() >> 11) / Double(1 << 53) < probability ? 1 : 0
            var fields = ["\(g.next() % 8)", String(format: "%.0f", glucose), "\(60 + g.next() % 30)", "\(15 + g.next() % 30)",
                          "\(50 + g.next() % 200)", String(format: "%.1f", bmi), String(format: "%.3f", 0.1 + Double(g.next() % 900) / 1000),
                          String(format: "%.0f", age), "\(outcome)"]
            if g.next() % 10 == 0 {
                let column = [1, 2, 3, 4, 5][Int(g.next() % 5)]
                fields[column] = ["?", "", "NaN", "0"][Int(g.next() % 4)]
            }
            lines.append(fields.joined(separator: ","))
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    @Test func trainingFromACSVIsDeterministicAndRecordsItsInputs() throws {
        let csv = Self.pimaCSV(rows: 400, seed: 11)
        let (first, cv) = try ClinicalTrainer.train(task: .diabetes, csv: csv, folds: 5, seed: 3, l2: 1, modelID: "diabetes-test",
                                                    hash: Self.sha256)
        let (second, _) = try ClinicalTrainer.train(task: .diabetes, csv: csv, folds: 5, seed: 3, l2: 1, modelID: "diabetes-test",
                                                    hash: Self.sha256)
        #expect(first == second && first.contentHash == second.contentHash)
        #expect(first.modelID == "diabetes-test" && first.trainingDataSHA256 == Self.sha256(csv) && first.trainingRows == 400)
        #expect(first.crossValidation.folds == 5 && first.crossValidation.seed == 3)
        #expect(first.crossValidation.rocAUC == cv.pooled.rocAUC)
        // The generated risk is learnable: well above chance out of fold, and Glucose carries the most weight.
        #expect(cv.pooled.rocAUC > 0.75, "AUC \(cv.pooled.rocAUC)")
        let glucose = try #require(first.featureNames.firstIndex(of: "Glucose"))
        #expect(first.coefficients[glucose] == first.coefficients.max())
        // Another seed deals other folds (other figures), but the final fit on all rows is the same model.
        let (reseeded, _) = try ClinicalTrainer.train(task: .diabetes, csv: csv, folds: 5, seed: 4, l2: 1, modelID: "diabetes-test",
                                                      hash: Self.sha256)
        #expect(reseeded.crossValidation != first.crossValidation)
        #expect(reseeded.coefficients == first.coefficients)
        // The model id is part of the hashed content.
        let (renamed, _) = try ClinicalTrainer.train(task: .diabetes, csv: csv, folds: 5, seed: 3, l2: 1, modelID: "diabetes-other",
                                                     hash: Self.sha256)
        #expect(renamed.contentHash != first.contentHash && renamed.coefficients == first.coefficients)
        // Round trip through the file format.
        #expect(try ClinicalModelFile.decode(try first.encoded(), hash: Self.sha256) == first)
    }

    @Test func scoringATrainedModelOnNewRowsDoesNotRetrain() throws {
        let (model, _) = try ClinicalTrainer.train(task: .diabetes, csv: Self.pimaCSV(rows: 300, seed: 21), folds: 5,
                                                   hash: Self.sha256)
        let unseenCSV = Self.pimaCSV(rows: 200, seed: 22)
        let unseen = try ClinicalDataset.load(task: .diabetes, csv: unseenCSV)
        let evaluation = model.evaluate(unseen)
        // Exactly the model's own predictions, row by row, with their imputed inputs.
        let predictions = unseen.rows.map(model.predict)
        #expect(evaluation.probabilities == predictions.map(\.probability))
        #expect(evaluation.imputedByRow == predictions.map(\.imputed))
        #expect(evaluation.metrics == Metrics.evaluate(predictions.map(\.probability), unseen.labels))
        #expect(evaluation.calibration == Metrics.calibration(predictions.map(\.probability), unseen.labels))
        #expect(evaluation.metrics.rocAUC > 0.75, "AUC \(evaluation.metrics.rocAUC)")
        // The imputation summary counts exactly the missing values of the rows.
        let missing = unseen.rows.reduce(0) { $0 + $1.filter { $0 == nil }.count }
        #expect(evaluation.imputedInputs.map(\.rows).reduce(0, +) == missing && missing > 0)
        #expect(evaluation.imputedByRow.map(\.count).reduce(0, +) == missing)
        #expect(evaluation.imputedInputs.allSatisfy { ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"].contains($0.name) })
        // Deterministic.
        let again = model.evaluate(unseen)
        #expect(again == evaluation)
    }

    @Test func missingInputsAreCountedAndNamedPerRow() throws {
        let csv = CSVTests.pimaHeader + "\n" + """
            1,0,66,23,94,28.1,0.167,21,0
            2,120,?,,0,NaN,0.2,30,1
            3,130,70,20,80,30,0.3,40,1
            """ + "\n"
        let data = try ClinicalDataset.load(task: .diabetes, csv: Array(csv.utf8))
        #expect(data.missingInputNames(at: 0) == ["Glucose"])
        #expect(data.missingInputNames(at: 1) == ["BloodPressure", "SkinThickness", "Insulin", "BMI"])
        #expect(data.missingInputNames(at: 2).isEmpty)
        #expect(data.missingInputCounts == [
            ImputedInputCount(name: "Glucose", rows: 1), ImputedInputCount(name: "BloodPressure", rows: 1),
            ImputedInputCount(name: "SkinThickness", rows: 1), ImputedInputCount(name: "Insulin", rows: 1),
            ImputedInputCount(name: "BMI", rows: 1),
        ])
    }

    @Test func rowsThatCannotBeCrossValidatedAreRefusedBeforeTraining() throws {
        let data = syntheticDataset(n: 12, seed: 1) // 4 positive, 8 negative
        #expect(throws: TrainingDataError.invalidFoldCount(folds: 1)) { try data.checkCrossValidation(folds: 1) }
        #expect(throws: TrainingDataError.invalidFoldCount(folds: 101)) { try data.checkCrossValidation(folds: 101) }
        #expect(throws: TrainingDataError.tooFewRows(rows: 12, folds: 13)) { try data.checkCrossValidation(folds: 13) }
        try data.checkCrossValidation(folds: 12)
        let threePositives = data.subset(Array(1..<12)) // without row 0: positives 3, 6, 9 remain
        try threePositives.checkCrossValidation(folds: 5)
        let single = data.subset([0, 1, 2, 4, 5])
        #expect(throws: TrainingDataError.tooFewInClass(label: 1, rows: 1)) { try single.checkCrossValidation(folds: 2) }
        #expect(throws: TrainingDataError.tooFewInClass(label: 1, rows: 1)) {
            try ClinicalTrainer.train(single, trainingDataSHA256: "x", folds: 2, hash: Self.sha256)
        }
        #expect(throws: ClinicalModelError.invalidModelID("Heart V1")) {
            try ClinicalTrainer.train(data, trainingDataSHA256: "x", folds: 3, modelID: "Heart V1", hash: Self.sha256)
        }
        #expect("\(TrainingDataError.tooFewInClass(label: 1, rows: 1))" == "1 row with label positive; each class needs at least 2")
    }

    @Test func modelIDsAreShortLowercaseNames() {
        for valid in ["heart-v1", "diabetes-v12", "a", "x.y-2", String(repeating: "a", count: 64)] {
            #expect(ClinicalModelFile.isValidModelID(valid), "\(valid)")
        }
        for invalid in ["", "-heart", ".v1", "Heart-v1", "heart v1", "heart/v1", "héart", String(repeating: "a", count: 65)] {
            #expect(!ClinicalModelFile.isValidModelID(invalid), "\(invalid)")
        }
    }

    /// A model file whose id was edited after sealing is refused; so is one whose id is not a valid name.
    @Test func decodingChecksTheModelID() throws {
        let (model, _) = try ClinicalTrainer.train(task: .diabetes, csv: Self.pimaCSV(rows: 60, seed: 5), folds: 3,
                                                   modelID: "diabetes-v9", hash: Self.sha256)
        let text = String(decoding: try model.encoded(), as: UTF8.self)
        let renamed = text.replacingOccurrences(of: "\"diabetes-v9\"", with: "\"diabetes-v8\"")
        #expect(renamed != text)
        #expect(throws: ClinicalModelError.self) { try ClinicalModelFile.decode(Array(renamed.utf8), hash: Self.sha256) }
        let invalid = text.replacingOccurrences(of: "\"diabetes-v9\"", with: "\"Diabetes v9\"")
        #expect(throws: ClinicalModelError.invalidModelID("Diabetes v9")) {
            try ClinicalModelFile.decode(Array(invalid.utf8), hash: Self.sha256)
        }
    }

    /// A model file from outside cannot make a prediction fail a precondition: every count and scale that
    /// `predict` relies on is checked when the file is decoded, before its hash.
    @Test func inconsistentModelFilesAreRefusedNotTrusted() throws {
        let (model, _) = try ClinicalTrainer.train(task: .diabetes, csv: Self.pimaCSV(rows: 60, seed: 6), folds: 3,
                                                   hash: Self.sha256)
        let encoded = try model.encoded()
        func edited(_ change: (inout [String: Any], inout [String: Any]) -> Void) throws -> [UInt8] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any])
            var preprocessor = try #require(object["preprocessor"] as? [String: Any])
            change(&object, &preprocessor)
            object["preprocessor"] = preprocessor
            return Array(try JSONSerialization.data(withJSONObject: object))
        }
        func dropLast(_ value: Any?) -> [Any] { Array((value as? [Any] ?? []).dropLast()) }
        let shortened = try edited { object, preprocessor in
            // Consistent among themselves, one input short of what the task's features expand to.
            for key in ["outputNames", "means", "scales"] { preprocessor[key] = dropLast(preprocessor[key]) }
            for key in ["featureNames", "coefficients"] { object[key] = dropLast(object[key]) }
        }
        let zeroScale = try edited { _, preprocessor in
            var scales = preprocessor["scales"] as? [Any] ?? []
            scales[0] = 0
            preprocessor["scales"] = scales
        }
        let fewerImputeValues = try edited { _, preprocessor in preprocessor["imputeValues"] = dropLast(preprocessor["imputeValues"]) }
        for bytes in [shortened, zeroScale, fewerImputeValues] {
            #expect(throws: ClinicalModelError.featureMismatch) { try ClinicalModelFile.decode(bytes, hash: Self.sha256) }
        }
        #expect(try ClinicalModelFile.decode(try edited { _, _ in }, hash: Self.sha256) == model)
    }

    @Test func recommendedPenaltyPerTask() {
        #expect(ClinicalTrainer.recommendedL2(for: .heart) == 10)
        #expect(ClinicalTrainer.recommendedL2(for: .diabetes) == 1)
    }
}
