import Ledger

/// The fixed facts a `Tendermint` machine works with: the chain, each validator's voting power, which
/// validator this machine is (nil for a node that only follows), the timeouts, and the machine's bounds.
public struct ConsensusConfiguration: Hashable, Sendable {
    /// The chain every message must name.
    public let chainID: ChainID
    /// Voting power of each validator, in genesis order (the order defines validator indices).
    public let powers: [UInt64]
    /// The sum of all voting power.
    public let totalPower: UInt64
    /// This validator's index, or nil when the machine follows without voting.
    public let ownIndex: Int?
    /// Base timeouts and the per-round increase, from the genesis `consensus` parameters.
    public let timeoutProposeMs: UInt64
    public let timeoutVoteMs: UInt64
    public let timeoutDeltaMs: UInt64
    /// Messages for rounds more than this far above the current round are ignored, so a peer cannot make a
    /// validator store votes for arbitrarily many rounds. Honest validators move rounds together (a round
    /// ends only with more than 2/3 taking part, or by the f+1 round skip), so they are never this far apart.
    public let maxRoundLead: UInt32
    /// At most this many messages per validator are buffered for the next height (a proposal, a prevote, a
    /// precommit and one spare); more are dropped and gossip sends them again once the height starts.
    public let nextHeightMessagesPerValidator: Int

    /// Defaults of the two bounds (docs/CONSENSUS.md, section 1).
    public static let defaultMaxRoundLead: UInt32 = 64
    public static let defaultNextHeightMessagesPerValidator = 4

    /// The configuration of validator `ownIndex` (nil to follow) for the chain `genesis` describes.
    public init(genesis: Genesis, ownIndex: Int?, maxRoundLead: UInt32 = Self.defaultMaxRoundLead,
                nextHeightMessagesPerValidator: Int = Self.defaultNextHeightMessagesPerValidator) {
        precondition(ownIndex.map { genesis.validators.indices.contains($0) } ?? true, "own index must name a genesis validator")
        precondition(maxRoundLead >= 1 && nextHeightMessagesPerValidator >= 3, "bounds too small to make progress")
        chainID = genesis.chainID
        powers = genesis.validators.map(\.power)
        totalPower = genesis.totalVotingPower
        self.ownIndex = ownIndex
        timeoutProposeMs = genesis.consensus.timeoutProposeMs
        timeoutVoteMs = genesis.consensus.timeoutVoteMs
        timeoutDeltaMs = genesis.consensus.timeoutDeltaMs
        self.maxRoundLead = maxRoundLead
        self.nextHeightMessagesPerValidator = nextHeightMessagesPerValidator
    }

    /// The number of genesis validators.
    public var validatorCount: Int { powers.count }

    /// Round-robin over the genesis order: validator (height + round) mod n proposes.
    public func proposer(height: UInt64, round: UInt32) -> Int {
        Self.proposer(height: height, round: round, validatorCount: powers.count)
    }

    /// The proposer of (height, round) among `validatorCount` validators: (height + round) mod n, computed
    /// without overflow.
    public static func proposer(height: UInt64, round: UInt32, validatorCount: Int) -> Int {
        let count = UInt64(validatorCount)
        return Int((height % count + UInt64(round) % count) % count)
    }

    /// How long to wait in `step` of `round`: the step's base timeout plus `timeoutDeltaMs` per round, so
    /// rounds slow down until messages arrive in time.
    public func timeoutDelayMs(_ step: ConsensusStep, round: UInt32) -> UInt64 {
        (step == .propose ? timeoutProposeMs : timeoutVoteMs) + timeoutDeltaMs * UInt64(round)
    }

    /// More than two thirds of the total power: the paper's 2f+1.
    public func isQuorum(_ power: UInt64) -> Bool { power * 3 > totalPower * 2 }

    /// More than one third of the total power: the paper's f+1 (at least one honest validator).
    public func isOneThird(_ power: UInt64) -> Bool { power * 3 > totalPower }
}
