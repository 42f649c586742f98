// Versioned model file (JSON). Clinical has no crypto: every hash is computed by a caller-supplied
// closure `hash: ([UInt8]) -> String` (the node passes SHA-256 hex from its Crypto module).

import Foundation

/// What cross-validating the training procedure measured, recorded in the model file.
public struct CrossValidationSummary: Sendable, Codable, Equatable {
    /// Number of stratified folds.
    public let folds: Int
    /// Seed of the fold assignment.
    public let seed: UInt64
    /// Pooled out-of-fold accuracy at threshold 0.5.
    public let accuracy: Double
    /// Pooled out-of-fold ROC AUC.
    public let rocAUC: Double
    /// Pooled out-of-fold Brier score.
    public let brier: Double
    /// Pooled out-of-fold calibration table (ten equal-width bins).
    public let calibration: [CalibrationBin]

    /// Records the given figures.
    public init(folds: Int, seed: UInt64, accuracy: Double, rocAUC: Double, brier: Double, calibration: [CalibrationBin]) {
        self.folds = folds; self.seed = seed; self.accuracy = accuracy; self.rocAUC = rocAUC; self.brier = brier
        self.calibration = calibration
    }
}

/// Why a model file was refused. The texts name fields and hashes, never patient values.
public enum ClinicalModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedFormatVersion(Int)
    case contentHashMismatch(recorded: String?, computed: String)
    case nonFiniteValue(String)
    case featureMismatch
    /// The model id is not 1-64 characters of `a-z`, `0-9`, `.` and `-`, starting with a letter or digit.
    case invalidModelID(String)

    public var description: String {
        switch self {
        case let .unsupportedFormatVersion(version):
            return "model format version \(version) is not supported (this program reads version \(ClinicalModelFile.currentFormatVersion))"
        case let .contentHashMismatch(recorded, computed):
            return "content hash mismatch: the file records \(recorded ?? "none"), its content hashes to \(computed)"
        case let .nonFiniteValue(reason): return reason
        case .featureMismatch: return "the feature names, coefficients and preprocessing do not agree with the task"
        case let .invalidModelID(id):
            return "model id '\(id.prefix(80))' is not 1-64 characters of a-z, 0-9, '.', '-' starting with a letter or digit"
        }
    }
}

/// A trained model with everything needed to reproduce and check it: the task, the fitted preprocessing,
/// the coefficients, the hash of the training data, the cross-validated metrics and its own content hash.
public struct ClinicalModelFile: Sendable, Codable, Equatable {
    /// The format this program writes and reads.
    public static let currentFormatVersion = 1

    /// Format version of this file.
    public let formatVersion: Int
    /// Name and version of the model, such as `heart-v1`: one id names one content hash.
    public let modelID: String
    /// What the model predicts, from which inputs.
    public let task: ClinicalTask
    /// Model input names (after one-hot), same order as `coefficients`.
    public let featureNames: [String]
    /// Imputation, one-hot encoding and standardisation, fitted on the training rows.
    public let preprocessor: Preprocessor
    /// One coefficient per model input (standardised scale).
    public let coefficients: [Double]
    /// Log-odds when every standardised input is zero.
    public let intercept: Double
    /// The L2 penalty the model was fitted with.
    public let l2: Double
    /// Hash (SHA-256 hex, as supplied by the caller) of the training CSV bytes.
    public let trainingDataSHA256: String
    /// Number of training rows.
    public let trainingRows: Int
    /// Cross-validated figures of the training procedure on the training data.
    public let crossValidation: CrossValidationSummary
    /// Hash of `canonicalJSON()` (this field omitted). nil until `sealed(hash:)`.
    public let contentHash: String?

    /// The fitted logistic regression.
    public var model: LogisticRegression { LogisticRegression(coefficients: coefficients, intercept: intercept) }

