import Ledger

/// One thing that happens to a validator's consensus: the only way its state changes. Every input is
/// appended to the write-ahead log before `Tendermint.handle(_:)` sees it (`ConsensusInput` is its record
/// encoding), so replaying the log rebuilds the state exactly (`ConsensusReplay`).
public enum ConsensusInput: Hashable, Sendable {
    /// Begin `height`, the one after the last committed block, whose block time was `previousBlockTimeMs`.
    case startHeight(height: UInt64, previousBlockTimeMs: UInt64)
    /// A proposal whose signature the caller has verified. `check` is the caller's validation of the block
    /// (`ProposalValidation`), or nil when it could not run it yet (a proposal for the next height): the
    /// machine then asks for it with `ConsensusAction.checkProposal` once that height starts.
    case proposal(SignedProposal, check: ProposalCheck?)
    /// A vote whose signature the caller has verified (including this validator's own, delivered back).
    case vote(SignedVote)
    /// A timeout the machine scheduled has expired.
    case timeout(Timeout)
    /// The block the runtime built after `ConsensusAction.buildBlock` for (height, round).
    case blockBuilt(height: UInt64, round: UInt32, block: Block)
}

/// The caller's verdict on a proposed block, recorded with the proposal in the write-ahead log so that
/// replay does not depend on the clock or the state at replay time.
public struct ProposalCheck: Hashable, Sendable {
    /// The block is a valid successor of the committed chain: header, links, proposer, Merkle root,
    /// transaction signatures and every ledger rule (the paper's `valid(v)`).
    public let isValid: Bool
    /// The block time is within `blockTimeMaxDriftMs` of the checking validator's clock. Only a fresh
    /// proposal (no valid round) needs it to be prevoted; see docs/CONSENSUS.md, "Block time".
    public let isTimely: Bool

    /// A verdict; `ProposalValidation.check` makes it.
    public init(isValid: Bool, isTimely: Bool) {
        self.isValid = isValid
        self.isTimely = isTimely
    }

    /// A block that is valid and timely.
    public static let accepted = ProposalCheck(isValid: true, isTimely: true)
}

/// A timeout the machine asks the runtime to schedule, and later receives back as an input.
public struct Timeout: Hashable, Sendable, CustomStringConvertible {
    /// The height, round and step the timeout belongs to; it acts only if the machine is still there.
    public let height: UInt64
    public let round: UInt32
    public let step: ConsensusStep

    public init(height: UInt64, round: UInt32, step: ConsensusStep) {
        self.height = height
        self.round = round
        self.step = step
    }

    public var description: String { "timeout(\(height)/\(round)/\(step))" }
}

/// What the runtime must do after an input, in order.
public enum ConsensusAction: Hashable, Sendable {
    /// Build a block for (height, round) from the mempool, with a time of at least `minimumTimeMs` (the
    /// previous block's time plus one), and hand it back as `ConsensusInput.blockBuilt`.
    case buildBlock(height: UInt64, round: UInt32, minimumTimeMs: UInt64)
    /// Sign `proposal` through the signing guard (saving the guard's state durably first), broadcast the
    /// `SignedProposal` with `block`, and deliver it back as `ConsensusInput.proposal`.
    case signProposal(Proposal, block: Block)
    /// Sign `vote` through the signing guard (saving the guard's state durably first), broadcast the
    /// `SignedVote`, and deliver it back as `ConsensusInput.vote`.
    case signVote(Vote)
    /// Validate this proposal (`ProposalValidation`) and deliver it back with its check.
    case checkProposal(SignedProposal)
    /// Deliver `ConsensusInput.timeout(timeout)` after `delayMs`.
    case scheduleTimeout(Timeout, delayMs: UInt64)
    /// The block is decided: store it with its certificate, apply it, then start the next height.
    case commit(CommittedBlock)
    /// A validator equivocated: keep and report the evidence.
    case reportEvidence(Evidence)
}
