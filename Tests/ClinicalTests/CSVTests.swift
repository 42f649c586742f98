import Testing
@testable import Clinical

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct CSVTests {
    static let heartHeader = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num"
    static let pimaHeader = "Pregnancies,Glucose,BloodPressure,SkinThickness,Insulin,BMI,DiabetesPedigreeFunction,Age,Outcome"

    @Test func heartParsesWithMissingMarkers() throws {
        let csv = Self.heartHeader + "\n"
            + "63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
            + "67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,?,3.0,2\r\n"
            + "57.0,0.0,4.0,140.0,NaN,0.0,0.0,123.0,1.0,0.2,2.0,0.0,,1\n"
        let t = try ClinicalCSV.parse(bytes(csv), layout: .heartCleveland)
        #expect(t.rows.count == 3)
        #expect(t.lines == [2, 3, 4])
        #expect(t.rows[0][0] == 63)
        #expect(t.rows[1][t.columnIndex("ca")!] == nil)
        #expect(t.rows[2][t.columnIndex("chol")!] == nil)
        #expect(t.rows[2][t.columnIndex("thal")!] == nil)
        let d = try ClinicalDataset(task: .heart, table: t)
        #expect(d.labels == [0, 1, 1])
    }

    @Test func pimaZerosAreMissing() throws {
        let csv = Self.pimaHeader + "\n6,148,72,35,0,33.6,0.627,50,1\n0,0,0,0,0,0,0.351,31,0\n"
        let t = try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima)
        #expect(t.rows[0] == [6, 148, 72, 35, nil, 33.6, 0.627, 50, 1])
        // Pregnancies 0 and Outcome 0 are real zeros; the five measurement columns are missing.
        #expect(t.rows[1] == [0, nil, nil, nil, nil, nil, 0.351, 31, 0])
        let d = try ClinicalDataset(task: .diabetes, table: t)
        #expect(d.labels == [1, 0])
    }

    @Test func wrongHeaderNamesLineAndColumn() {
        let csv = "age,sex,cp,trestbps,cholesterol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num\n"
        #expect(throws: ClinicalCSVError.wrongHeader(line: 1, column: 5, expected: "chol", found: "cholesterol")) {
            try ClinicalCSV.parse(bytes(csv), layout: .heartCleveland)
        }
        // The heart header is not accepted for the Pima layout.
        #expect(throws: ClinicalCSVError.wrongHeader(line: 1, column: 1, expected: "Pregnancies", found: "age")) {
            try ClinicalCSV.parse(bytes(Self.heartHeader + "\n"), layout: .diabetesPima)
        }
    }

    @Test func shortRowNamesLine() {
        let csv = Self.pimaHeader + "\n6,148,72,35,0,33.6,0.627,50,1\n1,85,66,29,0,26.6,0.351,31\n"
        #expect(throws: ClinicalCSVError.wrongColumnCount(line: 3, expected: 9, found: 8)) {
            try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima)
        }
    }

    @Test func nonNumericNamesLineAndColumn() {
        let csv = Self.pimaHeader + "\n6,148,72,35,0,33.6,0.627,50,1\n1,85,66,29,0,abc,0.351,31,0\n"
        #expect(throws: ClinicalCSVError.notNumeric(line: 3, column: 6, name: "BMI", value: "abc")) {
            try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima)
        }
        let inf = Self.pimaHeader + "\n6,148,72,35,0,inf,0.627,50,1\n"
        #expect(throws: ClinicalCSVError.notNumeric(line: 2, column: 6, name: "BMI", value: "inf")) {
            try ClinicalCSV.parse(bytes(inf), layout: .diabetesPima)
        }
    }

    @Test func missingLabelAndBadCodesAreErrors() {
        let csv = Self.pimaHeader + "\n6,148,72,35,0,33.6,0.627,50,?\n"
        #expect(throws: ClinicalCSVError.missingRequired(line: 2, column: 9, name: "Outcome")) {
            try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima)
        }
        let badCode = Self.heartHeader + "\n63.0,1.0,5.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
        #expect(throws: ClinicalCSVError.self) {
            try ClinicalDataset.load(task: .heart, csv: bytes(badCode))
        }
    }

    @Test func sizeAndRowLimits() {
        let csv = Self.pimaHeader + "\n6,148,72,35,0,33.6,0.627,50,1\n6,148,72,35,0,33.6,0.627,50,1\n"
        #expect(throws: ClinicalCSVError.tooManyRows(limit: 1)) {
            try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima, maxRows: 1)
        }
        #expect(throws: ClinicalCSVError.inputTooLarge(bytes: csv.utf8.count, limit: 10)) {
            try ClinicalCSV.parse(bytes(csv), layout: .diabetesPima, maxBytes: 10)
        }
        #expect(throws: ClinicalCSVError.empty) { try ClinicalCSV.parse([], layout: .diabetesPima) }
    }
}
