import Clinical
import Foundation

/// Text and JSON for the results of the `model` commands: metrics, the calibration table, the imputed inputs,
/// per-row predictions and targets. JSON keys are snake_case; numbers are printed in full (shortest form that
/// reads back to the same double), text rounds to three decimals.
enum ClinicalReport {
    /// `n`, `positives`, `accuracy`, `roc_auc`, `brier` (`roc_auc` is null when only one class is present).
    static func metricsMembers(_ metrics: EvaluationMetrics) -> [JSONValue.Member] {
        [
            member("n", .number(UInt64(metrics.count))), member("positives", .number(UInt64(metrics.positives))),
            member("accuracy", .decimal(metrics.accuracy)), member("roc_auc", .decimal(metrics.rocAUC)),
            member("brier", .decimal(metrics.brier)),
        ]
    }

    /// The calibration bins: `lower`, `upper`, `n`, `mean_predicted`, `observed_rate` (null for an empty bin).
    static func calibrationJSON(_ bins: [CalibrationBin]) -> JSONValue {
        .array(bins.map { bin in
            [
                "lower": .decimal(bin.lower), "upper": .decimal(bin.upper), "n": .number(UInt64(bin.count)),
                "mean_predicted": bin.meanPredicted.map(JSONValue.decimal) ?? .null,
                "observed_rate": bin.observedRate.map(JSONValue.decimal) ?? .null,
            ]
        })
    }

    /// `{"ca": 4, "thal": 2}`: per raw input, the rows on which it was missing and imputed.
    static func imputedJSON(_ counts: [ImputedInputCount]) -> JSONValue {
        .object(counts.map { member($0.name, .number(UInt64($0.rows))) })
    }

    /// One object per row: source `line`, `label`, `probability`, `imputed` input names.
    static func predictionsJSON(lines: [Int], labels: [Int], probabilities: [Double], imputed: [[String]]) -> JSONValue {
        .array(labels.indices.map { row in
            [
                "line": .number(UInt64(lines[row])), "label": .number(UInt64(labels[row])),
                "probability": .decimal(probabilities[row]), "imputed": .array(imputed[row].map(JSONValue.string)),
            ]
        })
    }

    /// Rows, accuracy, ROC AUC and Brier score as an indented block.
    static func metricsText(_ metrics: EvaluationMetrics) -> String {
        TextTable.render([
            ["rows", "\(metrics.count) (\(metrics.positives) positive)"],
            ["accuracy", "\(decimal(metrics.accuracy))   (threshold 0.5)"],
            ["ROC AUC", decimal(metrics.rocAUC)],
            ["Brier", "\(decimal(metrics.brier))   (mean squared error of the probability; lower is better)"],
        ])
    }

    /// `imputed (training median): ca on 4 rows, thal on 2 rows`, or `imputed: none`.
    static func imputedText(_ counts: [ImputedInputCount], rule: String) -> String {
        guard !counts.isEmpty else { return "imputed: none (no missing inputs)" }
        return "imputed (\(rule)): " + counts.map { "\($0.name) on \($0.rows) row\($0.rows == 1 ? "" : "s")" }.joined(separator: ", ")
    }

    /// The calibration table, one line per bin.
    static func calibrationText(_ bins: [CalibrationBin]) -> String {
        let rows = bins.map { bin in
            ["\(decimal(bin.lower, digits: 1))-\(decimal(bin.upper, digits: 1))", "\(bin.count)",
             bin.meanPredicted.map { decimal($0) } ?? "-", bin.observedRate.map { decimal($0) } ?? "-"]
        }
        return "calibration:\n" + TextTable.render([["predicted", "rows", "mean predicted", "observed rate"]] + rows)
    }

    /// Per-row predictions as a table.
    static func predictionsText(lines: [Int], labels: [Int], probabilities: [Double], imputed: [[String]]) -> String {
        let rows = labels.indices.map { row in
            ["\(lines[row])", "\(labels[row])", decimal(probabilities[row]), imputed[row].joined(separator: " ")]
        }
        return "predictions:\n" + TextTable.render([["line", "label", "probability", "imputed"]] + rows)
    }

