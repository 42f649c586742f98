// The models that ship inside the program. Their JSON is compiled in (ShippedModelData.swift, written by
// scripts/build-models from Sources/Clinical/Models/*.json), so a node binary finds them wherever it is
// installed, and each is checked against its recorded content hash every time it is loaded.

/// A model built into the program.
public struct ShippedModel: Sendable {
    /// Short name, as on the command line: `heart`, `diabetes`.
    public let name: String
    /// Name and version, such as `heart-v1`; one id names one content hash.
    public let modelID: String
    /// SHA-256 hex of the model's canonical JSON, recorded when it was built.
    public let contentHash: String
    /// The model file, byte for byte as in Sources/Clinical/Models/<modelID>.json.
    public let json: String

    init(name: String, modelID: String, contentHash: String, json: String) {
        self.name = name; self.modelID = modelID; self.contentHash = contentHash; self.json = json
    }
}

/// Why a shipped model could not be loaded.
public enum ShippedModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No shipped model has this name or id.
    case unknownModel(String)
    /// The embedded file does not decode, or fails its own checks (a build that went wrong).
    case invalid(modelID: String, reason: String)
    /// The file decodes and is self-consistent, but is not the model recorded under this id.
    case notTheRecordedModel(modelID: String, recordedHash: String, foundHash: String)

    public var description: String {
        switch self {
        case let .unknownModel(name):
            return "no shipped model named '\(name.prefix(80))' (shipped: \(ShippedModels.names.joined(separator: ", ")))"
        case let .invalid(modelID, reason): return "shipped model \(modelID) is invalid: \(reason)"
        case let .notTheRecordedModel(modelID, recordedHash, foundHash):
            return "shipped model \(modelID) has content hash \(foundHash), expected \(recordedHash)"
        }
    }
}

/// The catalogue of shipped models.
public enum ShippedModels {
    /// Every shipped model, in catalogue order.
    public static var all: [ShippedModel] { entries }

    /// Short names of the shipped models (`heart`, `diabetes`).
    public static var names: [String] { entries.map(\.name) }

    /// The shipped model with this short name or model id, nil if none.
    public static func model(named name: String) -> ShippedModel? {
        entries.first { $0.name == name || $0.modelID == name }
    }

    /// Decodes the shipped model `name` (short name or model id) and checks its content hash twice: against its
    /// own canonical JSON and against the hash recorded in the catalogue. `hash` is SHA-256 hex (from the caller).
    public static func load(named name: String, hash: ([UInt8]) -> String) throws(ShippedModelError) -> ClinicalModelFile {
        guard let shipped = model(named: name) else { throw .unknownModel(name) }
        return try load(shipped, hash: hash)
    }

    static func load(_ shipped: ShippedModel, hash: ([UInt8]) -> String) throws(ShippedModelError) -> ClinicalModelFile {
        let file: ClinicalModelFile
        do {
            file = try ClinicalModelFile.decode(Array(shipped.json.utf8), hash: hash)
        } catch let error as ClinicalModelError {
            throw .invalid(modelID: shipped.modelID, reason: error.description)
        } catch {
            throw .invalid(modelID: shipped.modelID, reason: "not a model file")
        }
        guard file.modelID == shipped.modelID else {
            throw .invalid(modelID: shipped.modelID, reason: "the file names itself \(file.modelID)")
        }
        let found = file.contentHash ?? ""
        guard found == shipped.contentHash else {
            throw .notTheRecordedModel(modelID: shipped.modelID, recordedHash: shipped.contentHash, foundHash: found)
        }
        return file
    }
}
