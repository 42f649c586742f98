import Clinical
import Crypto
import Foundation

/// Inputs of the `model` commands: task names, CSV data files, model files (shipped or on disk), folds and
/// seeds. Every error names the file and, for a CSV, the line and column, but never a value read from a row:
/// a data file holds patient measurements.
enum ClinicalInputs {
    /// The tasks by their command-line names, in the order help texts list them.
    static let tasks: [(name: String, task: ClinicalTask)] = [("heart", .heart), ("diabetes", .diabetes)]

    /// The largest model file read (the shipped ones are about 10 KB).
    static let maximumModelFileBytes = 1024 * 1024

    /// SHA-256 hex: the hash model files record (Clinical takes it as a closure and has no crypto of its own).
    static func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }

    /// The command-line name of `task` (`heart`), or its id for a task this program does not name.
    static func name(of task: ClinicalTask) -> String { tasks.first { $0.task == task }?.name ?? task.id }

    /// The task named by option `--task`.
    static func task(_ invocation: Invocation) throws(CLIError) -> (name: String, task: ClinicalTask) {
        let text = invocation.requiredValue("task")
        guard let found = tasks.first(where: { $0.name == text }) else {
            throw invocation.usageError("--task '\(text.prefix(40))' is not one of: \(tasks.map(\.name).joined(separator: ", "))")
        }
        return found
    }

    /// `--folds N` (default 10), within `ClinicalDataset.allowedFolds`.
    static func folds(_ invocation: Invocation) throws(CLIError) -> Int {
        guard let text = invocation.value("folds") else { return 10 }
        let range = ClinicalDataset.allowedFolds
        guard let folds = Int(text), range.contains(folds) else {
            throw invocation.usageError("--folds '\(text.prefix(40))' is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return folds
    }

    /// `--seed N` (default 1).
    static func seed(_ invocation: Invocation) throws(CLIError) -> UInt64 {
        guard let text = invocation.value("seed") else { return 1 }
        guard let seed = UInt64(text) else {
            throw invocation.usageError("--seed '\(text.prefix(40))' is not a number from 0 to \(UInt64.max)")
        }
        return seed
    }

    /// `--l2 X`, the penalty of the logistic regression, 0.001-10000 (default: the recommended one for `task`).
    static func l2(_ invocation: Invocation, task: ClinicalTask) throws(CLIError) -> Double {
        guard let text = invocation.value("l2") else { return ClinicalTrainer.recommendedL2(for: task) }
        guard let l2 = Double(text), l2 >= 0.001, l2 <= 10_000 else {
            throw invocation.usageError("--l2 '\(text.prefix(40))' is not a number from 0.001 to 10000")
        }
        return l2
    }

    /// A data file read, hashed and parsed for `task`.
    struct DataFile {
        let path: String
        let sha256: String
        let dataset: ClinicalDataset
        /// The source line (1-based, the header is line 1) of each row of `dataset`.
        let lines: [Int]
    }

    /// Reads the CSV at `path` (at most `ClinicalCSV.defaultMaxBytes`) and parses it in `task`'s layout.
    static func loadData(_ path: String, task: ClinicalTask) throws(CLIError) -> DataFile {
        let bytes = try InputFiles.load(path, what: "data file", maximumByteCount: ClinicalCSV.defaultMaxBytes)
        let table: ClinicalTable
        let dataset: ClinicalDataset
        do throws(ClinicalCSVError) {
            table = try ClinicalCSV.parse(bytes, layout: task.layout)
            dataset = try ClinicalDataset(task: task, table: table)
        } catch {
            throw .badInput("data file \(path): \(describe(error))", layoutRemedy(task.layout))
        }
        guard !dataset.rows.isEmpty else {
            throw .badInput("data file \(path) has a header but no rows", "give a file with at least one row")
        }
        return DataFile(path: path, sha256: sha256Hex(bytes), dataset: dataset, lines: table.lines)
    }

    /// The reader's error without the offending value (it may be a patient's measurement).
    static func describe(_ error: ClinicalCSVError) -> String {
        switch error {
        case let .notNumeric(line, column, name, _):
            return "line \(line), column \(column) (\(name)): not a number"
        case let .invalidValue(line, column, name, _, reason):
            return "line \(line), column \(column) (\(name)): \(reason)"
        case let .wrongHeader(line, column, expected, found):
            let what = expected.isEmpty ? "no more columns" : "'\(expected)'"
            return "line \(line), column \(column): header expected \(what), found '\(found.prefix(40))'"
        default:
            return error.description
        }
    }

    private static func layoutRemedy(_ layout: CSVLayout) -> String {
        "the file must have the \(layout.rawValue) layout, header '\(layout.header.joined(separator: ","))', "
            + "one row per line, missing values written ?, NaN or left empty"
    }

    /// A model given as a shipped name or id (`heart`, `heart-v1`), else as a file path.
    struct LoadedModel {
        let file: ClinicalModelFile
        /// `shipped` or the path it was read from.
        let source: String
        var isShipped: Bool { source == "shipped" }
    }

    /// Loads `reference`: a shipped model when it names one, else the model file at that path. Either way the
    /// content hash is checked; a mismatch is a verification failure (exit 4).
    static func loadModel(_ reference: String) throws(CLIError) -> LoadedModel {
        if ShippedModels.model(named: reference) != nil {
            do {
                return LoadedModel(file: try ShippedModels.load(named: reference, hash: sha256Hex), source: "shipped")
            } catch {
                throw .failure("\(error)", "this program is damaged; reinstall it")
            }
        }
        let bytes = try InputFiles.load(reference, what: "model file", maximumByteCount: maximumModelFileBytes)
        do {
            return LoadedModel(file: try ClinicalModelFile.decode(bytes, hash: sha256Hex), source: reference)
        } catch let error as ClinicalModelError {
            if case .contentHashMismatch = error {
                throw CLIError(exitCode: .verificationFailed, problem: "model file \(reference): \(error)",
                               remedy: "the file was changed after it was written; do not use it")
            }
            throw .badInput("model file \(reference): \(error)", "train it again with 'healthledger model train'")
        } catch {
            throw .badInput("model file \(reference) is not a model file (or not this format)",
                            "give a file written by 'healthledger model train', or a shipped model: \(ShippedModels.names.joined(separator: ", "))")
        }
    }

    /// Refuses rows that cannot be cross-validated in `folds` folds.
    static func checkCrossValidation(_ data: DataFile, folds: Int) throws(CLIError) {
        do {
            try data.dataset.checkCrossValidation(folds: folds)
        } catch {
            throw .badInput("data file \(data.path): \(error)", "give more rows, or fewer --folds")
        }
    }
}
