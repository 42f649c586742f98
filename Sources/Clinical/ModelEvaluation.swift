// Scoring a trained model on rows it is given (no retraining), and the checks that keep cross-validation
// meaningful on outside data. Every result says which inputs were imputed and on how many rows.

/// How many rows had one raw input missing (and therefore imputed with the training median).
public struct ImputedInputCount: Sendable, Codable, Equatable {
    /// Raw input name (a CSV column).
    public let name: String
    /// Rows on which it was missing.
    public let rows: Int

    /// Records a count.
    public init(name: String, rows: Int) {
        self.name = name; self.rows = rows
    }
}

/// Why rows cannot be cross-validated or trained on. Counts only: never a value from the rows.
public enum TrainingDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The fold count is outside `ClinicalDataset.allowedFolds`.
    case invalidFoldCount(folds: Int)
    /// Fewer rows than folds.
    case tooFewRows(rows: Int, folds: Int)
    /// A class has fewer than two rows: some training fold would hold only the other class.
    case tooFewInClass(label: Int, rows: Int)

    public var description: String {
        switch self {
        case let .invalidFoldCount(folds):
            return "\(folds) folds: the fold count must be from \(ClinicalDataset.allowedFolds.lowerBound) to \(ClinicalDataset.allowedFolds.upperBound)"
        case let .tooFewRows(rows, folds): return "\(rows) rows cannot be split into \(folds) folds"
        case let .tooFewInClass(label, rows):
            return "\(rows) row\(rows == 1 ? "" : "s") with label \(label == 1 ? "positive" : "negative"); each class needs at least 2"
        }
    }
}

extension ClinicalDataset {
    /// Fold counts that cross-validation accepts.
    public static let allowedFolds = 2...100

    /// Throws unless stratified `folds`-fold cross-validation and a final fit are well defined: the fold count is
    /// allowed, there are at least `folds` rows, and each class has two rows or more (so every training fold
    /// holds both classes).
    public func checkCrossValidation(folds: Int) throws(TrainingDataError) {
        guard Self.allowedFolds.contains(folds) else { throw .invalidFoldCount(folds: folds) }
        guard rows.count >= folds else { throw .tooFewRows(rows: rows.count, folds: folds) }
        let positives = labels.filter { $0 == 1 }.count
        for (label, count) in [(0, labels.count - positives), (1, positives)] where count < 2 {
            throw .tooFewInClass(label: label, rows: count)
        }
    }

    /// Names of the raw inputs missing on row `index` (imputed when the row is predicted), in task order.
    public func missingInputNames(at index: Int) -> [String] {
        task.features.indices.filter { rows[index][$0] == nil }.map { task.features[$0].name }
    }

    /// For each raw input that is missing on some row, on how many rows (task order; inputs never missing are left out).
    public var missingInputCounts: [ImputedInputCount] {
        task.features.indices.compactMap { j in
            let missing = rows.reduce(0) { $0 + ($1[j] == nil ? 1 : 0) }
            return missing > 0 ? ImputedInputCount(name: task.features[j].name, rows: missing) : nil
        }
    }
}

/// A trained model scored on given rows.
public struct ModelEvaluation: Sendable, Equatable {
    /// Accuracy (threshold 0.5), ROC AUC (NaN when only one class is present) and Brier score.
    public let metrics: EvaluationMetrics
    /// Ten equal-width bins of predicted probability with the observed rate in each.
    public let calibration: [CalibrationBin]
    /// Predicted probability of each row, in row order.
    public let probabilities: [Double]
    /// Raw inputs imputed on each row, in row order.
    public let imputedByRow: [[String]]
    /// Per raw input, on how many rows it was imputed.
    public let imputedInputs: [ImputedInputCount]
}

extension ClinicalModelFile {
    /// Scores the model on `data` without retraining. `data` must be of the model's task and not empty.
    public func evaluate(_ data: ClinicalDataset) -> ModelEvaluation {
        precondition(data.task.features == task.features, "rows of another task")
        precondition(!data.rows.isEmpty, "no rows to evaluate")
        var probabilities: [Double] = []
        var imputedByRow: [[String]] = []
        probabilities.reserveCapacity(data.rows.count)
        imputedByRow.reserveCapacity(data.rows.count)
        let fitted = model
        for row in data.rows {
            let prepared = preprocessor.transform(row)
            probabilities.append(fitted.probability(prepared.values))
            imputedByRow.append(prepared.imputed)
        }
        return ModelEvaluation(metrics: Metrics.evaluate(probabilities, data.labels),
                               calibration: Metrics.calibration(probabilities, data.labels),
                               probabilities: probabilities, imputedByRow: imputedByRow,
                               imputedInputs: data.missingInputCounts)
    }
}
