import Crypto

/// Consensus vote types.
public enum VoteType: UInt8, Sendable {
    case prevote = 1
    case precommit = 2
}

/// The bytes a validator signs when it votes (docs/FORMAT.md section 7). A commit certificate is a set
/// of precommit signatures for one block hash.
public struct Vote: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/vote"
    public static let version: UInt8 = 1

    public var chainID: ChainID
    public var type: VoteType
    public var height: UInt64
    public var round: UInt32
    /// The block voted for; nil is a vote for no block in this round.
    public var blockHash: SHA256Digest?

    public init(chainID: ChainID, type: VoteType, height: UInt64, round: UInt32, blockHash: SHA256Digest?) {
        self.chainID = chainID
        self.type = type
        self.height = height
        self.round = round
        self.blockHash = blockHash
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        chainID.encode(to: &encoder)
        encoder.u8(type.rawValue)
        encoder.u64(height)
        encoder.u32(round)
        encoder.optional(blockHash) { $0.digest($1) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "vote")
        chainID = try ChainID(from: &decoder)
        let rawType = try decoder.u8("vote type")
        guard let type = VoteType(rawValue: rawType) else { throw .invalidValue(field: "vote type", reason: "unknown type \(rawType)") }
        self.type = type
        height = try decoder.u64("height")
        round = try decoder.u32("round")
        blockHash = try decoder.optional("block hash") { (d) throws(DecodingError) in try d.digest("block hash") }
    }
}

/// Proof that validators holding more than 2/3 of the voting power precommitted a block: the round and,
/// for each signing validator (by index in the genesis validator list, ascending), its signature over the
/// precommit `Vote`. With one validator it is one signature.
public struct CommitCertificate: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public struct Signature: Hashable, Sendable {
        public let validatorIndex: UInt16
        public let signature: [UInt8]

        public init(validatorIndex: UInt16, signature: [UInt8]) {
            self.validatorIndex = validatorIndex
            self.signature = signature
        }
    }

    /// Decoding bound on the number of signatures.
    public static let maxSignatures = 1024

    public let height: UInt64
    public let round: UInt32
    public let blockHash: SHA256Digest
    public let signatures: [Signature]

    public init(height: UInt64, round: UInt32, blockHash: SHA256Digest, signatures: [Signature]) {
        precondition(signatures.map(\.validatorIndex).isStrictlyIncreasing, "certificate signatures must be in ascending validator order")
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.signatures = signatures
    }

    /// The precommit each signature must cover.
    public func vote(chainID: ChainID) -> Vote {
        Vote(chainID: chainID, type: .precommit, height: height, round: round, blockHash: blockHash)
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.u64(height)
        encoder.u32(round)
        encoder.digest(blockHash)
        encoder.list(signatures) {
            $0.u16($1.validatorIndex)
            $0.fixed($1.signature)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        height = try decoder.u64("certificate height")
        round = try decoder.u32("certificate round")
        blockHash = try decoder.digest("certificate block hash")
        signatures = try decoder.list("certificate signatures", maxCount: Self.maxSignatures) { (d) throws(DecodingError) in
            Signature(validatorIndex: try d.u16("validator index"), signature: try d.fixed(Ed25519.signatureByteCount, "signature"))
        }
        guard signatures.map(\.validatorIndex).isStrictlyIncreasing else {
            throw .invalidValue(field: "certificate signatures", reason: "validator indices must be ascending and unique")
        }
    }
}

/// A block with the certificate that committed it: the unit stored, exported and verified.
public struct CommittedBlock: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public let block: Block
    public let certificate: CommitCertificate

    public init(block: Block, certificate: CommitCertificate) {
        self.block = block
        self.certificate = certificate
    }

    public var height: UInt64 { block.header.height }

    public func encode(to encoder: inout CanonicalEncoder) {
        block.encode(to: &encoder)
        certificate.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        block = try Block(from: &decoder)
        certificate = try CommitCertificate(from: &decoder)
    }
}