    /// `0.835`, or `n/a` for NaN.
    static func decimal(_ value: Double, digits: Int = 3) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "n/a"
    }

    static func member(_ name: String, _ value: JSONValue) -> JSONValue.Member { JSONValue.Member(name: name, value: value) }
}

/// Minimum figures a result must reach (`--min-accuracy`, `--min-roc-auc`); a miss is exit 4.
struct MetricTargets {
    static let options: [Option] = [
        .value("min-accuracy", "X", help: "Fail (exit 4) when accuracy is below X (0-1)."),
        .value("min-roc-auc", "X", help: "Fail (exit 4) when ROC AUC is below X (0-1)."),
    ]

    let minimumAccuracy: Double?
    let minimumROCAUC: Double?

    init(_ invocation: Invocation) throws(CLIError) {
        minimumAccuracy = try Self.fraction(invocation, "min-accuracy")
        minimumROCAUC = try Self.fraction(invocation, "min-roc-auc")
    }

    private static func fraction(_ invocation: Invocation, _ name: String) throws(CLIError) -> Double? {
        guard let text = invocation.value(name) else { return nil }
        guard let value = Double(text), value >= 0, value <= 1 else {
            throw invocation.usageError("--\(name) '\(text.prefix(40))' is not a number from 0 to 1")
        }
        return value
    }

    var isEmpty: Bool { minimumAccuracy == nil && minimumROCAUC == nil }

    /// What was missed, such as `accuracy 0.801 < 0.820`; empty when every target is met. A NaN AUC misses.
    func misses(_ metrics: EvaluationMetrics) -> [String] {
        var missed: [String] = []
        if let minimum = minimumAccuracy, !(metrics.accuracy >= minimum) {
            missed.append("accuracy \(ClinicalReport.decimal(metrics.accuracy)) < \(ClinicalReport.decimal(minimum))")
        }
        if let minimum = minimumROCAUC, !(metrics.rocAUC >= minimum) {
            missed.append("ROC AUC \(ClinicalReport.decimal(metrics.rocAUC)) < \(ClinicalReport.decimal(minimum))")
        }
        return missed
    }

    /// `{"min_accuracy": 0.82, "min_roc_auc": 0.9, "met": true}` with only the targets given.
    func json(_ metrics: EvaluationMetrics) -> JSONValue {
        var members: [JSONValue.Member] = []
        if let minimum = minimumAccuracy { members.append(ClinicalReport.member("min_accuracy", .decimal(minimum))) }
        if let minimum = minimumROCAUC { members.append(ClinicalReport.member("min_roc_auc", .decimal(minimum))) }
        return .object(members + [ClinicalReport.member("met", .bool(misses(metrics).isEmpty))])
    }

    /// The text line, such as `targets: met (accuracy >= 0.820, ROC AUC >= 0.900)`.
    func text(_ metrics: EvaluationMetrics) -> String {
        let missed = misses(metrics)
        if !missed.isEmpty { return "targets: MISSED: " + missed.joined(separator: ", ") }
        let given = [minimumAccuracy.map { "accuracy >= \(ClinicalReport.decimal($0))" },
                     minimumROCAUC.map { "ROC AUC >= \(ClinicalReport.decimal($0))" }].compactMap { $0 }
        return "targets: met (\(given.joined(separator: ", ")))"
    }

    /// The failure to attach to the output when a target is missed, nil otherwise.
    func failure(_ metrics: EvaluationMetrics, what: String) -> CLIError? {
        let missed = misses(metrics)
        guard !missed.isEmpty else { return nil }
        return CLIError(exitCode: .verificationFailed, problem: "\(what) missed its targets: \(missed.joined(separator: ", "))",
                        remedy: "do not use this model for these rows; see docs/MODEL-CARD.md")
    }
}
