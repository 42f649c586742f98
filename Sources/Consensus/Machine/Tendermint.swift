import Ledger

/// One validator's Tendermint consensus (Buchman, Kwon, Milosevic 2018, Algorithm 1) as a value: feed it an
/// input, perform the actions it returns. It holds no clock, socket or file; the same inputs in the same
/// order always give the same state and the same actions, which is what makes write-ahead-log replay and
/// the deterministic simulator possible.
///
/// The paper's rules, by line number, map to the functions below: `startRound` (11-21), `proposalRules`
/// (22-33), `scheduleOnPrevoteQuorum` (34-35), `polkaForProposal` (36-43), `precommitNilOnNilPolka` (44-46),
/// `scheduleOnPrecommitQuorum` (47-48), `commitIfDecided` (49-54), `skipRoundIfAhead` (55-56) and
/// `timeoutFired` (57-67). Two departures, both documented in docs/CONSENSUS.md: a decided height waits
/// for the runtime's `startHeight` (the block must be durable first), and the proposer also schedules the
/// propose timeout, so a runtime that never builds the block cannot stall the round.
///
/// Bounds: messages for other heights are ignored, except a buffer of at most
/// `nextHeightMessagesPerValidator` messages per validator for the next height; rounds more than
/// `maxRoundLead` ahead are ignored; a round keeps at most two proposals, and two votes (of different
/// values) per validator and type.
public struct Tendermint: Hashable, Sendable {
    /// The chain, powers, own index, timeouts and bounds this machine works with.
    public let configuration: ConsensusConfiguration
    /// The height being decided (0 before the first `startHeight`).
    public private(set) var height: UInt64 = 0
    /// The round of the current height.
    public private(set) var round: UInt32 = 0
    /// The step within the round.
    public private(set) var step: ConsensusStep = .propose
    /// The block this validator precommitted most recently and may not abandon without a newer polka.
    public private(set) var lockedValue: Block?
    /// The round of `lockedValue`; nil is the paper's -1.
    public private(set) var lockedRound: UInt32?
    /// The most recent block seen with a polka (more than 2/3 prevotes): re-proposed when this validator
    /// proposes again.
    public private(set) var validValue: Block?
    /// The round of `validValue`'s polka; nil is the paper's -1.
    public private(set) var validRound: UInt32?
    /// The decided block of this height, once decided (the machine then waits for the next `startHeight`).
    public private(set) var decision: Block?
    /// The time of the last committed block: a new block must be later.
    public private(set) var previousBlockTimeMs: UInt64 = 0

    private var rounds: [UInt32: RoundState] = [:]
    private var nextHeightMessages: [BufferedMessage] = []
    private var nextHeightCounts: [Int]
    /// The round whose block this proposer asked the runtime to build.
    private var awaitedBlockRound: UInt32?
    private var outbox: [ConsensusAction] = []

    private enum BufferedMessage: Hashable, Sendable {
        case proposal(SignedProposal)
        case vote(SignedVote)
    }

    /// A machine before its first height; start it with `ConsensusInput.startHeight`.
    public init(configuration: ConsensusConfiguration) {
        self.configuration = configuration
        nextHeightCounts = Array(repeating: 0, count: configuration.validatorCount)
    }

    /// Handles one input and returns the actions to perform, in order.
    public mutating func handle(_ input: ConsensusInput) -> [ConsensusAction] {
        precondition(outbox.isEmpty, "actions of an earlier input were not collected")
        switch input {
        case let .startHeight(height, previousBlockTimeMs): startHeight(height, previousBlockTimeMs: previousBlockTimeMs)
        case let .proposal(signed, check): receiveProposal(signed, check: check)
        case let .vote(signed): receiveVote(signed)
        case let .timeout(timeout): timeoutFired(timeout)
        case let .blockBuilt(height, round, block): blockBuilt(block, height: height, round: round)
        }
        defer { outbox = [] }
        return outbox
    }

    /// Everything received for `round` of the current height: its proposals and votes (for gossip and tests).
    public func messages(inRound round: UInt32) -> (proposals: [SignedProposal], prevotes: [SignedVote], precommits: [SignedVote]) {
        guard let state = rounds[round] else { return ([], [], []) }
        return (state.proposals.map(\.signed), state.prevotes.allVotes, state.precommits.allVotes)
    }

    // MARK: Heights and rounds

