// Reader for the two clinical CSV layouts (UCI Cleveland heart, Pima diabetes).
// Pure: bytes in, numeric table out. Missing values are nil, never invented here.

/// The two accepted layouts. The header must match exactly (names and order).
public enum CSVLayout: String, Sendable, Codable, CaseIterable {
    case heartCleveland = "heart-cleveland"
    case diabetesPima = "diabetes-pima"

    public var header: [String] {
        switch self {
        case .heartCleveland:
            return ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
                    "oldpeak", "slope", "ca", "thal", "num"]
        case .diabetesPima:
            return ["Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
                    "DiabetesPedigreeFunction", "Age", "Outcome"]
        }
    }

    /// Columns in which a zero means "not measured" (Pima convention).
    public var zeroMeansMissing: Set<String> {
        switch self {
        case .heartCleveland: return []
        case .diabetesPima: return ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"]
        }
    }

    /// Columns that must be present on every row (the label).
    public var requiredColumns: Set<String> {
        switch self {
        case .heartCleveland: return ["num"]
        case .diabetesPima: return ["Outcome"]
        }
    }
}

/// Typed reader error. `line` is 1-based and counts the header; `column` is 1-based.
public enum ClinicalCSVError: Error, Equatable, Sendable, CustomStringConvertible {
    case inputTooLarge(bytes: Int, limit: Int)
    case tooManyRows(limit: Int)
    case notUTF8
    case empty
    case wrongHeader(line: Int, column: Int, expected: String, found: String)
    case wrongColumnCount(line: Int, expected: Int, found: Int)
    case notNumeric(line: Int, column: Int, name: String, value: String)
    case missingRequired(line: Int, column: Int, name: String)
    case invalidValue(line: Int, column: Int, name: String, value: Double, reason: String)

    public var description: String {
        switch self {
        case let .inputTooLarge(bytes, limit): return "input is \(bytes) bytes, limit \(limit)"
        case let .tooManyRows(limit): return "more than \(limit) data rows"
        case .notUTF8: return "input is not UTF-8"
        case .empty: return "input is empty"
        case let .wrongHeader(line, column, expected, found):
            return "line \(line), column \(column): header expected '\(expected)', found '\(found)'"
        case let .wrongColumnCount(line, expected, found):
            return "line \(line): expected \(expected) columns, found \(found)"
        case let .notNumeric(line, column, name, value):
            return "line \(line), column \(column) (\(name)): not a number: '\(value)'"
        case let .missingRequired(line, column, name):
            return "line \(line), column \(column) (\(name)): required value is missing"
        case let .invalidValue(line, column, name, value, reason):
            return "line \(line), column \(column) (\(name)): invalid value \(value): \(reason)"
        }
    }
}

/// Parsed table: `rows[i][j]` is column `columns[j]` of data row i (nil = missing).
public struct ClinicalTable: Sendable, Equatable {
    public let layout: CSVLayout
    public let columns: [String]
    public let rows: [[Double?]]
    /// Source line number (1-based, header is line 1) of each data row.
    public let lines: [Int]

    public func columnIndex(_ name: String) -> Int? { columns.firstIndex(of: name) }
}

public enum ClinicalCSV {
    public static let defaultMaxBytes = 10 * 1024 * 1024
    public static let defaultMaxRows = 100_000

    public static func isMissingToken(_ s: Substring) -> Bool {
        s.isEmpty || s == "?" || s == "NaN" || s == "nan" || s == "NA"
    }

    public static func parse(_ bytes: [UInt8], layout: CSVLayout,
                             maxBytes: Int = defaultMaxBytes,
                             maxRows: Int = defaultMaxRows) throws(ClinicalCSVError) -> ClinicalTable {
        guard bytes.count <= maxBytes else { throw .inputTooLarge(bytes: bytes.count, limit: maxBytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        var lines = // "\r\n" is one Character in Swift, so split on both forms.
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { line -> Substring in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        // Allow trailing blank lines only.
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard let headerLine = lines.first else { throw .empty }

        let expected = layout.header
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingSpaces() }
        for (j, name) in expected.enumerated() {
            let found = j < header.count ? String(header[j]) : ""
            if found != name { throw .wrongHeader(line: 1, column: j + 1, expected: name, found: found) }
        }
        if header.count > expected.count {
            throw .wrongHeader(line: 1, column: expected.count + 1, expected: "", found: String(header[expected.count]))
        }
        guard lines.count - 1 <= maxRows else { throw .tooManyRows(limit: maxRows) }

        let zeroMissing = layout.zeroMeansMissing
        let required = layout.requiredColumns
        var rows: [[Double?]] = []
        var lineNumbers: [Int] = []
        rows.reserveCapacity(lines.count - 1)
        for (i, line) in lines.enumerated().dropFirst() {
            let lineNo = i + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == expected.count else {
                throw .wrongColumnCount(line: lineNo, expected: expected.count, found: fields.count)
            }
            var row: [Double?] = []
            row.reserveCapacity(fields.count)
            for (j, raw) in fields.enumerated() {
                let field = raw.trimmingSpaces()
                let name = expected[j]
                var value: Double?
                if isMissingToken(field) {
                    value = nil
                } else {
                    guard let v = Double(String(field)), v.isFinite else {
                        throw .notNumeric(line: lineNo, column: j + 1, name: name, value: String(field))
                    }
                    value = (v == 0 && zeroMissing.contains(name)) ? nil : v
                }
                if value == nil && required.contains(name) {
                    throw .missingRequired(line: lineNo, column: j + 1, name: name)
                }
                row.append(value)
            }
            rows.append(row)
            lineNumbers.append(lineNo)
        }
        return ClinicalTable(layout: layout, columns: expected, rows: rows, lines: lineNumbers)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
