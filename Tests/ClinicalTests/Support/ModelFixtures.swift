import Foundation

@testable import Clinical

/// Small models trained in the tests on generated rows shaped like the Cleveland and Pima data (fixed
/// seeds), so the service tests depend on neither ../shared/data nor the shipped model files.
enum ModelFixtures {
    static let heart = train(task: .heart, modelID: "heart-test-v1", rows: heartRows(count: 240, seed: 11))
    static let diabetes = train(task: .diabetes, modelID: "diabetes-test-v1", rows: diabetesRows(count: 300, seed: 12))

    static func train(task: ClinicalTask, modelID: String, rows: (rows: [[Double?]], labels: [Int])) -> ClinicalModelFile {
        let preprocessor = Preprocessor.fit(features: task.features, rows: rows.rows)
        let model = LogisticRegression.fit(x: preprocessor.transform(rows: rows.rows), y: rows.labels, l2: 1.0)
        let summary = CrossValidationSummary(folds: 0, seed: 0, accuracy: 0, rocAUC: 0, brier: 0, calibration: [])
        let file = ClinicalModelFile(
            modelID: modelID, task: task, preprocessor: preprocessor, model: model, l2: 1.0, trainingDataSHA256: "generated",
            trainingRows: rows.rows.count, crossValidation: summary)
        return try! file.sealed(hash: testHash)
    }

    static func uniform(_ g: inout SeededGenerator) -> Double { Double(g.next() >> 11) / Double(1 << 53) }

    static func pick(_ values: [Double], _ g: inout SeededGenerator) -> Double {
        values[Int(g.next() % UInt64(values.count))]
    }

    /// Cleveland-shaped rows; the label follows a logistic model of chest pain, exercise findings and
    /// vessels, so the fitted coefficients have the expected signs. Some `ca` and `thal` are missing.
    static func heartRows(count: Int, seed: UInt64) -> (rows: [[Double?]], labels: [Int]) {
        var g = SeededGenerator(seed: seed)
        var rows: [[Double?]] = []
        var labels: [Int] = []
        for i in 0..<count {
            let age = (54 + 9 * gaussian(&g)).rounded()
            let sex = uniform(&g) < 0.68 ? 1.0 : 0.0
            let cp = pick([1, 2, 3, 4, 4], &g)
            let trestbps = (131 + 17 * gaussian(&g)).rounded()
            let chol = (246 + 50 * gaussian(&g)).rounded()
            let fbs = uniform(&g) < 0.15 ? 1.0 : 0.0
            let restecg = pick([0, 1, 2], &g)
            let thalach = (150 + 22 * gaussian(&g)).rounded()
            let exang = uniform(&g) < 0.33 ? 1.0 : 0.0
            let oldpeak = (abs(1 + gaussian(&g)) * 10).rounded() / 10
            let slope = pick([1, 2, 3], &g)
            let ca = pick([0, 0, 1, 2, 3], &g)
            let thal = pick([3, 6, 7], &g)
            let z =
                -0.6 + 1.2 * (cp == 4 ? 1 : 0) + 0.8 * sex + 0.04 * (age - 54) - 0.03 * (thalach - 150) + 1.0 * exang
                + 0.6 * oldpeak + 0.9 * ca + 1.1 * (thal == 7 ? 1 : 0) - 1.0
            labels.append(uniform(&g) < LogisticRegression.sigmoid(z) ? 1 : 0)
            rows.append([
                age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak, slope,
                i % 17 == 0 ? nil : ca, i % 23 == 0 ? nil : thal,
            ])
        }
        return (rows, labels)
    }

    /// Pima-shaped rows; the label follows glucose, BMI, age and the pedigree function. Skin fold and
    /// insulin are often missing, as in the real data.
    static func diabetesRows(count: Int, seed: UInt64) -> (rows: [[Double?]], labels: [Int]) {
        var g = SeededGenerator(seed: seed)
        var rows: [[Double?]] = []
        var labels: [Int] = []
        for i in 0..<count {
            let pregnancies = Double(Int(uniform(&g) * 10))
            let glucose = max(60, (121 + 30 * gaussian(&g)).rounded())
            let pressure = max(40, (72 + 12 * gaussian(&g)).rounded())
            let skin = max(8, (29 + 10 * gaussian(&g)).rounded())
            let insulin = max(15, (155 + 90 * gaussian(&g)).rounded())
            let bmi = max(18, ((32 + 7 * gaussian(&g)) * 10).rounded() / 10)
            let pedigree = ((0.1 + 1.2 * uniform(&g)) * 1000).rounded() / 1000
            let age = Double(21 + Int(uniform(&g) * 45))
            let z =
                -0.7 + 0.035 * (glucose - 121) + 0.08 * (bmi - 32) + 0.03 * (age - 33) + 0.9 * (pedigree - 0.5)
                + 0.05 * pregnancies
            labels.append(uniform(&g) < LogisticRegression.sigmoid(z) ? 1 : 0)
            rows.append([
                pregnancies, glucose, pressure, i % 3 == 0 ? nil : skin, i % 2 == 0 ? nil : insulin, bmi, pedigree, age,
            ])
        }
        return (rows, labels)
    }
}
