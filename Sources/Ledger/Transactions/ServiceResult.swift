import Crypto

// The `ServiceResult` transaction (docs/FORMAT.md section 4.7): why it is a second event rather than part of
// the access. A clinician's `diagnose` or `plan` request is a `RecordAccess` the clinician signs; its outcome
// is derived when it is committed, and only then may the custodian run the model. So the hash of the output
// cannot be in the request: the custodian's node commits it afterwards, in this event, before it releases
// the result. The ledger then holds, for every computed result, what was computed (model and its hash), over
// what (input hash) and what came out (output hash), never the data itself.

/// A clinical model named by its id and the SHA-256 of its model file, so a result can be tied to exactly
/// the model that produced it.
public struct ModelReference: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public var id: ModelID
    /// SHA-256 of the model file's bytes.
    public var hash: SHA256Digest

    public init(id: ModelID, hash: SHA256Digest) {
        self.id = id
        self.hash = hash
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        id.encode(to: &encoder)
        encoder.digest(hash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        id = try ModelID(from: &decoder)
        hash = try decoder.digest("model hash")
    }
}

/// A custodian's node records the result of a diagnosis or care-plan service run for a committed, allowed
/// `diagnose` or `plan` access. Signed by a validator key of the access's custodian; at most one per access,
/// committed in a later block than the access and within the replay window of it (FORMAT.md 8.3).
public struct ServiceResult: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The id of the `RecordAccess` transaction this result answers.
    public var access: TransactionID
    public var model: ModelReference
    /// SHA-256 of the service's canonical encoding of the inputs it used (opaque to the ledger).
    public var inputHash: SHA256Digest
    /// SHA-256 of the service's canonical encoding of the result it released (opaque to the ledger).
    public var outputHash: SHA256Digest

    public init(access: TransactionID, model: ModelReference, inputHash: SHA256Digest, outputHash: SHA256Digest) {
        self.access = access
        self.model = model
        self.inputHash = inputHash
        self.outputHash = outputHash
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        access.encode(to: &encoder)
        model.encode(to: &encoder)
        encoder.digest(inputHash)
        encoder.digest(outputHash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        access = try TransactionID(from: &decoder)
        model = try ModelReference(from: &decoder)
        inputHash = try decoder.digest("input hash")
        outputHash = try decoder.digest("output hash")
    }
}
