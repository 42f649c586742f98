// L2-regularised logistic regression fitted by Newton's method (IRLS). Deterministic: no randomness,
// fixed iteration order. The intercept is not penalised.

import Foundation

public struct LogisticRegression: Sendable, Codable, Equatable {
    public let coefficients: [Double]
    public let intercept: Double

    public init(coefficients: [Double], intercept: Double) {
        self.coefficients = coefficients; self.intercept = intercept
    }

    public static func sigmoid(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + Foundation.exp(-z)) }
        let e = Foundation.exp(z)
        return e / (1 + e)
    }

    public func linear(_ x: [Double]) -> Double {
        precondition(x.count == coefficients.count)
        var z = intercept
        for k in x.indices { z += coefficients[k] * x[k] }
        return z
    }

    public func probability(_ x: [Double]) -> Double { Self.sigmoid(linear(x)) }

    /// coefficient × standardised value, per model input (log-odds contributions, intercept excluded).
    public func contributions(_ x: [Double]) -> [Double] {
        precondition(x.count == coefficients.count)
        return x.indices.map { coefficients[$0] * x[$0] }
    }

    /// - Parameters:
    ///   - l2: penalty λ on the sum of squared coefficients (objective: log-likelihood − λ/2·‖w‖²).
    public static func fit(x: [[Double]], y: [Int], l2: Double = 1.0,
                           maxIterations: Int = 100, tolerance: Double = 1e-9) -> LogisticRegression {
        precondition(x.count == y.count && !x.isEmpty)
        let p = x[0].count
        let d = p + 1 // index 0 = intercept
        var beta = [Double](repeating: 0, count: d)
        for _ in 0..<maxIterations {
            var grad = [Double](repeating: 0, count: d)
            var hess = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
            for (i, row) in x.enumerated() {
                var z = beta[0]
                for k in 0..<p { z += beta[k + 1] * row[k] }
                let mu = sigmoid(z)
                let r = Double(y[i]) - mu
                let w = max(mu * (1 - mu), 1e-12)
                grad[0] += r
                for k in 0..<p { grad[k + 1] += r * row[k] }
                // Upper triangle of X^T W X with the intercept column of ones.
                hess[0][0] += w
                for a in 0..<p {
                    let wa = w * row[a]
                    hess[0][a + 1] += wa
                    for b in a..<p { hess[a + 1][b + 1] += wa * row[b] }
                }
            }
            for k in 1..<d {
                grad[k] -= l2 * beta[k]
                hess[k][k] += l2
            }
            for a in 0..<d { for b in 0..<a { hess[a][b] = hess[b][a] } }
            guard let step = solve(hess, grad) else { break }
            var maxStep = 0.0
            for k in 0..<d { beta[k] += step[k]; maxStep = max(maxStep, abs(step[k])) }
            if maxStep < tolerance { break }
        }
        return LogisticRegression(coefficients: Array(beta[1...]), intercept: beta[0])
    }

    /// Gaussian elimination with partial pivoting. nil when singular.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var m = a
        var v = b
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(n, col + 1) where abs(m[r][col]) > abs(m[pivot][col]) { pivot = r }
            if abs(m[pivot][col]) < 1e-300 { return nil }
            if pivot != col { m.swapAt(pivot, col); v.swapAt(pivot, col) }
            for r in (col + 1)..<max(n, col + 1) {
                let f = m[r][col] / m[col][col]
                if f == 0 { continue }
                for c in col..<n { m[r][c] -= f * m[col][c] }
                v[r] -= f * v[col]
            }
        }
        var out = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = v[r]
            for c in (r + 1)..<max(n, r + 1) { s -= m[r][c] * out[c] }
            out[r] = s / m[r][r]
        }
        return out
    }
}

