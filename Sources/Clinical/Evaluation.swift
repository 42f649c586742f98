// Metrics and stratified k-fold cross-validation. All randomness comes from a generator passed in.

/// SplitMix64: small, fast, fully specified seeded generator (same sequence on every platform).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fisher–Yates with our own index draw, so the permutation does not depend on stdlib internals.
public func deterministicShuffle<T>(_ a: inout [T], using g: inout some RandomNumberGenerator) {
    guard a.count > 1 else { return }
    for i in stride(from: a.count - 1, to: 0, by: -1) {
        let j = Int(g.next() % UInt64(i + 1))
        a.swapAt(i, j)
    }
}

public struct CalibrationBin: Sendable, Codable, Equatable {
    public let lower: Double
    public let upper: Double
    public let count: Int
    /// nil when the bin is empty.
    public let meanPredicted: Double?
    public let observedRate: Double?
}

public struct EvaluationMetrics: Sendable, Codable, Equatable {
    public let count: Int
    public let positives: Int
    public let accuracy: Double
    public let rocAUC: Double
    public let brier: Double
}

public enum Metrics {
    public static func accuracy(_ p: [Double], _ y: [Int], threshold: Double = 0.5) -> Double {
        precondition(p.count == y.count && !p.isEmpty)
        var ok = 0
        for i in p.indices where (p[i] >= threshold ? 1 : 0) == y[i] { ok += 1 }
        return Double(ok) / Double(p.count)
    }

    /// Rank-based (Mann–Whitney) AUC with mid-ranks for ties: a tied positive/negative pair counts ½.
    /// NaN when only one class is present.
    public static func rocAUC(_ score: [Double], _ y: [Int]) -> Double {
        precondition(score.count == y.count)
        let order = score.indices.sorted { score[$0] < score[$1] }
        var ranks = [Double](repeating: 0, count: score.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && score[order[j + 1]] == score[order[i]] { j += 1 }
            let mid = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = mid }
            i = j + 1
        }
        let nPos = y.filter { $0 == 1 }.count
        let nNeg = y.count - nPos
        guard nPos > 0 && nNeg > 0 else { return .nan }
        var sumPos = 0.0
        for k in y.indices where y[k] == 1 { sumPos += ranks[k] }
        let u = sumPos - Double(nPos) * Double(nPos + 1) / 2
        return u / (Double(nPos) * Double(nNeg))
    }

    public static func brier(_ p: [Double], _ y: [Int]) -> Double {
        precondition(p.count == y.count && !p.isEmpty)
        var s = 0.0
        for i in p.indices { let d = p[i] - Double(y[i]); s += d * d }
        return s / Double(p.count)
    }

    /// Equal-width bins over [0, 1]; p = 1 falls in the last bin.
    public static func calibration(_ p: [Double], _ y: [Int], bins: Int = 10) -> [CalibrationBin] {
        precondition(p.count == y.count && bins > 0)
        var n = [Int](repeating: 0, count: bins)
        var sp = [Double](repeating: 0, count: bins)
        var sy = [Double](repeating: 0, count: bins)
        for i in p.indices {
            let b = min(bins - 1, max(0, Int(p[i] * Double(bins))))
            n[b] += 1; sp[b] += p[i]; sy[b] += Double(y[i])
        }
        return (0..<bins).map { b in
            CalibrationBin(lower: Double(b) / Double(bins), upper: Double(b + 1) / Double(bins), count: n[b],
                           meanPredicted: n[b] > 0 ? sp[b] / Double(n[b]) : nil,
                           observedRate: n[b] > 0 ? sy[b] / Double(n[b]) : nil)
        }
    }

    public static func evaluate(_ p: [Double], _ y: [Int]) -> EvaluationMetrics {
        EvaluationMetrics(count: p.count, positives: y.filter { $0 == 1 }.count,
                          accuracy: accuracy(p, y), rocAUC: rocAUC(p, y), brier: brier(p, y))
    }
}

/// Fold number (0..<k) for each row. Each class is shuffled and dealt round-robin, continuing the deal
/// across classes, so every fold's count of each class is within one of every other fold's.
public func stratifiedFolds(labels: [Int], k: Int, using g: inout some RandomNumberGenerator) -> [Int] {
    precondition(k >= 2 && k <= labels.count)
    var fold = [Int](repeating: -1, count: labels.count)
    var next = 0
    for cls in Set(labels).sorted() {
        var idx = labels.indices.filter { labels[$0] == cls }
        deterministicShuffle(&idx, using: &g)
        for i in idx { fold[i] = next % k; next += 1 }
    }
    return fold
}

public struct CrossValidationResult: Sendable, Equatable {
    public let folds: Int
    /// Metrics on the pooled out-of-fold predictions (every row predicted once, by a model that never saw it).
    public let pooled: EvaluationMetrics
    public let perFold: [EvaluationMetrics]
    public let calibration: [CalibrationBin]
    public let outOfFoldProbabilities: [Double]

    public var meanFoldAccuracy: Double { perFold.map(\.accuracy).reduce(0, +) / Double(perFold.count) }
    public var meanFoldAUC: Double { perFold.map(\.rocAUC).reduce(0, +) / Double(perFold.count) }
}

/// Stratified k-fold CV; imputation, one-hot and standardisation are fitted inside each fold on its training rows.
public func crossValidate(_ data: ClinicalDataset, folds k: Int, l2: Double = 1.0,
                          using g: inout some RandomNumberGenerator) -> CrossValidationResult {
    let assignment = stratifiedFolds(labels: data.labels, k: k, using: &g)
    var oof = [Double](repeating: .nan, count: data.labels.count)
    var perFold: [EvaluationMetrics] = []
    for f in 0..<k {
        let train = data.labels.indices.filter { assignment[$0] != f }
        let test = data.labels.indices.filter { assignment[$0] == f }
        let trainSet = data.subset(train)
        let pre = Preprocessor.fit(features: data.task.features, rows: trainSet.rows)
        let model = LogisticRegression.fit(x: pre.transform(rows: trainSet.rows), y: trainSet.labels, l2: l2)
        var p: [Double] = []
        for i in test {
            let prob = model.probability(pre.transform(data.rows[i]).values)
            oof[i] = prob
            p.append(prob)
        }
        perFold.append(Metrics.evaluate(p, test.map { data.labels[$0] }))
    }
    return CrossValidationResult(folds: k, pooled: Metrics.evaluate(oof, data.labels), perFold: perFold,
                                 calibration: Metrics.calibration(oof, data.labels), outOfFoldProbabilities: oof)
}
