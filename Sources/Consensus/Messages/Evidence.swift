import Ledger

/// Proof that a validator equivocated: two different signed statements for one (height, round, step).
/// An honest validator never produces it (its `SigningGuard` refuses), so evidence names a faulty or
/// compromised validator, and anyone holding the genesis can check it offline (`isValid(in:)`).
///
/// The two statements are kept in a canonical order (by their signed bytes), so the same equivocation gives
/// the same evidence bytes whichever statement a node saw first.
public enum Evidence: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// Two votes of one validator, same type, height and round, for different blocks (or a block and nil).
    case conflictingVotes(SignedVote, SignedVote)
    /// Two proposals of one proposer for the same height and round that differ (block or valid round).
    case conflictingProposals(ProposalStatement, ProposalStatement)

    public static let domainTag = "healthledger/evidence"
    public static let version: UInt8 = 1

    /// Evidence from two votes, ordered canonically; nil when they are not a conflict (different voters,
    /// heights, rounds or types, or the same vote twice).
    public static func votes(_ first: SignedVote, _ second: SignedVote) -> Evidence? {
        let (a, b) = (first.vote, second.vote)
        guard first.validatorIndex == second.validatorIndex, a.chainID == b.chainID, a.type == b.type,
            a.height == b.height, a.round == b.round, a.blockHash != b.blockHash
        else { return nil }
        let ordered = first.vote.canonicalBytes.lexicographicallyPrecedes(second.vote.canonicalBytes) ? (first, second) : (second, first)
        return .conflictingVotes(ordered.0, ordered.1)
    }

    /// Evidence from two proposals, ordered canonically; nil when they are not a conflict.
    public static func proposals(_ first: ProposalStatement, _ second: ProposalStatement) -> Evidence? {
        let (a, b) = (first.proposal, second.proposal)
        guard first.validatorIndex == second.validatorIndex, a.chainID == b.chainID, a.height == b.height,
            a.round == b.round, a != b
        else { return nil }
        let ordered = a.canonicalBytes.lexicographicallyPrecedes(b.canonicalBytes) ? (first, second) : (second, first)
        return .conflictingProposals(ordered.0, ordered.1)
    }

    /// The index of the validator the evidence accuses.
    public var validatorIndex: UInt16 {
        switch self {
        case let .conflictingVotes(first, _): return first.validatorIndex
        case let .conflictingProposals(first, _): return first.validatorIndex
        }
    }

    /// The height of the equivocation.
    public var height: UInt64 {
        switch self {
        case let .conflictingVotes(first, _): return first.vote.height
        case let .conflictingProposals(first, _): return first.proposal.height
        }
    }

    /// True when both statements are signed by the accused genesis validator and really conflict.
    public func isValid(in genesis: Genesis) -> Bool {
        switch self {
        case let .conflictingVotes(first, second):
            return Evidence.votes(first, second) == self && first.vote.chainID == genesis.chainID
                && first.hasValidSignature(in: genesis) && second.hasValidSignature(in: genesis)
        case let .conflictingProposals(first, second):
            return Evidence.proposals(first, second) == self && first.proposal.chainID == genesis.chainID
                && first.hasValidSignature(in: genesis) && second.hasValidSignature(in: genesis)
        }
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        switch self {
        case let .conflictingVotes(first, second):
            encoder.u8(1)
            first.encode(to: &encoder)
            second.encode(to: &encoder)
        case let .conflictingProposals(first, second):
            encoder.u8(2)
            first.encode(to: &encoder)
            second.encode(to: &encoder)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let start = decoder.offset
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "evidence")
        let kind = try decoder.u8("evidence kind")
        let evidence: Evidence?
        switch kind {
        case 1: evidence = Evidence.votes(try SignedVote(from: &decoder), try SignedVote(from: &decoder))
        case 2: evidence = Evidence.proposals(try ProposalStatement(from: &decoder), try ProposalStatement(from: &decoder))
        default: throw .invalidValue(field: "evidence kind", reason: "unknown kind \(kind)")
        }
        guard let evidence, evidence.canonicalBytes == decoder.bytesRead(since: start) else {
            throw .invalidValue(field: "evidence", reason: "the two statements must conflict and be in canonical order")
        }
        self = evidence
    }
}

/// A signed proposal without its block: what proposal evidence keeps (the signature covers the block hash,
/// so the block itself is not needed to prove the equivocation).
public struct ProposalStatement: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The signed proposal, the proposer's index and its signature over the proposal's canonical bytes.
    public let proposal: Proposal
    public let validatorIndex: UInt16
    public let signature: [UInt8]

    public init(proposal: Proposal, validatorIndex: UInt16, signature: [UInt8]) {
        precondition(signature.count == Ed25519.signatureByteCount, "an Ed25519 signature is 64 bytes")
        self.proposal = proposal
        self.validatorIndex = validatorIndex
        self.signature = signature
    }

    /// The statement a full signed proposal makes.
    public init(_ signed: SignedProposal) {
        self.init(proposal: signed.proposal, validatorIndex: signed.validatorIndex, signature: signed.signature)
    }

    /// True when `validatorIndex` names a genesis validator whose key signed the proposal.
    public func hasValidSignature(in genesis: Genesis) -> Bool {
        genesis.validator(validatorIndex, signed: signature, over: proposal.canonicalBytes)
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        proposal.encode(to: &encoder)
        encoder.u16(validatorIndex)
        encoder.fixed(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        proposal = try Proposal(from: &decoder)
        validatorIndex = try decoder.u16("proposer index")
        signature = try decoder.fixed(Ed25519.signatureByteCount, "proposal signature")
    }
}