    private mutating func startHeight(_ newHeight: UInt64, previousBlockTimeMs: UInt64) {
        guard newHeight > height else { return }
        let buffered = newHeight == height + 1 ? nextHeightMessages : []
        height = newHeight
        self.previousBlockTimeMs = previousBlockTimeMs
        (lockedValue, lockedRound, validValue, validRound, decision) = (nil, nil, nil, nil, nil)
        rounds = [:]
        nextHeightMessages = []
        nextHeightCounts = Array(repeating: 0, count: configuration.validatorCount)
        startRound(0)
        for message in buffered where decision == nil {
            switch message {
            case let .proposal(signed): receiveProposal(signed, check: nil)
            case let .vote(signed): receiveVote(signed)
            }
        }
    }

    /// The messages buffered for `newHeight`, as inputs (none unless `newHeight` is the next height). A
    /// runtime that begins a new write-ahead log for `newHeight` appends them right after its
    /// `startHeight`: replaying them as inputs rebuilds exactly what handling the buffer does.
    public func carriedInputs(into newHeight: UInt64) -> [ConsensusInput] {
        guard newHeight == height + 1 else { return [] }
        return nextHeightMessages.map {
            switch $0 {
            case let .proposal(signed): return .proposal(signed, check: nil)
            case let .vote(signed): return .vote(signed)
            }
        }
    }

    /// Lines 11-21: enter `newRound`; the proposer proposes its valid value or asks for a new block.
    private mutating func startRound(_ newRound: UInt32) {
        round = newRound
        step = .propose
        awaitedBlockRound = nil
        if let ownIndex = configuration.ownIndex, configuration.proposer(height: height, round: newRound) == ownIndex {
            if let validValue {
                propose(validValue, validRound: validRound)
            } else {
                awaitedBlockRound = newRound
                let minimumTimeMs = previousBlockTimeMs < UInt64.max ? previousBlockTimeMs + 1 : UInt64.max
                outbox.append(.buildBlock(height: height, round: newRound, minimumTimeMs: minimumTimeMs))
            }
        }
        schedule(.propose)
        evaluateCurrentRound()
    }

    private mutating func blockBuilt(_ block: Block, height builtHeight: UInt64, round builtRound: UInt32) {
        guard builtHeight == height, builtRound == round, awaitedBlockRound == builtRound, step == .propose, decision == nil,
            block.header.height == height, block.header.chainID == configuration.chainID
        else { return }
        awaitedBlockRound = nil
        propose(block, validRound: nil)
    }

    private mutating func propose(_ block: Block, validRound: UInt32?) {
        let proposal = Proposal(chainID: configuration.chainID, height: height, round: round, validRound: validRound,
                                blockHash: block.header.hash)
        outbox.append(.signProposal(proposal, block: block))
    }

    // MARK: Receiving messages

    private mutating func receiveProposal(_ signed: SignedProposal, check: ProposalCheck?) {
        let proposal = signed.proposal
        guard proposal.chainID == configuration.chainID,
            Int(signed.validatorIndex) == configuration.proposer(height: proposal.height, round: proposal.round)
        else { return }
        if proposal.height == height + 1 { return buffer(.proposal(signed), from: Int(signed.validatorIndex)) }
        guard proposal.height == height, decision == nil, isWithinRoundLead(proposal.round) else { return }
        guard let check else { return outbox.append(.checkProposal(signed)) }
        var state = rounds[proposal.round] ?? RoundState(validatorCount: configuration.validatorCount)
        if state.proposals.contains(where: { $0.proposal == proposal }) { return }
        if let first = state.proposals.first, !state.reportedProposalEvidence,
            let evidence = Evidence.proposals(ProposalStatement(first.signed), ProposalStatement(signed)) {
            state.reportedProposalEvidence = true
            outbox.append(.reportEvidence(evidence))
        }
        guard state.proposals.count < RoundState.maxProposals else { return rounds[proposal.round] = state }
        state.proposals.append(ReceivedProposal(signed: signed, check: check))
        state.noteSender(Int(signed.validatorIndex), power: configuration.powers[Int(signed.validatorIndex)])
        rounds[proposal.round] = state
        afterMessage(inRound: proposal.round)
    }

