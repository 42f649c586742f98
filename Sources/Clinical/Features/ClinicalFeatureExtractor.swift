// Turns one patient's FHIR R4 records (decrypted JSON bytes, as the vault returns them) into a
// PatientSnapshot. Pure: the as-of time is an input, there is no clock, no file and no network.
//
// Rules (docs/CLINICAL-FEATURES.md, "Extraction rules"):
// - Patient: age in whole years at the as-of time from `birthDate`; `gender`; US Core race. Several Patient
//   records must agree, or the element is unavailable.
// - Observation: used when its status is final, amended or corrected; its code (or a component's code)
//   names a measurement by LOINC or by the project code system; the most recent value wins (effective time,
//   else `issued`; ties broken by later `issued`, then greater record id). When the most recent value is
//   refused (wrong unit, implausible value, ...), the measurement is unavailable: an older value is never
//   presented as the current one. Observations after the as-of time are not used.
// - Odd input never stops the others: an unreadable record is listed and skipped. Only batch limits, bad
//   record ids and a record naming another patient refuse the whole request.

/// Limits on one extraction request.
public struct ExtractionLimits: Sendable, Equatable {
    /// The most records read in one request.
    public var maxRecords: Int
    /// The most bytes read in one request, all records together.
    public var maxTotalBytes: Int
    /// Limits of each record's JSON.
    public var record: JSONParseLimits

    /// 10,000 records, 64 MiB in all, each record as `JSONParseLimits.record`.
    public static let standard = ExtractionLimits(maxRecords: 10_000, maxTotalBytes: 64 << 20, record: .record)

    /// Creates limits.
    public init(maxRecords: Int, maxTotalBytes: Int, record: JSONParseLimits) {
        precondition(maxRecords > 0 && maxTotalBytes > 0)
        self.maxRecords = maxRecords
        self.maxTotalBytes = maxTotalBytes
        self.record = record
    }
}

/// Extracts a `PatientSnapshot` from FHIR records.
public struct ClinicalFeatureExtractor: Sendable {
    /// The longest record id accepted.
    public static let maxRecordIDLength = 128
    /// The last millisecond of the year 9999.
    public static let maxAsOfMs: Int64 = 253_402_300_799_999

    /// The limits applied.
    public let limits: ExtractionLimits

    /// An extractor with the given limits.
    public init(limits: ExtractionLimits = .standard) {
        self.limits = limits
    }

    /// Reads `records` as of `asOfMs` (milliseconds since the epoch).
    ///
    /// - Parameter patient: when given (the patient's `hlk1…` identity text), a record that names another
    ///   patient under the `urn:healthledger:patient` identifier system refuses the whole request.
    /// - Throws: `ClinicalServiceError` for batch limits, bad or repeated record ids, an invalid as-of time,
    ///   or a record about another patient. Problems inside one record never throw; they are listed.
    public func extract(_ records: [ClinicalRecord], asOfMs: Int64, patient: String? = nil)
        throws(ClinicalServiceError) -> PatientSnapshot
    {
        try checkBatch(records, asOfMs: asOfMs)
        var candidates: [ObservationCandidate] = []
        var refused: [RefusedObservation] = []
        var unreadable: [UnreadableRecord] = []
        var patients: [PatientRecordFacts] = []
        for record in records {
            let object: [String: JSONValue]
            do {
                guard let parsed = try JSONParser.parse(record.json, limits: limits.record).objectValue else {
                    unreadable.append(UnreadableRecord(recordID: record.id, reason: "record is not a JSON object"))
                    continue
                }
                object = parsed
            } catch {
                unreadable.append(UnreadableRecord(recordID: record.id, reason: error.description))
                continue
            }
            switch object["resourceType"]?.stringValue {
            case "Patient":
                try checkPatientIdentifiers(object, recordID: record.id, patient: patient)
                patients.append(PatientReader.read(object, recordID: record.id))
            case "Observation":
                try checkSubject(object, recordID: record.id, patient: patient)
                let read = ObservationReader.read(object, recordID: record.id, asOfMs: asOfMs)
                candidates += read.candidates
                refused += read.refused
            default:
                continue
            }
        }
        return snapshot(asOfMs: asOfMs, candidates: candidates, refused: refused, unreadable: unreadable, patients: patients)
    }

