import Ledger

/// The votes of one type in one round, counted as the paper counts messages: each validator's power counts
/// once toward "any value", and once toward each value it voted for. An honest validator votes once; a
/// Byzantine one that equivocates has both its votes counted, which liveness needs (other validators may
/// have seen a polka that includes its vote for the block they locked) and safety allows (two quorums of
/// more than 2/3 share an honest validator, who votes once). To stay bounded, at most
/// `maxValuesPerValidator` votes of a validator are kept; later different ones are evidence only.
struct VoteTally: Hashable, Sendable {
    static let maxValuesPerValidator = 2

    /// Indexed by validator: its votes in the order received (at most two, with different values).
    private(set) var votes: [[SignedVote]]
    /// Power of all validators that voted, whatever for, each counted once.
    private(set) var anyPower: UInt64 = 0
    /// Power behind each block hash (nil: the vote for no block).
    private var powerByValue: [SHA256Digest?: UInt64] = [:]

    enum Outcome {
        /// The validator's first vote in this round and type.
        case added
        case duplicate
        /// The validator already voted differently (its first vote is given); `counted` says whether this
        /// vote was kept and counted (within the bound) or only makes evidence.
        case conflicting(SignedVote, counted: Bool)
    }

    init(validatorCount: Int) { votes = Array(repeating: [], count: validatorCount) }

    mutating func add(_ signed: SignedVote, power: UInt64) -> Outcome {
        let index = Int(signed.validatorIndex)
        let existing = votes[index]
        if existing.contains(where: { $0.vote == signed.vote }) { return .duplicate }
        let counted = existing.count < Self.maxValuesPerValidator
        if counted {
            votes[index].append(signed)
            powerByValue[signed.vote.blockHash, default: 0] += power
            if existing.isEmpty { anyPower += power }
        }
        guard let first = existing.first else { return .added }
        return .conflicting(first, counted: counted)
    }

    /// Power of the validators that voted for `blockHash` (nil: for no block).
    func power(for blockHash: SHA256Digest?) -> UInt64 { powerByValue[blockHash] ?? 0 }

    /// The votes for `blockHash`, in ascending validator order (at most one per validator).
    func votes(for blockHash: SHA256Digest?) -> [SignedVote] {
        votes.compactMap { $0.first { $0.vote.blockHash == blockHash } }
    }

    /// Every vote kept, by validator.
    var allVotes: [SignedVote] { votes.flatMap { $0 } }
}

/// A proposal the machine accepted for a round, with the caller's check of its block.
struct ReceivedProposal: Hashable, Sendable {
    let signed: SignedProposal
    let check: ProposalCheck

    var proposal: Proposal { signed.proposal }
    var block: Block { signed.block }
}

/// Everything received for one round of the current height, and the "first time" guards of the rules that
/// may fire only once per round.
struct RoundState: Hashable, Sendable {
    /// The round's proposals from its proposer: normally one; a second, different one is kept too (it may be
    /// the block others decide) and is evidence. Never more than two.
    var proposals: [ReceivedProposal] = []
    var prevotes: VoteTally
    var precommits: VoteTally
    /// Validators that sent anything for this round, and their power: the f+1 round-skip rule counts them.
    private var senders: [Bool]
    private(set) var senderPower: UInt64 = 0
    /// Rule 34 (schedule the prevote timeout) has fired.
    var prevoteTimeoutScheduled = false
    /// Rule 36 (lock or remember a polka'd valid value) has fired.
    var polkaHandled = false
    /// Rule 47 (schedule the precommit timeout) has fired.
    var precommitTimeoutScheduled = false
    /// Evidence already reported, per validator: bit 0 prevote, bit 1 precommit.
    var reportedVoteEvidence: [UInt8]
    var reportedProposalEvidence = false

    static let maxProposals = 2

    init(validatorCount: Int) {
        prevotes = VoteTally(validatorCount: validatorCount)
        precommits = VoteTally(validatorCount: validatorCount)
        senders = Array(repeating: false, count: validatorCount)
        reportedVoteEvidence = Array(repeating: 0, count: validatorCount)
    }

    /// Counts `index` as a sender of this round (once).
    mutating func noteSender(_ index: Int, power: UInt64) {
        guard !senders[index] else { return }
        senders[index] = true
        senderPower += power
    }

    func tally(_ type: VoteType) -> VoteTally { type == .prevote ? prevotes : precommits }
}
