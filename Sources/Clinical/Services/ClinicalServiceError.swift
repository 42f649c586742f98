// Why a diagnosis or care plan was refused.

/// Why a service request was refused. Safe to print and log: it names features, measurements, record ids
/// and limits, never a value, unit or text from a record.
public enum ClinicalServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// More records than the extractor reads in one request.
    case tooManyRecords(count: Int, limit: Int)
    /// The records together are larger than the extractor reads in one request.
    case recordsTooLarge(byteCount: Int, limit: Int)
    /// The record at `index` has an empty, over-long or non-printable id.
    case invalidRecordID(index: Int)
    /// Two records share an id; the second is at `index`.
    case duplicateRecordID(index: Int)
    /// The as-of time is negative or after the year 9999.
    case invalidAsOf
    /// A record names a patient other than the one the request is about: the records were mixed up
    /// upstream, so nothing is computed.
    case recordForOtherPatient(recordID: String)
    /// Too few inputs were measured. `missing` lists every missing input with its reason; `essential`
    /// names the missing inputs the rule requires.
    case insufficientInputs(task: String, missing: [MissingInput], essential: [String], measured: Int, required: Int)
    /// The patient is outside the population the model was built for.
    case outsideModelPopulation(task: String, reason: String)
    /// The model's task is not one this module can extract features for.
    case unsupportedTask(String)
    /// The model file has no content hash (it was never sealed), so a result could not name it.
    case modelNotSealed
    /// A model id must be 1-64 characters of `a-z`, `0-9`, `.` and `-`, starting with a letter or digit.
    case invalidModelID
    /// The care plan needs the diabetes model.
    case wrongModelForCarePlan(task: String)
    /// The model produced a number that cannot be written in a result (a degenerate model file).
    case modelOutputOutOfRange

    public var description: String {
        switch self {
        case let .tooManyRecords(count, limit): "\(count) records given; at most \(limit) are read per request"
        case let .recordsTooLarge(byteCount, limit): "records total \(byteCount) bytes; at most \(limit) are read"
        case .invalidRecordID(let index): "record \(index) has an invalid id (1-128 printable ASCII characters)"
        case .duplicateRecordID(let index): "record \(index) repeats the id of an earlier record"
        case .invalidAsOf: "the as-of time must be between 1970 and 9999"
        case .recordForOtherPatient(let recordID): "record \(recordID) names a different patient"
        case let .insufficientInputs(task, missing, essential, measured, required):
            "\(task): too few measured inputs (\(measured) of at least \(required)"
                + (essential.isEmpty ? "" : "; essential inputs missing: \(essential.joined(separator: ", "))")
                + "); missing: "
                + missing.map { "\($0.name) (\($0.reason))" }.joined(separator: "; ")
        case let .outsideModelPopulation(task, reason): "\(task): \(reason)"
        case .unsupportedTask(let id): "no feature extraction is defined for the task '\(id)'"
        case .modelNotSealed: "the model file has no content hash"
        case .invalidModelID: "a model id must be 1-64 characters of a-z, 0-9, '.' and '-', starting with a letter or digit"
        case .wrongModelForCarePlan(let task): "the care plan needs the type 2 diabetes model, not '\(task)'"
        case .modelOutputOutOfRange: "the model produced a value out of range; check the model file"
        }
    }
}
