// Task definitions (which columns are features, of which kind, and what the label is)
// and the preprocessing that is fitted on training rows only.

public enum FeatureKind: Sendable, Codable, Equatable {
    case numeric
    /// 0/1 flag.
    case binary
    /// Coded category, one-hot encoded over the listed levels.
    case categorical(levels: [Double])
}

public struct FeatureSpec: Sendable, Codable, Equatable {
    public let name: String
    public let kind: FeatureKind
    public init(_ name: String, _ kind: FeatureKind) { self.name = name; self.kind = kind }
}

public struct ClinicalTask: Sendable, Codable, Equatable {
    public let id: String
    public let layout: CSVLayout
    public let features: [FeatureSpec]
    public let targetColumn: String
    /// Label is positive when the target value is strictly greater than this.
    public let positiveAbove: Double

    /// UCI Cleveland, binary: num > 0.
    public static let heart = ClinicalTask(
        id: "heart-disease", layout: .heartCleveland,
        features: [
            FeatureSpec("age", .numeric), FeatureSpec("sex", .binary),
            FeatureSpec("cp", .categorical(levels: [1, 2, 3, 4])),
            FeatureSpec("trestbps", .numeric), FeatureSpec("chol", .numeric),
            FeatureSpec("fbs", .binary), FeatureSpec("restecg", .categorical(levels: [0, 1, 2])),
            FeatureSpec("thalach", .numeric), FeatureSpec("exang", .binary),
            FeatureSpec("oldpeak", .numeric), FeatureSpec("slope", .categorical(levels: [1, 2, 3])),
            FeatureSpec("ca", .numeric), FeatureSpec("thal", .categorical(levels: [3, 6, 7])),
        ],
        targetColumn: "num", positiveAbove: 0)

    /// Pima: Outcome (0/1).
    public static let diabetes = ClinicalTask(
        id: "type2-diabetes", layout: .diabetesPima,
        features: ["Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
                   "DiabetesPedigreeFunction", "Age"].map { FeatureSpec($0, .numeric) },
        targetColumn: "Outcome", positiveAbove: 0)
}

/// Raw (unimputed) features in task order, plus 0/1 labels.
public struct ClinicalDataset: Sendable, Equatable {
    public let task: ClinicalTask
    public let rows: [[Double?]]
    public let labels: [Int]

    public init(task: ClinicalTask, rows: [[Double?]], labels: [Int]) {
        precondition(rows.count == labels.count)
        self.task = task; self.rows = rows; self.labels = labels
    }

    /// Selects the task's columns from a parsed table and checks codes (binary 0/1, known levels).
    public init(task: ClinicalTask, table: ClinicalTable) throws(ClinicalCSVError) {
        var indices: [Int] = []
        for f in task.features {
            guard let j = table.columnIndex(f.name) else {
                throw .wrongHeader(line: 1, column: 0, expected: f.name, found: "")
            }
            indices.append(j)
        }
        guard let t = table.columnIndex(task.targetColumn) else {
            throw .wrongHeader(line: 1, column: 0, expected: task.targetColumn, found: "")
        }
        var rows: [[Double?]] = []
        var labels: [Int] = []
        for (r, raw) in table.rows.enumerated() {
            let line = table.lines[r]
            var row: [Double?] = []
            for (k, f) in task.features.enumerated() {
                let j = indices[k]
                let v = raw[j]
                if let v {
                    switch f.kind {
                    case .numeric: break
                    case .binary:
                        if v != 0 && v != 1 {
                            throw .invalidValue(line: line, column: j + 1, name: f.name, value: v, reason: "expected 0 or 1")
                        }
                    case .categorical(let levels):
                        if !levels.contains(v) {
                            throw .invalidValue(line: line, column: j + 1, name: f.name, value: v,
                                                reason: "expected one of \(levels)")
                        }
                    }
                }
                row.append(v)
            }
            guard let y = raw[t] else { throw .missingRequired(line: line, column: t + 1, name: task.targetColumn) }
            rows.append(row)
            labels.append(y > task.positiveAbove ? 1 : 0)
        }
        self.init(task: task, rows: rows, labels: labels)
    }

