import Foundation
import Testing
@testable import Clinical

/// Sanity check on the real datasets (not committed): /work/shared/data, found as <package root>/../shared/data.
/// Ranges are the published logistic-regression ballpark; values far above them would suggest leakage.
@Suite struct RealDataTests {
    /// First `shared/data` found walking up from the package root (root's parent first: /work/shared/data
    /// for a checkout at /work/<repo>; further up for a worktree such as /work/wt/<branch>).
    static let dataDir: URL = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var dir = root.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared/data")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    static func load(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: dataDir.appendingPathComponent(name).path).map { Array($0) }
    }

    func run(_ task: ClinicalTask, file: String, auc: ClosedRange<Double>, accuracy: ClosedRange<Double>) throws {
        guard let bytes = Self.load(file) else {
            print("SKIP: \(file) not found under \(Self.dataDir.path); real-data cross-validation not run")
            return
        }
        let data = try ClinicalDataset.load(task: task, csv: bytes)
        var g = SeededGenerator(seed: 1)
        let cv = crossValidate(data, folds: 10, l2: 1.0, using: &g)
        let m = cv.pooled
        print("""
            \(file): rows \(m.count), positive \(m.positives); 10-fold CV seed 1, pooled out-of-fold: \
            accuracy \(String(format: "%.4f", m.accuracy)), ROC AUC \(String(format: "%.4f", m.rocAUC)), \
            Brier \(String(format: "%.4f", m.brier)); mean of folds: accuracy \(String(format: "%.4f", cv.meanFoldAccuracy)), \
            AUC \(String(format: "%.4f", cv.meanFoldAUC))
            """)
        for b in cv.calibration where b.count > 0 {
            print("  [\(b.lower), \(b.upper)) n=\(b.count) predicted \(String(format: "%.3f", b.meanPredicted!)) observed \(String(format: "%.3f", b.observedRate!))")
        }
        #expect(auc.contains(m.rocAUC), "AUC \(m.rocAUC) outside \(auc)")
        #expect(accuracy.contains(m.accuracy), "accuracy \(m.accuracy) outside \(accuracy)")
        #expect(m.brier < 0.25)
    }

    @Test func heartCrossValidation() throws {
        try run(.heart, file: "heart-cleveland.csv", auc: 0.85...0.95, accuracy: 0.78...0.90)
    }

    @Test func pimaCrossValidation() throws {
        try run(.diabetes, file: "diabetes-pima.csv", auc: 0.78...0.88, accuracy: 0.72...0.82)
    }
}
