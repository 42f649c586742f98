import Crypto

/// A signed request to store a record at a custodian (docs/FORMAT.md section 14). It is not a ledger
/// transaction: the custodian checks it, seals the record in its vault and commits a `RegisterRecord`
/// signed by its own node key that names the author. The signature proves the author asked, the hash binds
/// the exact resource sent, and the nonce and creation time make the request usable once, briefly.
public struct RecordSubmission: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/record-submission"
    public static let version: UInt8 = 1

    public var chainID: ChainID
    public var author: Identity
    public var patient: Identity
    public var custodian: OrganisationID
    /// SHA-256 of the resource bytes exactly as sent.
    public var resourceHash: SHA256Digest
    public var nonce: [UInt8]
    public var createdAtMs: UInt64

    public init(chainID: ChainID, author: Identity, patient: Identity, custodian: OrganisationID, resourceHash: SHA256Digest,
                nonce: [UInt8], createdAtMs: UInt64) {
        precondition(nonce.count == Transaction.nonceByteCount, "a request nonce is 16 bytes")
        self.chainID = chainID
        self.author = author
        self.patient = patient
        self.custodian = custodian
        self.resourceHash = resourceHash
        self.nonce = nonce
        self.createdAtMs = createdAtMs
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        chainID.encode(to: &encoder)
        author.encode(to: &encoder)
        patient.encode(to: &encoder)
        custodian.encode(to: &encoder)
        encoder.digest(resourceHash)
        encoder.fixed(nonce)
        encoder.u64(createdAtMs)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "record submission")
        chainID = try ChainID(from: &decoder)
        author = try Identity(from: &decoder)
        patient = try Identity(from: &decoder)
        custodian = try OrganisationID(from: &decoder)
        resourceHash = try decoder.digest("resource hash")
        nonce = try decoder.fixed(Transaction.nonceByteCount, "nonce")
        createdAtMs = try decoder.u64("created at")
    }

    /// Signs the request; the key must be the author's.
    public func signed(with key: Ed25519.PrivateKey) -> SignedRecordSubmission {
        precondition(Identity(publicKey: key.publicKey) == author, "signing key does not match the author")
        let payload = canonicalBytes
        return SignedRecordSubmission(submission: self, payload: payload, signature: key.signature(for: payload))
    }
}

/// A record submission with the author's signature: payload || 64-byte signature.
public struct SignedRecordSubmission: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public let submission: RecordSubmission
    public let payload: [UInt8]
    public let signature: [UInt8]
    /// SHA-256 of the payload: what makes the request usable once.
    public let id: SHA256Digest

    init(submission: RecordSubmission, payload: [UInt8], signature: [UInt8]) {
        self.submission = submission
        self.payload = payload
        self.signature = signature
        id = SHA256.hash(payload)
    }

    public var hasValidSignature: Bool { submission.author.verifies(signature, for: payload) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.fixed(payload)
        encoder.fixed(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let start = decoder.offset
        let submission = try RecordSubmission(from: &decoder)
        let payload = decoder.bytesRead(since: start)
        self.init(submission: submission, payload: payload, signature: try decoder.fixed(Ed25519.signatureByteCount, "signature"))
    }
}