    public static func load(task: ClinicalTask, csv bytes: [UInt8]) throws(ClinicalCSVError) -> ClinicalDataset {
        try ClinicalDataset(task: task, table: ClinicalCSV.parse(bytes, layout: task.layout))
    }

    public func subset(_ indices: [Int]) -> ClinicalDataset {
        ClinicalDataset(task: task, rows: indices.map { rows[$0] }, labels: indices.map { labels[$0] })
    }
}

/// Result of applying a fitted preprocessor to one row.
public struct PreparedRow: Sendable, Equatable {
    /// Standardised model inputs, in `Preprocessor.outputNames` order.
    public let values: [Double]
    /// Names of raw features that were missing and were imputed with the training median.
    public let imputed: [String]
}

/// Median imputation, one-hot encoding, standardisation. Every parameter comes from `fit`'s rows.
public struct Preprocessor: Sendable, Codable, Equatable {
    public let features: [FeatureSpec]
    /// Imputation value per raw feature (median; for binary/categorical the lower median, an observed code).
    public let imputeValues: [Double]
    public let outputNames: [String]
    public let means: [Double]
    public let scales: [Double]

    public static func fit(features: [FeatureSpec], rows: [[Double?]]) -> Preprocessor {
        var impute: [Double] = []
        for (j, f) in features.enumerated() {
            let present = rows.compactMap { $0[j] }.sorted()
            if present.isEmpty { impute.append(0); continue }
            let n = present.count
            switch f.kind {
            case .numeric:
                impute.append(n % 2 == 1 ? present[n / 2] : (present[n / 2 - 1] + present[n / 2]) / 2)
            case .binary, .categorical:
                impute.append(present[(n - 1) / 2])
            }
        }
        let names = outputNames(features)
        let expanded = rows.map { expand(features: features, impute: impute, row: $0).values }
        let m = names.count
        var means = [Double](repeating: 0, count: m)
        var scales = [Double](repeating: 1, count: m)
        if !expanded.isEmpty {
            let n = Double(expanded.count)
            for k in 0..<m {
                var s = 0.0
                for r in expanded { s += r[k] }
                let mean = s / n
                var v = 0.0
                for r in expanded { v += (r[k] - mean) * (r[k] - mean) }
                let sd = (v / n).squareRoot()
                means[k] = mean
                scales[k] = sd > 1e-12 ? sd : 1
            }
        }
        return Preprocessor(features: features, imputeValues: impute, outputNames: names, means: means, scales: scales)
    }

    static func outputNames(_ features: [FeatureSpec]) -> [String] {
        var names: [String] = []
        for f in features {
            switch f.kind {
            case .numeric, .binary: names.append(f.name)
            case .categorical(let levels):
                for l in levels { names.append("\(f.name)=\(formatLevel(l))") }
            }
        }
        return names
    }

    static func formatLevel(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }

    static func expand(features: [FeatureSpec], impute: [Double], row: [Double?]) -> (values: [Double], imputed: [String]) {
        precondition(row.count == features.count, "row has \(row.count) values, task has \(features.count) features")
        var out: [Double] = []
        var imputed: [String] = []
        for (j, f) in features.enumerated() {
            let v: Double
            if let x = row[j] { v = x } else { v = impute[j]; imputed.append(f.name) }
            switch f.kind {
            case .numeric, .binary: out.append(v)
            case .categorical(let levels):
                for l in levels { out.append(v == l ? 1 : 0) }
            }
        }
        return (out, imputed)
    }

    public func transform(_ row: [Double?]) -> PreparedRow {
        let (raw, imputed) = Self.expand(features: features, impute: imputeValues, row: row)
        var values = raw
        for k in values.indices { values[k] = (raw[k] - means[k]) / scales[k] }
        return PreparedRow(values: values, imputed: imputed)
    }

    public func transform(rows: [[Double?]]) -> [[Double]] { rows.map { transform($0).values } }
}
