// How results name the model they came from.

/// The model a result came from: its id and the content hash of its file.
public struct ModelReference: Sendable, Equatable {
    /// The model id, such as `heart-v1` (`ClinicalModelFile.isValidModelID`).
    public let id: String
    /// The model file's content hash (`ClinicalModelFile.contentHash`).
    public let contentHash: String

    /// Checks the id's form.
    public init(id: String, contentHash: String) throws(ClinicalServiceError) {
        guard ClinicalModelFile.isValidModelID(id) else { throw .invalidModelID }
        self.id = id
        self.contentHash = contentHash
    }
}
