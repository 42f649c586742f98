import Foundation
import Testing
@testable import Clinical

/// Box–Muller normal draws from the seeded generator.
func gaussian(_ g: inout SeededGenerator) -> Double {
    let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300)
    let u2 = Double(g.next() >> 11) / Double(1 << 53)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}

/// Two Gaussian classes in 3 dimensions, means at ±(1.5, -1, 0.5): linear Bayes boundary.
func syntheticDataset(n: Int, seed: UInt64) -> ClinicalDataset {
    var g = SeededGenerator(seed: seed)
    let task = ClinicalTask(id: "synthetic", layout: .diabetesPima,
                            features: [FeatureSpec("x1", .numeric), FeatureSpec("x2", .numeric), FeatureSpec("x3", .numeric)],
                            targetColumn: "y", positiveAbove: 0)
    let mu = [1.5, -1.0, 0.5]
    var rows: [[Double?]] = []
    var labels: [Int] = []
    for i in 0..<n {
        let y = i % 3 == 0 ? 1 : 0 // unbalanced: one third positive
        let s = y == 1 ? 1.0 : -1.0
        rows.append(mu.map { s * $0 + gaussian(&g) * 1.0 + 10 })
        labels.append(y)
    }
    return ClinicalDataset(task: task, rows: rows, labels: labels)
}

@Suite struct ModelTests {
    @Test func logisticRegressionLearnsLinearBoundary() {
        let train = syntheticDataset(n: 600, seed: 7)
        let test = syntheticDataset(n: 600, seed: 8)
        let pre = Preprocessor.fit(features: train.task.features, rows: train.rows)
        let m = LogisticRegression.fit(x: pre.transform(rows: train.rows), y: train.labels, l2: 1.0)
        let p = pre.transform(rows: test.rows).map { m.probability($0) }
        let acc = Metrics.accuracy(p, test.labels)
        let auc = Metrics.rocAUC(p, test.labels)
        #expect(acc > 0.9, "accuracy \(acc)")
        #expect(auc > 0.95, "AUC \(auc)")
        // Coefficient signs follow the class means.
        #expect(m.coefficients[0] > 0 && m.coefficients[1] < 0 && m.coefficients[2] > 0)
        // Contributions are coefficient × standardised value and sum with the intercept to the log-odds.
        let x = pre.transform(test.rows[0]).values
        let c = m.contributions(x)
        #expect(abs(c.reduce(m.intercept, +) - m.linear(x)) < 1e-9)
        // Deterministic.
        #expect(m == LogisticRegression.fit(x: pre.transform(rows: train.rows), y: train.labels, l2: 1.0))
    }

    @Test func crossValidationOnSyntheticData() {
        let d = syntheticDataset(n: 300, seed: 3)
        var g1 = SeededGenerator(seed: 1)
        var g2 = SeededGenerator(seed: 1)
        let a = crossValidate(d, folds: 5, using: &g1)
        let b = crossValidate(d, folds: 5, using: &g2)
        #expect(a == b)
        #expect(a.pooled.accuracy > 0.9 && a.pooled.rocAUC > 0.95)
        let anyNaN = a.outOfFoldProbabilities.contains { $0.isNaN }
        #expect(!anyNaN)
        #expect(a.calibration.count == 10 && a.calibration.map(\.count).reduce(0, +) == 300)
    }

    @Test func aucEdgeCases() {
        let y = [0, 0, 1, 1, 0, 1]
        #expect(Metrics.rocAUC([0.1, 0.2, 0.8, 0.9, 0.3, 0.7], y) == 1)
        #expect(Metrics.rocAUC([0.9, 0.8, 0.1, 0.2, 0.7, 0.3], y) == 0)
        #expect(Metrics.rocAUC([Double](repeating: 0.4, count: 6), y) == 0.5)
        // One tied positive/negative pair out of 4 pairs counts half: (3 + 0.5) / 4.
        #expect(Metrics.rocAUC([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]) == 0.875)
        #expect(Metrics.rocAUC([0.1, 0.2], [1, 1]).isNaN)
    }

    @Test func brierAndAccuracyAndCalibration() {
        #expect(Metrics.brier([0, 1, 1, 0], [0, 1, 1, 0]) == 0)
        #expect(Metrics.brier([0.5, 0.5], [0, 1]) == 0.25)
        #expect(Metrics.accuracy([0.5, 0.49, 0.9, 0.1], [1, 0, 0, 0]) == 0.75)
        let cal = Metrics.calibration([0.05, 0.05, 0.95, 1.0], [0, 1, 1, 1])
        #expect(cal[0].count == 2 && cal[0].observedRate == 0.5 && cal[0].meanPredicted == 0.05)
        #expect(cal[9].count == 2 && cal[9].observedRate == 1)
        #expect(cal[5].count == 0 && cal[5].meanPredicted == nil)
    }

