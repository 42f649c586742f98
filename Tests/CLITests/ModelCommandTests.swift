import Foundation
import Testing
import TestSupport

/// `model train` and `model evaluate` through the real binary, on CSV files the tests generate from fixed
/// seeds, and the shipped models by name.
@Suite struct ModelCommandTests {
    static let pimaHeader = "Pregnancies,Glucose,BloodPressure,SkinThickness,Insulin,BMI,DiabetesPedigreeFunction,Age,Outcome"
    static let heartHeader = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num"
    static let vectors = CLIRunner.packageRoot.appendingPathComponent("Tests/ClinicalTests/Vectors")

    static func uniform(_ g: inout SeededRandom) -> Double { Double(g.next() >> 11) / Double(1 << 53) }

    /// Pima-layout rows whose outcome follows Glucose and BMI; every seventh row has a missing measurement.
    static func pimaCSV(rows: Int, seed: UInt64) -> String {
        var g = SeededRandom(seed: seed)
        var lines = [pimaHeader]
        for row in 0..<rows {
            let glucose = 80 + 100 * uniform(&g)
            let bmi = 20 + 25 * uniform(&g)
            let probability = 1 / (1 + exp(-(0.05 * (glucose - 130) + 0.1 * (bmi - 32))))
            var fields = ["\(g.next() % 8)", String(format: "%.0f", glucose), "\(60 + g.next() % 30)", "\(15 + g.next() % 30)",
                          "\(50 + g.next() % 200)", String(format: "%.1f", bmi), "0.\(100 + g.next() % 800)", "\(21 + g.next() % 50)",
                          uniform(&g) < probability ? "1" : "0"]
            if row % 7 == 3 { fields[[1, 2, 3, 4, 5][row % 5]] = ["?", "", "NaN", "0"][row % 4] }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Cleveland-layout rows with valid codes (labels random: only for scoring the shipped model).
    static func heartCSV(rows: Int, seed: UInt64) -> String {
        var g = SeededRandom(seed: seed)
        var lines = [heartHeader]
        for row in 0..<rows {
            let fields = ["\(35 + g.next() % 40)", "\(g.next() % 2)", "\(1 + g.next() % 4)", "\(100 + g.next() % 80)",
                          "\(150 + g.next() % 200)", "\(g.next() % 2)", "\(g.next() % 3)", "\(100 + g.next() % 100)",
                          "\(g.next() % 2)", String(format: "%.1f", 4 * uniform(&g)), "\(1 + g.next() % 3)",
                          row == 2 ? "?" : "\(g.next() % 4)", ["3", "6", "7"][Int(g.next() % 3)], "\(row % 2 == 0 ? 0 : g.next() % 5)"]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func write(_ text: String, _ name: String, _ runner: CLIRunner) throws {
        try text.write(toFile: runner.file(name), atomically: true, encoding: .utf8)
    }

    @Test func trainWritesAModelThatEvaluateScoresAndCrossValidationReproduces() throws {
        let runner = try CLIRunner()
        try Self.write(Self.pimaCSV(rows: 200, seed: 1), "data.csv", runner)
        let trained = try runner.run("model", "train", "--task", "diabetes", "--data", "data.csv", "--out", "m.json", "--json")
        #expect(trained.exitCode == 0, "\(trained.stderr)")
        let train = try trained.json()
        #expect(train["model_id"] as? String == "diabetes-local")
        let hash = try #require(train["model_hash"] as? String)
        #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit))
        #expect(train["evaluation"] as? String == "cross_validation")
        #expect(train["n"] as? Int == 200 && train["folds"] as? Int == 10 && train["seed"] as? Int == 1 && train["l2"] as? Double == 1)
        let accuracy = try #require(train["accuracy"] as? Double)
        let auc = try #require(train["roc_auc"] as? Double)
        #expect(auc > 0.8, "the generated outcome follows Glucose and BMI: AUC \(auc)")
        let calibration = try #require(train["calibration"] as? [[String: Any]])
        #expect(calibration.count == 10 && calibration.compactMap { $0["n"] as? Int }.reduce(0, +) == 200)
        let imputed = try #require(train["imputed"] as? [String: Int])
        #expect(!imputed.isEmpty && imputed.values.reduce(0, +) == 200 / 7 + 1)
        #expect(try String(contentsOfFile: runner.file("m.json"), encoding: .utf8).contains("\"modelID\" : \"diabetes-local\""))

        // The model scored on its own training rows: in-sample, and it says so.
        let scored = try runner.run("model", "evaluate", "--model", "m.json", "--data", "data.csv", "--json")
        #expect(scored.exitCode == 0, "\(scored.stderr)")
        let score = try scored.json()
        #expect(score["evaluation"] as? String == "model" && score["model_hash"] as? String == hash)
        #expect(score["model_source"] as? String == "m.json" && score["in_sample"] as? Bool == true)
        #expect((score["recorded_cross_validation"] as? [String: Any])?["accuracy"] as? Double == accuracy)
        let text = try runner.run("model", "evaluate", "--model", "m.json", "--data", "data.csv")
        #expect(text.stdout.contains("in-sample and optimistic") && text.stdout.contains("calibration:"))

        // Cross-validating the same procedure with the same folds gives the figures recorded at training.
        let cv = try runner.run("model", "evaluate", "--task", "diabetes", "--data", "data.csv", "--json").json()
        #expect(cv["accuracy"] as? Double == accuracy && cv["roc_auc"] as? Double == auc)
        #expect(cv["brier"] as? Double == train["brier"] as? Double)

        // On rows it never saw: not in-sample.
        try Self.write(Self.pimaCSV(rows: 100, seed: 2), "other.csv", runner)
        let other = try runner.run("model", "evaluate", "--model", "m.json", "--data", "other.csv", "--json").json()
        #expect(other["in_sample"] as? Bool == false && other["n"] as? Int == 100)
        #expect(try #require(other["roc_auc"] as? Double) > 0.75)
    }

    @Test func trainOptionsAreRecordedAndAnExistingFileIsKept() throws {
        let runner = try CLIRunner()
        try Self.write(Self.pimaCSV(rows: 80, seed: 3), "data.csv", runner)
        let first = try runner.run("model", "train", "--task", "diabetes", "--data", "data.csv", "--out", "m.json",
                                   "--id", "diabetes-v7", "--folds", "4", "--seed", "9", "--l2", "2.5", "--json")
        #expect(first.exitCode == 0, "\(first.stderr)")
        let json = try first.json()
        #expect(json["model_id"] as? String == "diabetes-v7" && json["folds"] as? Int == 4 && json["seed"] as? Int == 9)
        #expect(json["l2"] as? Double == 2.5)
        let again = try runner.run("model", "train", "--task", "diabetes", "--data", "data.csv", "--out", "m.json")
        #expect(again.exitCode == 2)
        #expect(again.stderr == "error: m.json already exists; pass --force to replace it, or choose another file\n")
        let forced = try runner.run("model", "train", "--task", "diabetes", "--data", "data.csv", "--out", "m.json", "--force", "--json")
        #expect(forced.exitCode == 0)
        #expect(try forced.json()["model_id"] as? String == "diabetes-local")
    }

    /// Bad CSVs exit 2 naming the file, line and column, but never echo the value (it may be a measurement).
    @Test func badDataFilesNameFileLineAndColumnButNotTheValue() throws {
        let runner = try CLIRunner()
        let rows = Self.pimaCSV(rows: 30, seed: 4).split(separator: "\n").map(String.init)
        var fields = rows[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[5] = "31.4secret"
        let bad = ([rows[0], rows[1], fields.joined(separator: ",")] + rows[3...]).joined(separator: "\n") + "\n"
        try Self.write(bad, "bad.csv", runner)
        try Self.write(Self.heartCSV(rows: 20, seed: 1), "heart.csv", runner)
        try Self.write(Self.heartHeader + "\n63,1,5,145,233,1,2,150,0,2.3,3,0,6,0\n", "code.csv", runner)
        try Self.write(Self.pimaHeader + "\n", "empty.csv", runner)
        try Self.write(rows[0...5].joined(separator: "\n") + "\n", "few.csv", runner)
        try Self.write(bad.replacingOccurrences(of: "31.4secret", with: "1e200"), "extreme.csv", runner)
        let remedyPima = "the file must have the diabetes-pima layout, header '\(Self.pimaHeader)', one row per line, missing values written ?, NaN or left empty"

        let cases: [([String], Int32, String)] = [
            (["model", "train", "--task", "diabetes", "--data", "bad.csv", "--out", "m.json"], 2,
             "error: data file bad.csv: line 3, column 6 (BMI): not a number; \(remedyPima)\n"),
            (["model", "evaluate", "--task", "diabetes", "--data", "heart.csv"], 2,
             "error: data file heart.csv: line 1, column 1: header expected 'Pregnancies', found 'age'; \(remedyPima)\n"),
            (["model", "evaluate", "--model", "diabetes", "--data", "heart.csv"], 2,
             "error: data file heart.csv: line 1, column 1: header expected 'Pregnancies', found 'age'; \(remedyPima)\n"),
            (["model", "evaluate", "--model", "heart", "--data", "code.csv"], 2,
             "error: data file code.csv: line 2, column 3 (cp): expected one of [1.0, 2.0, 3.0, 4.0]; the file must have the heart-cleveland layout, header '\(Self.heartHeader)', one row per line, missing values written ?, NaN or left empty\n"),
            (["model", "evaluate", "--task", "diabetes", "--data", "empty.csv"], 2,
             "error: data file empty.csv has a header but no rows; give a file with at least one row\n"),
            (["model", "evaluate", "--task", "diabetes", "--data", "few.csv"], 2,
             "error: data file few.csv: 5 rows cannot be split into 10 folds; give more rows, or fewer --folds\n"),
            (["model", "train", "--task", "diabetes", "--data", "extreme.csv", "--out", "m.json"], 2,
             "error: training on extreme.csv gave a model with NaN or infinite values; check the data for extreme values (a value beyond about 1e150 overflows)\n"),
            (["model", "evaluate", "--task", "diabetes", "--data", "missing.csv"], 1,
             "error: cannot read data file missing.csv: No such file or directory; check the path and its permissions\n"),
        ]
        for (arguments, exitCode, expected) in cases {
            let result = try runner.run(arguments)
            #expect(result.exitCode == exitCode, "\(arguments)")
            #expect(result.stderr == expected, "\(arguments)")
            #expect(!result.stderr.contains("secret") && result.stdout.isEmpty)
            let json = try runner.run(arguments + ["--json"])
            #expect(try "error: " + json.jsonError() + "\n" == expected)
        }
        #expect(!FileManager.default.fileExists(atPath: runner.file("m.json")))
    }

    static let usageCases: [([String], String)] = [
        (["model", "evaluate", "--data", "d.csv"],
         "give --task (cross-validate the training procedure) or --model (score a trained model); run 'healthledger model evaluate --help'"),
        (["model", "evaluate", "--data", "d.csv", "--task", "heart", "--model", "heart"],
         "give either --task or --model, not both; run 'healthledger model evaluate --help'"),
        (["model", "evaluate", "--data", "d.csv", "--model", "heart", "--folds", "5"],
         "--folds applies to --task only: a trained model is scored as it is; run 'healthledger model evaluate --help'"),
        (["model", "evaluate", "--data", "d.csv", "--task", "heart", "--folds", "1"],
         "--folds '1' is not a number from 2 to 100; run 'healthledger model evaluate --help'"),
        (["model", "evaluate", "--data", "d.csv", "--task", "heart", "--min-accuracy", "1.5"],
         "--min-accuracy '1.5' is not a number from 0 to 1; run 'healthledger model evaluate --help'"),
        (["model", "train", "--task", "lung", "--data", "d.csv", "--out", "m.json"],
         "--task 'lung' is not one of: heart, diabetes; run 'healthledger model train --help'"),
        (["model", "train", "--task", "heart", "--data", "d.csv", "--out", "m.json", "--id", "Heart V1"],
         "--id 'Heart V1' is not 1-64 characters of a-z, 0-9, '.', '-' starting with a letter or digit; run 'healthledger model train --help'"),
        (["model", "train", "--task", "heart", "--data", "d.csv", "--out", "m.json", "--l2", "0"],
         "--l2 '0' is not a number from 0.001 to 10000; run 'healthledger model train --help'"),
        (["model", "train", "--task", "heart", "--data", "d.csv"], "missing --out MODEL; run 'healthledger model train --help'"),
    ]

    @Test(arguments: usageCases.indices)
    func usageErrorsExitTwo(_ index: Int) throws {
        let (arguments, expected) = Self.usageCases[index]
        let result = try CLIRunner().run(arguments)
        #expect(result.exitCode == 2)
        #expect(result.stderr == "error: \(expected)\n")
    }

    /// The shipped models are in the binary: found by name or id, with the hash and the predictions recorded
    /// when they were built (Tests/ClinicalTests/Vectors).
    @Test(arguments: [("heart", "heart-v1"), ("diabetes", "diabetes-v1")])
    func shippedModelsByNameGiveTheRecordedPredictions(_ name: String, _ id: String) throws {
        let runner = try CLIRunner()
        let recordedData = try Data(contentsOf: Self.vectors.appendingPathComponent("\(id)-predictions.json"))
        let recorded = try #require(try JSONSerialization.jsonObject(with: recordedData) as? [String: Any])
        let inputs = Self.vectors.appendingPathComponent("\(name)-fixed-inputs.csv").path
        for reference in [name, id] {
            let result = try runner.run("model", "evaluate", "--model", reference, "--data", inputs, "--predictions", "--json")
            #expect(result.exitCode == 0, "\(result.stderr)")
            let json = try result.json()
            #expect(json["model_id"] as? String == id && json["model_source"] as? String == "shipped")
            #expect(json["model_hash"] as? String == recorded["model_hash"] as? String)
            #expect(json["in_sample"] as? Bool == false)
            let predictions = try #require(json["predictions"] as? [[String: Any]])
            let expected = try #require(recorded["predictions"] as? [[String: Any]])
            #expect(predictions.count == expected.count)
            for (got, want) in zip(predictions, expected) {
                #expect(got["line"] as? Int == want["line"] as? Int)
                #expect(abs(try #require(got["probability"] as? Double) - (try #require(want["probability"] as? Double))) < 1e-12)
                #expect(got["imputed"] as? [String] == want["imputed"] as? [String])
            }
        }
    }

    @Test func shippedHeartModelScoresGeneratedRows() throws {
        let runner = try CLIRunner()
        try Self.write(Self.heartCSV(rows: 40, seed: 7), "heart.csv", runner)
        let result = try runner.run("model", "evaluate", "--model", "heart", "--data", "heart.csv")
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("model   heart-v1 (heart, shipped)"))
        #expect(result.stdout.contains("imputed (median of the model's training rows): ca on 1 row"))
        #expect(!result.stdout.contains("in-sample"))
    }

    @Test func aChangedModelFileFailsVerification() throws {
        let runner = try CLIRunner()
        try Self.write(Self.pimaCSV(rows: 60, seed: 5), "data.csv", runner)
        #expect(try runner.run("model", "train", "--task", "diabetes", "--data", "data.csv", "--out", "m.json").exitCode == 0)
        let original = try String(contentsOfFile: runner.file("m.json"), encoding: .utf8)
        let changed = original.replacingOccurrences(of: "\"trainingRows\" : 60", with: "\"trainingRows\" : 61")
        #expect(changed != original)
        try Self.write(changed, "changed.json", runner)
        let result = try runner.run("model", "evaluate", "--model", "changed.json", "--data", "data.csv")
        #expect(result.exitCode == 4)
        #expect(result.stderr.hasPrefix("error: model file changed.json: content hash mismatch"))
        #expect(result.stderr.hasSuffix("; the file was changed after it was written; do not use it\n"))

        try Self.write("{\"hello\": 1}", "other.json", runner)
        let notAModel = try runner.run("model", "evaluate", "--model", "other.json", "--data", "data.csv")
        #expect(notAModel.exitCode == 2)
        #expect(notAModel.stderr.hasPrefix("error: model file other.json is not a model file"))
    }

    @Test func missedTargetsExitFourAndStillPrintTheResult() throws {
        let runner = try CLIRunner()
        try Self.write(Self.pimaCSV(rows: 120, seed: 6), "data.csv", runner)
        let missed = try runner.run("model", "evaluate", "--task", "diabetes", "--data", "data.csv", "--min-accuracy", "0.99",
                                    "--min-roc-auc", "0.5", "--json")
        #expect(missed.exitCode == 4)
        let json = try missed.json()
        let targets = try #require(json["targets"] as? [String: Any])
        #expect(targets["met"] as? Bool == false && targets["min_accuracy"] as? Double == 0.99)
        #expect(missed.stderr.hasPrefix("error: cross-validation of diabetes missed its targets: accuracy 0."))
        #expect(!missed.stderr.contains("ROC AUC"))

        let met = try runner.run("model", "evaluate", "--task", "diabetes", "--data", "data.csv", "--min-roc-auc", "0.5")
        #expect(met.exitCode == 0 && met.stderr.isEmpty)
        #expect(met.stdout.contains("targets: met (ROC AUC >= 0.500)"))
    }

    @Test func predictionsListEveryRowWithItsImputedInputs() throws {
        let runner = try CLIRunner()
        try Self.write(Self.pimaCSV(rows: 50, seed: 8), "data.csv", runner)
        let json = try runner.run("model", "evaluate", "--task", "diabetes", "--data", "data.csv", "--folds", "5",
                                  "--predictions", "--json").json()
        let predictions = try #require(json["predictions"] as? [[String: Any]])
        #expect(predictions.compactMap { $0["line"] as? Int } == Array(2...51))
        #expect(predictions.allSatisfy { (0...1).contains($0["probability"] as? Double ?? -1) })
        let imputedRows = predictions.indices.filter { !(predictions[$0]["imputed"] as? [String] ?? []).isEmpty }
        #expect(imputedRows == Array(stride(from: 3, to: 50, by: 7)))
        let text = try runner.run("model", "evaluate", "--task", "diabetes", "--data", "data.csv", "--predictions")
        #expect(text.stdout.contains("predictions:\n  line   label   probability   imputed"))
    }
}