    /// True for a usable model id: 1-64 characters of `a-z`, `0-9`, `.`, `-`, the first a letter or digit.
    public static func isValidModelID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func allowed(_ b: UInt8, first: Bool) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || (!first && (b == 0x2D || b == 0x2E))
        }
        return bytes.enumerated().allSatisfy { allowed($1, first: $0 == 0) }
    }

    /// Sorted-keys compact JSON of every field except `contentHash`.
    public func canonicalJSON() throws -> [UInt8] {
        try checkFinite()
        let unsealed = ClinicalModelFile(copying: self, contentHash: nil)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(unsealed))
    }

    /// A copy whose `contentHash` is `hash(canonicalJSON())`.
    public func sealed(hash: ([UInt8]) -> String) throws -> ClinicalModelFile {
        ClinicalModelFile(copying: self, contentHash: hash(try canonicalJSON()))
    }

    /// The bytes to write to disk (sorted keys, pretty, includes `contentHash`).
    public func encoded() throws -> [UInt8] {
        try checkFinite()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try enc.encode(self))
    }

    /// Decodes, checks the version, the id, the shapes and the content hash.
    public static func decode(_ bytes: [UInt8], hash: ([UInt8]) -> String) throws -> ClinicalModelFile {
        let m = try JSONDecoder().decode(ClinicalModelFile.self, from: Data(bytes))
        guard m.formatVersion == currentFormatVersion else {
            throw ClinicalModelError.unsupportedFormatVersion(m.formatVersion)
        }
        guard isValidModelID(m.modelID) else { throw ClinicalModelError.invalidModelID(m.modelID) }
        // Every count a prediction relies on, so that no file can make `predict` fail a precondition.
        let pre = m.preprocessor
        guard pre.features == m.task.features, pre.outputNames == Preprocessor.outputNames(m.task.features),
              m.featureNames == pre.outputNames, m.coefficients.count == m.featureNames.count,
              pre.imputeValues.count == m.task.features.count,
              pre.means.count == m.featureNames.count, pre.scales.count == m.featureNames.count,
              pre.scales.allSatisfy({ $0 > 0 })
        else { throw ClinicalModelError.featureMismatch }
        let computed = hash(try m.canonicalJSON())
        guard m.contentHash == computed else {
            throw ClinicalModelError.contentHashMismatch(recorded: m.contentHash, computed: computed)
        }
        return m
    }

    func checkFinite() throws {
        let values = coefficients + [intercept, l2, crossValidation.accuracy, crossValidation.rocAUC, crossValidation.brier]
            + preprocessor.means + preprocessor.scales + preprocessor.imputeValues
        if values.contains(where: { !$0.isFinite }) { throw ClinicalModelError.nonFiniteValue("model contains NaN or infinity") }
    }

    init(copying m: ClinicalModelFile, contentHash: String?) {
        formatVersion = m.formatVersion; modelID = m.modelID; task = m.task; featureNames = m.featureNames
        preprocessor = m.preprocessor; coefficients = m.coefficients; intercept = m.intercept; l2 = m.l2
        trainingDataSHA256 = m.trainingDataSHA256; trainingRows = m.trainingRows
        crossValidation = m.crossValidation; self.contentHash = contentHash
    }

    /// An unsealed model file (call `sealed(hash:)` before writing it). `modelID` must satisfy `isValidModelID`.
    public init(formatVersion: Int = currentFormatVersion, modelID: String = "local", task: ClinicalTask,
                preprocessor: Preprocessor, model: LogisticRegression, l2: Double, trainingDataSHA256: String,
                trainingRows: Int, crossValidation: CrossValidationSummary) {
        precondition(Self.isValidModelID(modelID), "invalid model id")
        self.formatVersion = formatVersion; self.modelID = modelID; self.task = task
        featureNames = preprocessor.outputNames
        self.preprocessor = preprocessor; coefficients = model.coefficients; intercept = model.intercept
        self.l2 = l2; self.trainingDataSHA256 = trainingDataSHA256; self.trainingRows = trainingRows
        self.crossValidation = crossValidation; contentHash = nil
    }

    /// Probability, per-input contributions (coefficient × standardised value) and the imputed inputs.
    public func predict(_ row: [Double?]) -> Prediction {
        let prepared = preprocessor.transform(row)
        let m = model
        let contrib = m.contributions(prepared.values)
        return Prediction(probability: m.probability(prepared.values),
                          contributions: zip(featureNames, contrib).map { FeatureContribution(name: $0, logOdds: $1) },
                          imputed: prepared.imputed)
    }
}

