import Clinical
import Foundation

/// The text output of `diagnose` and `plan`, read from the released canonical document (its layout is in
/// docs/CLINICAL-FEATURES.md and docs/CARE-PLAN.md). Numbers are printed as the document writes them.
enum ServiceReport {
    /// How many feature contributions the text lists (the JSON has all of them).
    static let contributionsShown = 6

    /// Probability, band and thresholds, the largest contributions, imputed inputs, notes, disclaimer.
    static func diagnosis(_ result: Clinical.JSONValue, title: String = "Coronary heart disease risk") -> String {
        var lines = [riskLine(result, title: title)]
        let explanation = result["explanation"]
        let contributions = explanation?["contributions"]?.arrayValue ?? []
        lines.append("Largest contributions (log-odds; baseline \(number(explanation?["baseline_log_odds"]))):")
        let rows = contributions.prefix(contributionsShown).map { [text($0["input"]), signed($0["log_odds"])] }
        lines.append(TextTable.render(rows))
        let used = result["inputs_used"]?.arrayValue?.count ?? 0
        let imputed = result["imputed"]?.arrayValue ?? []
        lines.append("Inputs: \(used) measured, \(imputed.count) imputed")
        for input in imputed {
            lines.append("  imputed \(text(input["name"])) = \(number(input["value"])) \(text(input["unit"])) "
                + "(\(text(input["reason"]?["code"])); \(text(input["rule"])))")
        }
        lines += (result["notes"]?.arrayValue ?? []).map { "Note: " + text($0) }
        lines.append(text(result["disclaimer"]))
        return lines.joined(separator: "\n")
    }

    /// The model's risk (or why it was not computed), the decision path, the items with rule and guideline.
    static func plan(_ plan: Clinical.JSONValue) -> String {
        var lines = ["Type 2 diabetes care plan, as of \(text(plan["as_of"]))"]
        if let risk = plan["risk"], risk != .null {
            lines.append(riskLine(risk, title: "Model risk"))
        } else {
            lines.append("Model risk not computed: \(text(plan["risk_not_computed"]))")
        }
        lines.append("Decision path:")
        lines += (plan["decision_path"]?.arrayValue ?? []).map { "  \(text($0["node"])): \(text($0["answer"]))" }
        let items = plan["items"]?.arrayValue ?? []
        lines.append(items.isEmpty ? "Items: none" : "Items:")
        for item in items {
            lines.append("  - [\(text(item["category"]))] \(text(item["text"]))")
            lines.append("    rule \(text(item["rule"]?["id"])): \(text(item["rule"]?["text"])); guideline \(text(item["guideline"]?["id"]))")
        }
        let guidelines = Dictionary(items.map { (text($0["guideline"]?["id"]), text($0["guideline"]?["citation"])) }) { first, _ in first }
        if !guidelines.isEmpty {
            lines.append("Guidelines:")
            lines += guidelines.keys.sorted().map { "  \($0): \(guidelines[$0]!)" }
        }
        lines.append(text(plan["disclaimer"]))
        return lines.joined(separator: "\n")
    }

    /// `Coronary heart disease risk: 61.2%, band intermediate (bands: low below 15%, high from 85%)`.
    static func riskLine(_ result: Clinical.JSONValue, title: String) -> String {
        let risk = result["risk"]
        return "\(title): \(percent(result["probability"])), band \(text(risk?["band"])) "
            + "(bands: low below \(percent(risk?["intermediate_from"])), high from \(percent(risk?["high_from"])))"
    }

    static func text(_ value: Clinical.JSONValue?) -> String { value?.stringValue ?? "?" }

    static func number(_ value: Clinical.JSONValue?) -> String { value?.numberValue?.text ?? "?" }

    static func signed(_ value: Clinical.JSONValue?) -> String {
        guard let number = value?.numberValue else { return "?" }
        return number.value >= 0 ? "+" + number.text : number.text
    }

    static func percent(_ value: Clinical.JSONValue?) -> String {
        guard let number = value?.numberValue?.value else { return "?" }
        let text = String(format: "%.1f", number * 100)
        return (text.hasSuffix(".0") ? String(text.dropLast(2)) : text) + "%"
    }
}
