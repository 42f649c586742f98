// Reads one FHIR R4 Observation: which measurements it carries (its code and each component's code), when
// it was measured, and each value checked and converted by the measurement's rule.

/// One value an Observation offers for a measurement, before the most recent is chosen.
struct ObservationCandidate: Sendable {
    let measurement: ClinicalMeasurement
    let recordID: String
    /// -1 for the Observation's own value, else the index in `component`.
    let componentIndex: Int
    let effectiveMs: Int64
    let issuedMs: Int64?
    let outcome: Result<MeasuredValue, ObservationProblem>

    /// The ordering of "most recent": later effective time, then later `issued` (none counts as earliest),
    /// then the greater record id (UTF-8 byte order), then the earlier component. Total and independent of
    /// the order records arrive in, so a result never depends on it.
    func isMoreRecent(than other: ObservationCandidate) -> Bool {
        if effectiveMs != other.effectiveMs { return effectiveMs > other.effectiveMs }
        if issuedMs != other.issuedMs { return (issuedMs ?? Int64.min) > (other.issuedMs ?? Int64.min) }
        if recordID != other.recordID { return other.recordID.utf8.lexicographicallyPrecedes(recordID.utf8) }
        return componentIndex < other.componentIndex
    }
}

enum ObservationReader {
    /// Statuses whose value is used. `preliminary`, `registered`, `cancelled`, `entered-in-error` and
    /// `unknown` are skipped: not a final measurement.
    static let usableStatuses: Set<String> = ["final", "amended", "corrected"]

    /// The candidates and refusals of one Observation (an empty answer when it carries nothing relevant).
    static func read(_ observation: [String: JSONValue], recordID: String, asOfMs: Int64)
        -> (candidates: [ObservationCandidate], refused: [RefusedObservation])
    {
        guard let status = observation["status"]?.stringValue, usableStatuses.contains(status) else { return ([], []) }
        let parts = valueParts(of: observation)
        guard !parts.isEmpty else { return ([], []) }
        var candidates: [ObservationCandidate] = []
        var refused: [RefusedObservation] = []
        let time = observationTime(observation)
        for part in parts {
            for measurement in part.measurements {
                switch time {
                case .failure(let problem):
                    refused.append(RefusedObservation(recordID: recordID, measurement: measurement, problem: problem))
                case .success(let (effectiveMs, issuedMs)):
                    guard effectiveMs <= asOfMs else {
                        refused.append(
                            RefusedObservation(recordID: recordID, measurement: measurement, problem: .effectiveAfterAsOf))
                        continue
                    }
                    let outcome = ObservationValueReader.read(
                        part.holder, measurement: measurement, coding: part.codings[measurement]!, recordID: recordID,
                        effectiveMs: effectiveMs)
                    if case .failure(let problem) = outcome {
                        refused.append(RefusedObservation(recordID: recordID, measurement: measurement, problem: problem))
                    }
                    candidates.append(
                        ObservationCandidate(
                            measurement: measurement, recordID: recordID, componentIndex: part.index,
                            effectiveMs: effectiveMs, issuedMs: issuedMs, outcome: outcome))
                }
            }
        }
        return (candidates, refused)
    }

    /// A code-and-value pair: the Observation itself or one of its components.
    private struct ValuePart {
        let index: Int
        let holder: [String: JSONValue]
        let measurements: [ClinicalMeasurement]
        let codings: [ClinicalMeasurement: Coding]
    }

    /// The parts whose code names a measurement and that carry some value[x] (a part with none, e.g. with
    /// only a `dataAbsentReason`, is not a measurement and is skipped).
    private static func valueParts(of observation: [String: JSONValue]) -> [ValuePart] {
        var holders: [(Int, [String: JSONValue])] = [(-1, observation)]
        for (index, component) in (observation["component"]?.arrayValue ?? []).enumerated() {
            if let object = component.objectValue { holders.append((index, object)) }
        }
        var parts: [ValuePart] = []
        for (index, holder) in holders {
            let codings = measurementCodings(holder["code"])
            guard !codings.isEmpty, holder.keys.contains(where: isValueKey) else { continue }
            parts.append(ValuePart(index: index, holder: holder, measurements: codings.keys.sorted(), codings: codings))
        }
        return parts
    }

    /// The measurements a CodeableConcept names, each with the first coding that named it.
    private static func measurementCodings(_ concept: JSONValue?) -> [ClinicalMeasurement: Coding] {
        var found: [ClinicalMeasurement: Coding] = [:]
        for entry in concept?["coding"]?.arrayValue ?? [] {
            guard let system = entry["system"]?.stringValue, let code = entry["code"]?.stringValue else { continue }
            let coding = Coding(system: system, code: code)
            if let measurement = ClinicalMeasurement.identified(by: coding), found[measurement] == nil {
                found[measurement] = coding
            }
        }
        return found
    }

    static func isValueKey(_ key: String) -> Bool { key.hasPrefix("value") && key.count > 5 }

    /// The effective time (`effectiveDateTime`, `effectiveInstant`, or `effectivePeriod.end`, else its
    /// `start`), or `issued` when there is none; and `issued` for tie-breaking.
    private static func observationTime(_ observation: [String: JSONValue])
        -> Result<(effectiveMs: Int64, issuedMs: Int64?), ObservationProblem>
    {
        var issuedMs: Int64?
        if let issued = observation["issued"] {
            guard let text = issued.stringValue, let ms = FHIRDateTime.parseDateTime(text) else {
                return .failure(.invalidTime)
            }
            issuedMs = ms
        }
        let effectiveText: JSONValue?
        if let period = observation["effectivePeriod"] {
            effectiveText = period["end"] ?? period["start"]
            if effectiveText == nil { return .failure(.invalidTime) }
        } else {
            effectiveText = observation["effectiveDateTime"] ?? observation["effectiveInstant"]
        }
        guard let effectiveText else {
            guard let issuedMs else { return .failure(.noTime) }
            return .success((issuedMs, issuedMs))
        }
        guard let text = effectiveText.stringValue, let ms = FHIRDateTime.parseDateTime(text) else {
            return .failure(.invalidTime)
        }
        return .success((ms, issuedMs))
    }
}