/// One model input's share of the log-odds.
public struct FeatureContribution: Sendable, Codable, Equatable {
    /// Model input name (`cp=4` for a one-hot level).
    public let name: String
    /// Coefficient × standardised value.
    public let logOdds: Double
}

/// A model's answer for one row.
public struct Prediction: Sendable, Codable, Equatable {
    /// Probability of the positive class.
    public let probability: Double
    /// Per-input log-odds contributions, in model input order (they sum with the intercept to the log-odds).
    public let contributions: [FeatureContribution]
    /// Raw inputs that were missing and replaced by the training median: named, never silent.
    public let imputed: [String]
}

/// Trains a model file from a CSV: cross-validation of the procedure, then the final fit on every row.
public enum ClinicalTrainer {
    /// The L2 penalty the shipped models use for `task`: 10 for heart disease, 1 otherwise.
    ///
    /// Measured (docs/MODEL-CARD.md): on the Cleveland file (22 model inputs, 303 rows) an inner 5-fold
    /// cross-validation inside each training fold chose 10 in 77 of 100 outer folds, and 10 raised the mean
    /// cross-validated ROC AUC over 30 fold seeds from 0.905 to 0.909; on Pima (8 inputs, 768 rows) no value
    /// did better than 1.
    public static func recommendedL2(for task: ClinicalTask) -> Double {
        task.id == ClinicalTask.heart.id ? 10 : 1
    }

    /// Parses the CSV, cross-validates (stratified, seeded), then fits the final model on all rows.
    /// Throws `ClinicalCSVError` for a bad file, `TrainingDataError` when the rows cannot support `folds`
    /// folds, `ClinicalModelError.invalidModelID` for a bad id.
    public static func train(task: ClinicalTask, csv bytes: [UInt8], folds: Int = 10, seed: UInt64 = 1,
                             l2: Double = 1.0, modelID: String = "local",
                             hash: ([UInt8]) -> String) throws -> (model: ClinicalModelFile, cv: CrossValidationResult) {
        let data = try ClinicalDataset.load(task: task, csv: bytes)
        return try train(data, trainingDataSHA256: hash(bytes), folds: folds, seed: seed, l2: l2, modelID: modelID,
                         hash: hash)
    }

    /// Cross-validates the procedure on `data` (stratified, seeded), then fits the final model on all rows.
    /// `trainingDataSHA256` is recorded in the file: the hash of the bytes `data` was read from.
    public static func train(_ data: ClinicalDataset, trainingDataSHA256: String, folds: Int = 10, seed: UInt64 = 1,
                             l2: Double = 1.0, modelID: String = "local",
                             hash: ([UInt8]) -> String) throws -> (model: ClinicalModelFile, cv: CrossValidationResult) {
        guard ClinicalModelFile.isValidModelID(modelID) else { throw ClinicalModelError.invalidModelID(modelID) }
        try data.checkCrossValidation(folds: folds)
        var g = SeededGenerator(seed: seed)
        let cv = crossValidate(data, folds: folds, l2: l2, using: &g)
        let pre = Preprocessor.fit(features: data.task.features, rows: data.rows)
        let lr = LogisticRegression.fit(x: pre.transform(rows: data.rows), y: data.labels, l2: l2)
        let summary = CrossValidationSummary(folds: folds, seed: seed, accuracy: cv.pooled.accuracy,
                                             rocAUC: cv.pooled.rocAUC, brier: cv.pooled.brier,
                                             calibration: cv.calibration)
        let file = ClinicalModelFile(modelID: modelID, task: data.task, preprocessor: pre, model: lr, l2: l2,
                                     trainingDataSHA256: trainingDataSHA256, trainingRows: data.rows.count,
                                     crossValidation: summary)
        return (try file.sealed(hash: hash), cv)
    }
}
