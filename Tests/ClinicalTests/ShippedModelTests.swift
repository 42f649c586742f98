import Crypto
import Foundation
import Testing
@testable import Clinical

/// The models compiled into the program: they load, carry the hashes recorded for them, are byte for byte the
/// JSON files in Sources/Clinical/Models, and give the predictions recorded by scripts/build-models.
@Suite struct ShippedModelTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let modelsDirectory = packageRoot.appendingPathComponent("Sources/Clinical/Models")
    static let vectorsDirectory = packageRoot.appendingPathComponent("Tests/ClinicalTests/Vectors")

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }

    static func contents(_ url: URL) throws -> [UInt8] {
        Array(try #require(FileManager.default.contents(atPath: url.path), "missing \(url.path)"))
    }

    @Test func theCatalogueNamesHeartAndDiabetes() {
        #expect(ShippedModels.names == ["heart", "diabetes"])
        #expect(ShippedModels.all.map(\.modelID) == ["heart-v1", "diabetes-v1"])
        #expect(ShippedModels.model(named: "heart-v1")?.name == "heart")
        #expect(ShippedModels.model(named: "lung") == nil)
    }

    @Test(arguments: ShippedModels.names)
    func loadsAndMatchesItsRecordedHash(_ name: String) throws {
        let shipped = try #require(ShippedModels.model(named: name))
        let model = try ShippedModels.load(named: name, hash: Self.sha256)
        #expect(model.modelID == shipped.modelID)
        #expect(model.contentHash == shipped.contentHash)
        #expect(Self.sha256(try model.canonicalJSON()) == shipped.contentHash)
        #expect(try ShippedModels.load(named: shipped.modelID, hash: Self.sha256) == model)
        let expectedTask: ClinicalTask = name == "heart" ? .heart : .diabetes
        #expect(model.task == expectedTask)
        #expect(model.l2 == ClinicalTrainer.recommendedL2(for: expectedTask))
        #expect(model.trainingDataSHA256.count == 64)
    }

    /// One source of truth: the compiled-in literal is the committed file, and no other file sits beside them.
    @Test func compiledInBytesAreTheModelFiles() throws {
        for shipped in ShippedModels.all {
            let file = try Self.contents(Self.modelsDirectory.appendingPathComponent("\(shipped.modelID).json"))
            let identical = Array(shipped.json.utf8) == file
            #expect(identical, "\(shipped.modelID): the compiled-in copy differs from its file; rerun scripts/build-models")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.modelsDirectory.path).sorted()
        #expect(files == ShippedModels.all.map { "\($0.modelID).json" }.sorted())
    }

    /// The recorded predictions (scripts/build-models) for the fixed inputs, including imputed ones.
    @Test(arguments: ShippedModels.names)
    func givesTheRecordedPredictions(_ name: String) throws {
        let model = try ShippedModels.load(named: name, hash: Self.sha256)
        let recordedBytes = try Self.contents(Self.vectorsDirectory.appendingPathComponent("\(model.modelID)-predictions.json"))
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(recordedBytes)) as? [String: Any])
        #expect(recorded["model_hash"] as? String == model.contentHash)
        let rows = try #require(recorded["predictions"] as? [[String: Any]])

        let csv = try Self.contents(Self.vectorsDirectory.appendingPathComponent("\(name)-fixed-inputs.csv"))
        let table = try ClinicalCSV.parse(csv, layout: model.task.layout)
        let data = try ClinicalDataset(task: model.task, table: table)
        try #require(rows.count == data.rows.count && rows.count >= 5)
        var imputedSomewhere = false
        for (index, row) in data.rows.enumerated() {
            let prediction = model.predict(row)
            let expected = try #require(rows[index]["probability"] as? Double)
            #expect(rows[index]["line"] as? Int == table.lines[index])
            #expect(abs(prediction.probability - expected) < 1e-12, "\(name) line \(table.lines[index])")
            #expect(prediction.imputed == rows[index]["imputed"] as? [String])
            imputedSomewhere = imputedSomewhere || !prediction.imputed.isEmpty
            // The explanation adds up: intercept + contributions = log-odds of the probability.
            let logOdds = prediction.contributions.map(\.logOdds).reduce(model.intercept, +)
            #expect(abs(LogisticRegression.sigmoid(logOdds) - prediction.probability) < 1e-12)
        }
        #expect(imputedSomewhere, "the fixed inputs must exercise imputation")
        // The whole-set figures agree with the evaluation API.
        let evaluation = model.evaluate(data)
        #expect(abs(evaluation.metrics.brier - (try #require(recorded["brier"] as? Double))) < 1e-12)
    }

    /// The cross-validated figures recorded in the files meet the issue's targets, and are not implausibly high
    /// (published logistic regression: Cleveland about 0.84 accuracy / 0.91 AUC, Pima about 0.77 / 0.83).
    @Test func recordedCrossValidationMeetsTheTargets() throws {
        let heart = try ShippedModels.load(named: "heart", hash: Self.sha256).crossValidation
        #expect(heart.folds == 10 && heart.seed == 1)
        #expect((0.90...0.95).contains(heart.rocAUC) && (0.82...0.90).contains(heart.accuracy))
        let diabetes = try ShippedModels.load(named: "diabetes", hash: Self.sha256).crossValidation
        #expect(diabetes.folds == 10 && diabetes.seed == 1)
        #expect((0.82...0.88).contains(diabetes.rocAUC) && (0.76...0.82).contains(diabetes.accuracy))
        #expect(heart.calibration.count == 10 && diabetes.calibration.count == 10)
        #expect(heart.calibration.map(\.count).reduce(0, +) == 303)
        #expect(diabetes.calibration.map(\.count).reduce(0, +) == 768)
    }

    /// Where the datasets are present, the models record their SHA-256 (they were trained on exactly these bytes).
    @Test func trainingDataHashesAreThoseOfTheDatasets() throws {
        for (name, file) in [("heart", "heart-cleveland.csv"), ("diabetes", "diabetes-pima.csv")] {
            guard let bytes = RealDataTests.load(file) else {
                print("SKIP: \(file) not found under \(RealDataTests.dataDir.path); training data hash not compared")
                continue
            }
            let model = try ShippedModels.load(named: name, hash: Self.sha256)
            #expect(model.trainingDataSHA256 == Self.sha256(bytes))
            #expect(model.trainingRows == (name == "heart" ? 303 : 768))
        }
    }

    @Test func refusesUnknownNamesAndDamagedOrSubstitutedModels() throws {
        #expect(throws: ShippedModelError.unknownModel("lung")) { try ShippedModels.load(named: "lung", hash: Self.sha256) }
        let heart = try #require(ShippedModels.model(named: "heart"))
        let diabetes = try #require(ShippedModels.model(named: "diabetes"))

        // One changed digit in a coefficient: the content no longer hashes to the hash the file records.
        let coefficient = try #require(heart.json.range(of: #"(?<="coefficients" : \[\n    )-?0\.\d"#, options: .regularExpression))
        var damagedJSON = heart.json
        let digit = damagedJSON[damagedJSON.index(before: coefficient.upperBound)]
        damagedJSON.replaceSubrange(damagedJSON.index(before: coefficient.upperBound)..<coefficient.upperBound,
                                    with: digit == "9" ? "8" : "9")
        let damaged = ShippedModel(name: "heart", modelID: "heart-v1", contentHash: heart.contentHash, json: damagedJSON)
        #expect(throws: ShippedModelError.self) { try ShippedModels.load(damaged, hash: Self.sha256) }
        do {
            _ = try ShippedModels.load(damaged, hash: Self.sha256)
        } catch {
            guard case let .invalid(id, reason) = error else { Issue.record("unexpected \(error)"); return }
            #expect(id == "heart-v1" && reason.contains("content hash mismatch"))
        }

        // A valid, sealed model under another model's catalogue entry.
        let substituted = ShippedModel(name: "heart", modelID: "diabetes-v1", contentHash: heart.contentHash, json: diabetes.json)
        #expect(throws: ShippedModelError.notTheRecordedModel(modelID: "diabetes-v1", recordedHash: heart.contentHash,
                                                             foundHash: diabetes.contentHash)) {
            try ShippedModels.load(substituted, hash: Self.sha256)
        }
        let renamed = ShippedModel(name: "heart", modelID: "heart-v2", contentHash: heart.contentHash, json: heart.json)
        #expect(throws: ShippedModelError.invalid(modelID: "heart-v2", reason: "the file names itself heart-v1")) {
            try ShippedModels.load(renamed, hash: Self.sha256)
        }
        let notJSON = ShippedModel(name: "heart", modelID: "heart-v1", contentHash: heart.contentHash, json: "{")
        #expect(throws: ShippedModelError.invalid(modelID: "heart-v1", reason: "not a model file")) {
            try ShippedModels.load(notJSON, hash: Self.sha256)
        }
    }
}
