// Risk bands: a probability put into words, with thresholds that are stated in every result.

/// A band of predicted probability.
public enum RiskBand: String, Sendable, Equatable, CaseIterable {
    /// Below `intermediateFrom`.
    case low
    /// From `intermediateFrom` up to (not including) `highFrom`.
    case intermediate
    /// `highFrom` or more.
    case high
}

/// The thresholds of the bands of one task, and where they come from.
public struct RiskBandThresholds: Sendable, Equatable {
    /// The lowest probability in the intermediate band.
    public let intermediateFrom: Double
    /// The lowest probability in the high band.
    public let highFrom: Double
    /// Where the thresholds come from.
    public let source: String

    /// Creates thresholds with 0 < intermediateFrom < highFrom < 1.
    public init(intermediateFrom: Double, highFrom: Double, source: String) {
        precondition(0 < intermediateFrom && intermediateFrom < highFrom && highFrom < 1)
        self.intermediateFrom = intermediateFrom
        self.highFrom = highFrom
        self.source = source
    }

    /// The band of `probability`.
    public func band(for probability: Double) -> RiskBand {
        precondition((0...1).contains(probability))
        if probability >= highFrom { return .high }
        return probability >= intermediateFrom ? .intermediate : .low
    }

    /// Heart: below 15% low, 15% to below 85% intermediate, 85% or more high.
    public static let heart = RiskBandThresholds(
        intermediateFrom: 0.15, highFrom: 0.85,
        source: "cut-offs of the clinical (pre-test) probability of coronary artery disease in the 2013 ESC "
            + "guidelines on stable coronary artery disease (Montalescot et al., Eur Heart J 2013;34:2949-3003): "
            + "<15% low, 15-85% intermediate, >85% high; used here to put the model's probability into words, "
            + "the model is not the ESC pre-test probability table")

    /// Diabetes: below 25% low, 25% to below 50% intermediate, 50% or more high.
    public static let diabetes = RiskBandThresholds(
        intermediateFrom: 0.25, highFrom: 0.50,
        source: "project thresholds, not from a guideline: 'high' starts at 0.5, the decision threshold at "
            + "which the model's accuracy is reported; 'low' is below 0.25, about two thirds of the 35% "
            + "prevalence of the Pima training data")

    /// The thresholds of a task id.
    public static func forTask(_ taskID: String) -> RiskBandThresholds? {
        switch taskID {
        case ClinicalTask.heart.id: heart
        case ClinicalTask.diabetes.id: diabetes
        default: nil
        }
    }
}