    private mutating func receiveVote(_ signed: SignedVote) {
        let vote = signed.vote
        let index = Int(signed.validatorIndex)
        guard vote.chainID == configuration.chainID, index < configuration.validatorCount else { return }
        if vote.height == height + 1 { return buffer(.vote(signed), from: index) }
        guard vote.height == height, decision == nil, isWithinRoundLead(vote.round) else { return }
        var state = rounds[vote.round] ?? RoundState(validatorCount: configuration.validatorCount)
        let power = configuration.powers[index]
        let outcome = vote.type == .prevote ? state.prevotes.add(signed, power: power) : state.precommits.add(signed, power: power)
        switch outcome {
        case .duplicate:
            return
        case let .conflicting(existing, counted):
            let bit: UInt8 = vote.type == .prevote ? 1 : 2
            if state.reportedVoteEvidence[index] & bit == 0, let evidence = Evidence.votes(existing, signed) {
                state.reportedVoteEvidence[index] |= bit
                outbox.append(.reportEvidence(evidence))
            }
            rounds[vote.round] = state
            guard counted else { return }
        case .added:
            state.noteSender(index, power: power)
            rounds[vote.round] = state
        }
        if index == configuration.ownIndex { adoptOwnVote(vote) }
        afterMessage(inRound: vote.round)
    }

    /// A vote this validator signed proves it already passed that step, even if the inputs that led to it
    /// were lost in a crash: never go back to sign that step again (the signing guard would refuse).
    private mutating func adoptOwnVote(_ vote: Vote) {
        guard vote.round == round else { return }
        let signedStep = ConsensusStep(vote.type)
        if step < signedStep {
            step = signedStep
            awaitedBlockRound = nil
        }
    }

    private func isWithinRoundLead(_ messageRound: UInt32) -> Bool {
        messageRound <= round || messageRound - round <= configuration.maxRoundLead
    }

    private mutating func buffer(_ message: BufferedMessage, from index: Int) {
        guard nextHeightCounts[index] < configuration.nextHeightMessagesPerValidator,
            !nextHeightMessages.contains(message)
        else { return }
        nextHeightCounts[index] += 1
        nextHeightMessages.append(message)
    }

    /// After a message for `messageRound`: the rules that any round's messages can enable, then the current
    /// round's rules.
    private mutating func afterMessage(inRound messageRound: UInt32) {
        commitIfDecided(messageRound)
        guard decision == nil else { return }
        if messageRound > round { skipRoundIfAhead(messageRound) }
        evaluateCurrentRound()
    }

    // MARK: Rules of any round

    /// Lines 49-54: a proposal of round r with more than 2/3 precommits for it decides the height.
    private mutating func commitIfDecided(_ decidingRound: UInt32) {
        guard decision == nil, let state = rounds[decidingRound] else { return }
        for received in state.proposals where received.check.isValid {
            let blockHash = received.proposal.blockHash
            guard configuration.isQuorum(state.precommits.power(for: blockHash)) else { continue }
            decision = received.block
            let signatures = state.precommits.votes(for: blockHash).map {
                CommitCertificate.Signature(validatorIndex: $0.validatorIndex, signature: $0.signature)
            }
            let certificate = CommitCertificate(height: height, round: decidingRound, blockHash: blockHash, signatures: signatures)
            outbox.append(.commit(CommittedBlock(block: received.block, certificate: certificate)))
            return
        }
    }

    /// Lines 55-56: when validators holding more than 1/3 of the power (at least one honest) already sent
    /// messages for a later round, this validator is behind: jump to that round.
    private mutating func skipRoundIfAhead(_ laterRound: UInt32) {
        guard laterRound > round, let state = rounds[laterRound], configuration.isOneThird(state.senderPower) else { return }
        startRound(laterRound)
    }

    // MARK: Rules of the current round

    /// Applies the current round's rules until none fires. Each fires at most once per round (it changes the
    /// step or sets a "first time" flag), so this ends.
    private mutating func evaluateCurrentRound() {
        while decision == nil {
            if proposalRules() { continue }
            if scheduleOnPrevoteQuorum() { continue }
            if polkaForProposal() { continue }
            if precommitNilOnNilPolka() { continue }
            if scheduleOnPrecommitQuorum() { continue }
            return
        }
    }

    private var currentRound: RoundState { rounds[round] ?? RoundState(validatorCount: configuration.validatorCount) }

