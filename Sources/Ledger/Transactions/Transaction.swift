import Crypto

/// An unsigned transaction: everything its signature covers (docs/FORMAT.md section 5).
///
/// The replay guard is the pair (nonce, createdAtMs): a transaction is accepted only in a block whose time
/// lies within [createdAtMs - maxFuture, createdAtMs + maxAge] (genesis consensus parameters), and its id
/// can be committed once. Because block time only grows, an id older than the window can never come back,
/// so checking ids inside the window is enough to enforce "once" with bounded memory.
public struct Transaction: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/tx"
    public static let version: UInt8 = 1
    public static let nonceByteCount = 16
    /// The largest encoded signed transaction accepted anywhere.
    public static let maxEncodedBytes = 16 * 1024

    public var chainID: ChainID
    public var signer: Identity
    /// 16 bytes chosen at random by the signer: two otherwise identical transactions differ.
    public var nonce: [UInt8]
    /// When the signer made it (milliseconds since the Unix epoch, the signer's clock).
    public var createdAtMs: UInt64
    public var body: TransactionBody

    public init(chainID: ChainID, signer: Identity, nonce: [UInt8], createdAtMs: UInt64, body: TransactionBody) {
        precondition(nonce.count == Self.nonceByteCount, "a transaction nonce is 16 bytes")
        self.chainID = chainID
        self.signer = signer
        self.nonce = nonce
        self.createdAtMs = createdAtMs
        self.body = body
    }

    public var kind: TransactionKind { body.kind }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        chainID.encode(to: &encoder)
        signer.encode(to: &encoder)
        encoder.fixed(nonce)
        encoder.u64(createdAtMs)
        body.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "transaction")
        chainID = try ChainID(from: &decoder)
        signer = try Identity(from: &decoder)
        nonce = try decoder.fixed(Self.nonceByteCount, "nonce")
        createdAtMs = try decoder.u64("created at")
        body = try TransactionBody(from: &decoder)
    }

    /// Signs the canonical payload. `nonce` and `createdAtMs` are inputs so that callers decide where
    /// randomness and time come from.
    public func signed(with key: Ed25519.PrivateKey) -> SignedTransaction {
        precondition(Identity(publicKey: key.publicKey) == signer, "signing key does not match the transaction's signer")
        let payload = canonicalBytes
        // Sets must be sorted and unique, windows ordered, and so on: sign only what every decoder accepts.
        precondition((try? Transaction(canonicalBytes: payload)) == self, "transaction is not in canonical form")
        return SignedTransaction(transaction: self, payload: payload, signature: key.signature(for: payload))
    }
}

/// A transaction with its signature: what the mempool, blocks and exports carry.
///
/// The id is SHA-256 of the signed payload (not of the signature), so it cannot be changed by anyone but
/// the signer. Decoding checks the structure only; `hasValidSignature` checks the signature, which the
/// node does once at admission and the verifier once per transaction.
public struct SignedTransaction: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public let transaction: Transaction
    /// The exact signed bytes (`transaction.canonicalBytes`), kept to avoid re-encoding.
    public let payload: [UInt8]
    public let signature: [UInt8]
    public let id: TransactionID

    init(transaction: Transaction, payload: [UInt8], signature: [UInt8]) {
        self.transaction = transaction
        self.payload = payload
        self.signature = signature
        id = TransactionID(digest: SHA256.hash(payload))
    }

    /// True when the signature is the signer's over the payload.
    public var hasValidSignature: Bool { transaction.signer.verifies(signature, for: payload) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.fixed(payload)
        encoder.fixed(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let start = decoder.offset
        let transaction = try Transaction(from: &decoder)
        let payloadLength = decoder.offset - start
        guard payloadLength + Ed25519.signatureByteCount <= Transaction.maxEncodedBytes else {
            throw .tooLarge(field: "transaction", limit: Transaction.maxEncodedBytes, actual: payloadLength + Ed25519.signatureByteCount)
        }
        let signature = try decoder.fixed(Ed25519.signatureByteCount, "signature")
        // The decoders accept only canonical encodings, so these bytes are exactly what the signer signed.
        self.init(transaction: transaction, payload: Array(decoder.bytesRead(since: start).dropLast(Ed25519.signatureByteCount)), signature: signature)
    }
}