    @Test func stratifiedFoldsKeepProportionsAndCoverEveryRow() {
        var labels: [Int] = []
        for i in 0..<103 { labels.append(i % 7 < 2 ? 1 : 0) } // 30 positive, 73 negative
        for k in [2, 5, 10] {
            var g = SeededGenerator(seed: 1)
            let folds = stratifiedFolds(labels: labels, k: k, using: &g)
            #expect(folds.count == labels.count && folds.allSatisfy { (0..<k).contains($0) })
            // Each row is a test row in exactly one fold (its assigned fold).
            let sizes = (0..<k).map { f in folds.filter { $0 == f }.count }
            #expect(sizes.reduce(0, +) == labels.count)
            for cls in [0, 1] {
                let per = (0..<k).map { f in labels.indices.filter { folds[$0] == f && labels[$0] == cls }.count }
                #expect(per.max()! - per.min()! <= 1, "class \(cls) per fold \(per)")
            }
        }
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        #expect(stratifiedFolds(labels: labels, k: 5, using: &g1) != stratifiedFolds(labels: labels, k: 5, using: &g2))
    }

    @Test func preprocessingUsesTrainingRowsOnly() {
        let features = [FeatureSpec("a", .numeric), FeatureSpec("c", .categorical(levels: [1, 2, 3]))]
        let train: [[Double?]] = [[1, 1], [2, 2], [3, nil], [nil, 2]]
        let test: [[Double?]] = [[1000, 3], [nil, nil]]
        let pre = Preprocessor.fit(features: features, rows: train)
        let withLeak = Preprocessor.fit(features: features, rows: train + test)
        #expect(pre.imputeValues == [2, 2])
        #expect(pre.outputNames == ["a", "c=1", "c=2", "c=3"])
        // Training mean of `a` after imputation: (1 + 2 + 3 + 2) / 4 = 2; with the test rows it would be far larger.
        #expect(pre.means[0] == 2)
        #expect(withLeak.means[0] != pre.means[0])
        // c=3 never occurs in training: zero variance, scale 1.
        #expect(pre.means[3] == 0 && pre.scales[3] == 1)
        let r = pre.transform(test[1])
        #expect(r.imputed == ["a", "c"])
        #expect(r.values[0] == 0) // imputed with the training median (2) = training mean here
        // Cross-validation fits inside each fold: a fold's preprocessor equals one fitted on its training rows alone.
        let d = syntheticDataset(n: 40, seed: 5)
        var g = SeededGenerator(seed: 1)
        let folds = stratifiedFolds(labels: d.labels, k: 4, using: &g)
        let trainIdx = d.labels.indices.filter { folds[$0] != 0 }
        let foldPre = Preprocessor.fit(features: d.task.features, rows: d.subset(trainIdx).rows)
        #expect(foldPre != Preprocessor.fit(features: d.task.features, rows: d.rows))
    }

    /// Stand-in hash for format tests only (NOT SHA-256: Clinical takes the real hash as a closure from the caller).
    static func standInHash(_ b: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }

    @Test func modelFileRoundTripAndContentHash() throws {
        let csv = CSVTests.pimaHeader + "\n" + (0..<60).map { i in
            let y = i % 3 == 0 ? 1 : 0
            return "\(i % 5),\(y == 1 ? 150 + i : 95 + i),\(70 + i % 9),\(i % 4 == 0 ? 0 : 20 + i % 11),0,\(25 + Double(i % 13)),0.\(300 + i),\(21 + i),\(y)"
        }.joined(separator: "\n") + "\n"
        let (file, cv) = try ClinicalTrainer.train(task: .diabetes, csv: Array(csv.utf8), folds: 5, seed: 1,
                                                   hash: Self.standInHash)
        #expect(file.formatVersion == 1 && file.task == .diabetes)
        #expect(file.trainingDataSHA256 == Self.standInHash(Array(csv.utf8)))
        #expect(file.contentHash == Self.standInHash(try file.canonicalJSON()))
        #expect(file.crossValidation.accuracy == cv.pooled.accuracy)
        #expect(file.featureNames.count == file.coefficients.count)
        let bytes = try file.encoded()
        let back = try ClinicalModelFile.decode(bytes, hash: Self.standInHash)
        #expect(back == file)
        // Canonical JSON has sorted keys and no contentHash.
        let canon = String(decoding: try file.canonicalJSON(), as: UTF8.self)
        #expect(!canon.contains("contentHash"))
        #expect(canon.hasPrefix("{\"coefficients\""))
        // Tampering is detected.
        let tampered = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"l2\" : 1", with: "\"l2\" : 2")
        #expect(tampered != String(decoding: bytes, as: UTF8.self))
        #expect(throws: ClinicalModelError.self) { try ClinicalModelFile.decode(Array(tampered.utf8), hash: Self.standInHash) }
        // Prediction names imputed inputs and explains with contributions.
        let p = file.predict([2, 160, nil, nil, nil, 30, 0.5, 45])
        #expect(p.imputed == ["BloodPressure", "SkinThickness", "Insulin"])
        #expect(p.contributions.count == 8 && p.probability > 0 && p.probability < 1)
    }
}
