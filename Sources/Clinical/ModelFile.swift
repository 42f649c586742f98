// Versioned model file (JSON). Clinical has no crypto: every hash is computed by a caller-supplied
// closure `hash: ([UInt8]) -> String` (the node passes SHA-256 hex from its Crypto module).

import Foundation

public struct CrossValidationSummary: Sendable, Codable, Equatable {
    public let folds: Int
    public let seed: UInt64
    public let accuracy: Double
    public let rocAUC: Double
    public let brier: Double
    public let calibration: [CalibrationBin]
}

public enum ClinicalModelError: Error, Equatable, Sendable {
    case unsupportedFormatVersion(Int)
    case contentHashMismatch(recorded: String?, computed: String)
    case nonFiniteValue(String)
    case featureMismatch
}

public struct ClinicalModelFile: Sendable, Codable, Equatable {
    public static let currentFormatVersion = 1

    public let formatVersion: Int
    public let task: ClinicalTask
    /// Model input names (after one-hot), same order as `coefficients`.
    public let featureNames: [String]
    public let preprocessor: Preprocessor
    public let coefficients: [Double]
    public let intercept: Double
    public let l2: Double
    /// Hash (SHA-256 hex, as supplied by the caller) of the training CSV bytes.
    public let trainingDataSHA256: String
    public let trainingRows: Int
    public let crossValidation: CrossValidationSummary
    /// Hash of `canonicalJSON()` (this field omitted). nil until `sealed(hash:)`.
    public let contentHash: String?

    public var model: LogisticRegression { LogisticRegression(coefficients: coefficients, intercept: intercept) }

    /// Sorted-keys compact JSON of every field except `contentHash`.
    public func canonicalJSON() throws -> [UInt8] {
        try checkFinite()
        let unsealed = ClinicalModelFile(copying: self, contentHash: nil)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(unsealed))
    }

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

    /// Decodes, checks the version and the content hash.
    public static func decode(_ bytes: [UInt8], hash: ([UInt8]) -> String) throws -> ClinicalModelFile {
        let m = try JSONDecoder().decode(ClinicalModelFile.self, from: Data(bytes))
        guard m.formatVersion == currentFormatVersion else {
            throw ClinicalModelError.unsupportedFormatVersion(m.formatVersion)
        }
        guard m.featureNames == m.preprocessor.outputNames, m.coefficients.count == m.featureNames.count,
              m.preprocessor.features == m.task.features else { throw ClinicalModelError.featureMismatch }
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
        formatVersion = m.formatVersion; task = m.task; featureNames = m.featureNames
        preprocessor = m.preprocessor; coefficients = m.coefficients; intercept = m.intercept; l2 = m.l2
        trainingDataSHA256 = m.trainingDataSHA256; trainingRows = m.trainingRows
        crossValidation = m.crossValidation; self.contentHash = contentHash
    }

    public init(formatVersion: Int = currentFormatVersion, task: ClinicalTask, preprocessor: Preprocessor,
                model: LogisticRegression, l2: Double, trainingDataSHA256: String, trainingRows: Int,
                crossValidation: CrossValidationSummary) {
        self.formatVersion = formatVersion; self.task = task; featureNames = preprocessor.outputNames
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

public struct FeatureContribution: Sendable, Codable, Equatable {
    public let name: String
    public let logOdds: Double
}

public struct Prediction: Sendable, Codable, Equatable {
    public let probability: Double
    public let contributions: [FeatureContribution]
    /// Raw inputs that were missing and replaced by the training median: named, never silent.
    public let imputed: [String]
}

public enum ClinicalTrainer {
    /// Parses the CSV, cross-validates (stratified, seeded), then fits the final model on all rows.
    public static func train(task: ClinicalTask, csv bytes: [UInt8], folds: Int = 10, seed: UInt64 = 1,
                             l2: Double = 1.0, hash: ([UInt8]) -> String) throws -> (model: ClinicalModelFile, cv: CrossValidationResult) {
        let data = try ClinicalDataset.load(task: task, csv: bytes)
        var g = SeededGenerator(seed: seed)
        let cv = crossValidate(data, folds: folds, l2: l2, using: &g)
        let pre = Preprocessor.fit(features: task.features, rows: data.rows)
        let lr = LogisticRegression.fit(x: pre.transform(rows: data.rows), y: data.labels, l2: l2)
        let summary = CrossValidationSummary(folds: folds, seed: seed, accuracy: cv.pooled.accuracy,
                                             rocAUC: cv.pooled.rocAUC, brier: cv.pooled.brier,
                                             calibration: cv.calibration)
        let file = ClinicalModelFile(task: task, preprocessor: pre, model: lr, l2: l2,
                                     trainingDataSHA256: hash(bytes), trainingRows: data.rows.count,
                                     crossValidation: summary)
        return (try file.sealed(hash: hash), cv)
    }
}
