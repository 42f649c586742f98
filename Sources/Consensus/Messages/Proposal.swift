import Ledger

/// What a proposer signs when it proposes a block for (height, round): the block's header hash, the round,
/// and the round in which the block was last seen with a polka (`validRound`, none for a fresh block).
///
/// Signing the header hash rather than the whole block keeps the signed bytes small and fixed in size, so
/// two conflicting proposals are compact evidence, and the hash covers every entry through the Merkle root.
/// The chain id and a domain tag are inside, so a proposal signature can never pass for a vote, a
/// transaction or a signature on another chain.
///
/// Encoding (docs/CONSENSUS.md): tag `healthledger/proposal`, version 1, chain id, height `u64`, round `u32`,
/// validRound `optional<u32>` (must be less than round), block hash `digest`.
public struct Proposal: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/proposal"
    public static let version: UInt8 = 1

    /// The chain, height and round proposed for.
    public var chainID: ChainID
    public var height: UInt64
    public var round: UInt32
    /// The round of the polka that made this block the proposer's valid value; nil (the paper's -1) when
    /// the block is new.
    public var validRound: UInt32?
    /// SHA-256 of the proposed block's header.
    public var blockHash: SHA256Digest

    /// A proposal; `validRound`, when given, must be earlier than `round`.
    public init(chainID: ChainID, height: UInt64, round: UInt32, validRound: UInt32?, blockHash: SHA256Digest) {
        precondition(validRound.map { $0 < round } ?? true, "a proposal's valid round is earlier than its round")
        self.chainID = chainID
        self.height = height
        self.round = round
        self.validRound = validRound
        self.blockHash = blockHash
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        chainID.encode(to: &encoder)
        encoder.u64(height)
        encoder.u32(round)
        encoder.optional(validRound) { $0.u32($1) }
        encoder.digest(blockHash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "proposal")
        chainID = try ChainID(from: &decoder)
        height = try decoder.u64("proposal height")
        round = try decoder.u32("proposal round")
        validRound = try decoder.optional("valid round") { (d) throws(DecodingError) in try d.u32("valid round") }
        if let validRound, validRound >= round {
            throw .invalidValue(field: "valid round", reason: "must be earlier than the proposal's round")
        }
        blockHash = try decoder.digest("proposal block hash")
    }
}

/// A proposal as it travels between validators: the signed `Proposal`, the proposer's validator index and
/// Ed25519 signature over the proposal's canonical bytes, and the full block.
///
/// Decoding checks that the block is the one signed (its header hash, height and chain id); whether the
/// signature verifies and the block is valid are the receiver's checks (`hasValidSignature`,
/// `ProposalValidation`).
public struct SignedProposal: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The signed part.
    public let proposal: Proposal
    /// The proposer's index in the genesis validator list.
    public let validatorIndex: UInt16
    /// The proposer's Ed25519 signature over `proposal.canonicalBytes`, and the block it names.
    public let signature: [UInt8]
    public let block: Block

    /// Wraps a signed proposal; `block` must be the one the proposal names.
    public init(proposal: Proposal, validatorIndex: UInt16, signature: [UInt8], block: Block) {
        precondition(block.header.hash == proposal.blockHash, "the block must be the one the proposal names")
        precondition(signature.count == Ed25519.signatureByteCount, "an Ed25519 signature is 64 bytes")
        self.proposal = proposal
        self.validatorIndex = validatorIndex
        self.signature = signature
        self.block = block
    }

    /// The proposal's height and round.
    public var height: UInt64 { proposal.height }
    public var round: UInt32 { proposal.round }

    /// True when `validatorIndex` names a genesis validator whose key signed the proposal.
    public func hasValidSignature(in genesis: Genesis) -> Bool { ProposalStatement(self).hasValidSignature(in: genesis) }

    /// Encoded as its `ProposalStatement` followed by the block.
    public func encode(to encoder: inout CanonicalEncoder) {
        ProposalStatement(self).encode(to: &encoder)
        block.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let statement = try ProposalStatement(from: &decoder)
        (proposal, validatorIndex, signature) = (statement.proposal, statement.validatorIndex, statement.signature)
        block = try Block(from: &decoder)
        let header = block.header
        guard header.height == proposal.height, header.chainID == proposal.chainID, header.hash == proposal.blockHash else {
            throw .invalidValue(field: "proposed block", reason: "is not the block the proposal signs")
        }
    }
}

/// A vote as it travels between validators: the `Vote` of docs/FORMAT.md section 7.1, the voter's index in
/// the genesis validator list, and its Ed25519 signature over the vote's canonical bytes. A precommit for a
/// block is exactly what a commit certificate entry holds.
public struct SignedVote: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The vote, the voter's index in the genesis validator list, and its signature over `vote.canonicalBytes`.
    public let vote: Vote
    public let validatorIndex: UInt16
    public let signature: [UInt8]

    public init(vote: Vote, validatorIndex: UInt16, signature: [UInt8]) {
        precondition(signature.count == Ed25519.signatureByteCount, "an Ed25519 signature is 64 bytes")
        self.vote = vote
        self.validatorIndex = validatorIndex
        self.signature = signature
    }

    /// True when `validatorIndex` names a genesis validator whose key signed the vote.
    public func hasValidSignature(in genesis: Genesis) -> Bool {
        genesis.validator(validatorIndex, signed: signature, over: vote.canonicalBytes)
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        vote.encode(to: &encoder)
        encoder.u16(validatorIndex)
        encoder.fixed(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        vote = try Vote(from: &decoder)
        validatorIndex = try decoder.u16("voter index")
        signature = try decoder.fixed(Ed25519.signatureByteCount, "vote signature")
    }
}

extension Genesis {
    /// True when `index` names a genesis validator whose key made `signature` over `message`.
    func validator(_ index: UInt16, signed signature: [UInt8], over message: [UInt8]) -> Bool {
        Int(index) < validators.count && validators[Int(index)].key.verifies(signature, for: message)
    }
}
