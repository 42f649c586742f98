// Values that hold health data print without it. Interpolating a result into a log line, `print`, `dump` or
// a test failure message shows only what kind of value it is and which records it came from (the record
// ids are on the ledger anyway), never a measured value, a probability or a care-plan branch. Containers
// print their children through these descriptions, so redacting the leaves covers them too.

/// A type whose text forms leave out its health data.
public protocol HealthDataDescription: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A summary without health data.
    var redactedSummary: String { get }
}

extension HealthDataDescription {
    public var description: String { redactedSummary }
    public var debugDescription: String { redactedSummary }
    public var customMirror: Mirror { Mirror(self, children: ["summary": redactedSummary]) }
}

extension MeasuredValue: HealthDataDescription {
    /// The measurement and its record.
    public var redactedSummary: String { "MeasuredValue(\(measurement.rawValue), record \(recordID))" }
}

extension PatientFact: HealthDataDescription {
    /// The record only.
    public var redactedSummary: String { "PatientFact(record \(recordID))" }
}

extension InputValue: HealthDataDescription {
    /// The feature and its record.
    public var redactedSummary: String { "InputValue(\(name), record \(source.recordID))" }
}

extension ModelInputs: HealthDataDescription {
    /// The task and the counts.
    public var redactedSummary: String { "ModelInputs(\(taskID), \(used.count) used, \(missing.count) missing)" }
}

extension PatientSnapshot: HealthDataDescription {
    /// The counts.
    public var redactedSummary: String {
        "PatientSnapshot(\(measurements.values.filter { $0.value != nil }.count) measurements, "
            + "\(refusedObservations.count) refused, \(unreadableRecords.count) unreadable)"
    }
}

extension DiagnosisResult: HealthDataDescription {
    /// The task and the model.
    public var redactedSummary: String { "DiagnosisResult(\(taskID), model \(model.id))" }
}

extension PlanInput: HealthDataDescription {
    /// The input's name.
    public var redactedSummary: String { "PlanInput(\(name))" }
}

extension DecisionStep: HealthDataDescription {
    /// The node only: the branch taken says something about the patient.
    public var redactedSummary: String { "DecisionStep(\(node))" }
}

extension CarePlanItem: HealthDataDescription {
    /// Nothing: which rule fired, even its category, says something about the patient.
    public var redactedSummary: String { "CarePlanItem" }
}

extension CarePlanInputs: HealthDataDescription {
    /// The names of the inputs present.
    public var redactedSummary: String { "CarePlanInputs(\(all.map(\.name).joined(separator: ", ")))" }
}

extension CarePlan: HealthDataDescription {
    /// The model and the count of items.
    public var redactedSummary: String { "CarePlan(model \(model.id), \(items.count) items)" }
}