    private func snapshot(
        asOfMs: Int64, candidates: [ObservationCandidate], refused: [RefusedObservation], unreadable: [UnreadableRecord],
        patients: [PatientRecordFacts]
    ) -> PatientSnapshot {
        let birthDate = PatientReader.reconcile(patients, element: "Patient.birthDate") { $0.birthDate }
        let gender = PatientReader.reconcile(patients, element: "Patient.gender") { $0.gender }
        let asian = patients.filter(\.statesAsianAncestry).map(\.recordID)
            .min { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return PatientSnapshot(
            asOfMs: asOfMs, age: PatientReader.age(from: birthDate, asOfMs: asOfMs), gender: gender,
            asianAncestryRecordID: asian, measurements: Self.mostRecent(candidates),
            refusedObservations: refused.sorted(by: Self.recordThenMeasurement),
            unreadableRecords: unreadable.sorted { $0.recordID.utf8.lexicographicallyPrecedes($1.recordID.utf8) })
    }

    /// The most recent candidate of each measurement: its value, or why it was refused.
    static func mostRecent(_ candidates: [ObservationCandidate]) -> [ClinicalMeasurement: Extracted<MeasuredValue>] {
        var latest: [ClinicalMeasurement: ObservationCandidate] = [:]
        for candidate in candidates {
            if let current = latest[candidate.measurement], !candidate.isMoreRecent(than: current) { continue }
            latest[candidate.measurement] = candidate
        }
        var result: [ClinicalMeasurement: Extracted<MeasuredValue>] = [:]
        for measurement in ClinicalMeasurement.allCases {
            guard let winner = latest[measurement] else {
                result[measurement] = .unavailable(.notRecorded)
                continue
            }
            switch winner.outcome {
            case .success(let value): result[measurement] = .found(value)
            case .failure(let problem):
                result[measurement] = .unavailable(
                    .mostRecentRefused(recordID: winner.recordID, effectiveMs: winner.effectiveMs, problem: problem))
            }
        }
        return result
    }

    private static func recordThenMeasurement(_ a: RefusedObservation, _ b: RefusedObservation) -> Bool {
        if a.recordID != b.recordID { return a.recordID.utf8.lexicographicallyPrecedes(b.recordID.utf8) }
        if a.measurement != b.measurement { return a.measurement < b.measurement }
        return a.problem.code < b.problem.code
    }

    // MARK: Checks that refuse the whole request

    private func checkBatch(_ records: [ClinicalRecord], asOfMs: Int64) throws(ClinicalServiceError) {
        guard (0...Self.maxAsOfMs).contains(asOfMs) else { throw .invalidAsOf }
        guard records.count <= limits.maxRecords else {
            throw .tooManyRecords(count: records.count, limit: limits.maxRecords)
        }
        let totalBytes = records.reduce(0) { $0 + $1.json.count }
        guard totalBytes <= limits.maxTotalBytes else {
            throw .recordsTooLarge(byteCount: totalBytes, limit: limits.maxTotalBytes)
        }
        var seen = Set<String>()
        for (index, record) in records.enumerated() {
            guard Self.isValidRecordID(record.id) else { throw .invalidRecordID(index: index) }
            guard seen.insert(record.id).inserted else { throw .duplicateRecordID(index: index) }
        }
    }

    /// 1-128 printable ASCII characters (the vault's ids are 32 hex digits).
    static func isValidRecordID(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= maxRecordIDLength && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private func checkSubject(_ observation: [String: JSONValue], recordID: String, patient: String?)
        throws(ClinicalServiceError)
    {
        guard let patient, let identifier = observation["subject"]?["identifier"] else { return }
        try checkNames(identifier, recordID: recordID, patient: patient)
    }

    private func checkPatientIdentifiers(_ resource: [String: JSONValue], recordID: String, patient: String?)
        throws(ClinicalServiceError)
    {
        guard let patient else { return }
        for identifier in resource["identifier"]?.arrayValue ?? [] {
            try checkNames(identifier, recordID: recordID, patient: patient)
        }
    }

    private func checkNames(_ identifier: JSONValue, recordID: String, patient: String) throws(ClinicalServiceError) {
        guard identifier["system"]?.stringValue == CodeSystem.healthLedgerPatient else { return }
        guard identifier["value"]?.stringValue == patient else { throw .recordForOtherPatient(recordID: recordID) }
    }
}