    /// Lines 22-33: in the propose step, prevote the round's proposal if it is valid and the lock allows it;
    /// otherwise prevote nil. A fresh proposal (no valid round) must also be timely; one re-proposed with a
    /// valid round needs the polka of that round instead.
    private mutating func proposalRules() -> Bool {
        guard step == .propose else { return false }
        for received in currentRound.proposals {
            let proposal = received.proposal
            if let validRound = proposal.validRound {
                guard validRound < round,
                    configuration.isQuorum(rounds[validRound]?.prevotes.power(for: proposal.blockHash) ?? 0)
                else { continue }
                let lockAllows = (lockedRound.map { $0 <= validRound } ?? true) || lockedValue?.header.hash == proposal.blockHash
                prevote(received.check.isValid && lockAllows ? proposal.blockHash : nil)
            } else {
                let lockAllows = lockedRound == nil || lockedValue?.header.hash == proposal.blockHash
                prevote(received.check.isValid && received.check.isTimely && lockAllows ? proposal.blockHash : nil)
            }
            return true
        }
        return false
    }

    /// Lines 34-35: the first time more than 2/3 prevoted anything in this round, start the prevote timeout.
    private mutating func scheduleOnPrevoteQuorum() -> Bool {
        let state = currentRound
        guard step == .prevote, !state.prevoteTimeoutScheduled, configuration.isQuorum(state.prevotes.anyPower) else { return false }
        rounds[round, default: state].prevoteTimeoutScheduled = true
        schedule(.prevote)
        return true
    }

    /// Lines 36-43: the first time a valid proposal of this round has a polka, in prevote step or later:
    /// lock on it and precommit it (if still in prevote step), and remember it as the valid value.
    private mutating func polkaForProposal() -> Bool {
        let state = currentRound
        guard step >= .prevote, !state.polkaHandled else { return false }
        guard let received = state.proposals.first(where: {
            $0.check.isValid && configuration.isQuorum(state.prevotes.power(for: $0.proposal.blockHash))
        }) else { return false }
        rounds[round, default: state].polkaHandled = true
        if step == .prevote {
            lockedValue = received.block
            lockedRound = round
            vote(.precommit, for: received.proposal.blockHash)
            step = .precommit
        }
        validValue = received.block
        validRound = round
        return true
    }

    /// Lines 44-46: more than 2/3 prevoted nil: precommit nil.
    private mutating func precommitNilOnNilPolka() -> Bool {
        guard step == .prevote, configuration.isQuorum(currentRound.prevotes.power(for: nil)) else { return false }
        vote(.precommit, for: nil)
        step = .precommit
        return true
    }

    /// Lines 47-48: the first time more than 2/3 precommitted anything in this round, start the precommit
    /// timeout (any step).
    private mutating func scheduleOnPrecommitQuorum() -> Bool {
        let state = currentRound
        guard !state.precommitTimeoutScheduled, configuration.isQuorum(state.precommits.anyPower) else { return false }
        rounds[round, default: state].precommitTimeoutScheduled = true
        schedule(.precommit)
        return true
    }

    // MARK: Timeouts

    /// Lines 57-67.
    private mutating func timeoutFired(_ timeout: Timeout) {
        guard timeout.height == height, timeout.round == round, decision == nil else { return }
        switch timeout.step {
        case .propose:
            guard step == .propose else { return }
            awaitedBlockRound = nil
            prevote(nil)
        case .prevote:
            guard step == .prevote else { return }
            vote(.precommit, for: nil)
            step = .precommit
        case .precommit:
            guard round < UInt32.max else { return }
            startRound(round + 1)
            return
        }
        evaluateCurrentRound()
    }

    // MARK: Output

    private mutating func prevote(_ blockHash: SHA256Digest?) {
        vote(.prevote, for: blockHash)
        step = .prevote
    }

    private mutating func vote(_ type: VoteType, for blockHash: SHA256Digest?) {
        guard configuration.ownIndex != nil else { return }
        outbox.append(.signVote(Vote(chainID: configuration.chainID, type: type, height: height, round: round, blockHash: blockHash)))
    }

    private mutating func schedule(_ timeoutStep: ConsensusStep) {
        let timeout = Timeout(height: height, round: round, step: timeoutStep)
        outbox.append(.scheduleTimeout(timeout, delayMs: configuration.timeoutDelayMs(timeoutStep, round: round)))
    }
}
