import Ledger

/// Why a write-ahead log could not be replayed. Safe to print.
public enum ReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Record `index` does not decode as a consensus input.
    case undecodable(index: Int, DecodingError)
    /// The log does not begin with the `startHeight` of the height it covers.
    case missingStartHeight
    /// The log holds the start of a later height, but not the decision of this one.
    case undecided(height: UInt64)

    public var description: String {
        switch self {
        case let .undecodable(index, error): return "write-ahead log record \(index): \(error)"
        case .missingStartHeight: return "the write-ahead log does not begin with the start of a height"
        case let .undecided(height): return "the write-ahead log starts height \(height + 1) without deciding height \(height)"
        }
    }
}

/// A write-ahead log's records decoded once, for the two readers of a restarting validator's log: the
/// signing guard (`SigningGuard.recovering`) and the replay (`ConsensusReplay.resuming`).
public struct DecodedLog: Sendable {
    /// Each record's input, or why it did not decode, in the log's order.
    public let inputs: [Result<ConsensusInput, DecodingError>]

    public init(_ records: [[UInt8]]) {
        inputs = records.map { record in Result { () throws(DecodingError) in try ConsensusInput(canonicalBytes: record) } }
    }
}

/// Rebuilds a validator's consensus state after a restart from its write-ahead log: the records of one
/// height, beginning with that height's `startHeight`, decoded and handed to a fresh machine in order.
/// Because the machine is deterministic, the result equals the state before the crash. A log that holds
/// several heights is split by `resuming`, which also gives back the blocks decided before the last.
///
/// Replay also returns the actions the runtime still owes: those the log shows no follow-up for. A signature
/// request whose signed message was not delivered back yet (the crash came between signing and delivery) is
/// owed again; the signing guard then returns the same signature, since it is the same bytes at the same
/// position. A timeout that never fired is scheduled again; a block that was never built is built; a
/// commit is performed again unless the block is already stored; evidence is reported again (the runtime
/// keeps one copy). Nothing owed can conflict with a signature already given, because every signed message
/// is delivered back, and logged, before the next one is signed.
public struct ConsensusReplay: Sendable {
    /// The machine after every record: the state before the crash.
    public let machine: Tendermint
    /// The actions still to perform, in the order the machine produced them.
    public let pendingActions: [ConsensusAction]

    /// Replays `records` (the log of one height, oldest first) into a fresh machine with `configuration`.
    public static func replay(_ records: [[UInt8]], configuration: ConsensusConfiguration) throws(ReplayError) -> ConsensusReplay {
        try replay(inputs: decode(DecodedLog(records)), configuration: configuration)
    }

    /// Where a restarted validator resumes from a log that may hold several heights, each from its
    /// `startHeight` (the log is emptied only once the chain store's appends are on disk, so it keeps the
    /// heights whose blocks a power loss may have taken from the store): the blocks decided at heights above
    /// `storedHeight` before the last, which the store must get back, and the replay of the last height.
    /// Nil when the log holds no height above `storedHeight` (the validator starts the next height afresh).
    ///
    /// A height's records run to the `startHeight` of the next; records of other heights among them (left
    /// behind by an emptying that had not reached the disk) change nothing, as in a one-height log.
    public static func resuming(_ records: [[UInt8]], storedHeight: UInt64,
                                configuration: ConsensusConfiguration) throws(ReplayError) -> Resumption? {
        try resuming(DecodedLog(records), storedHeight: storedHeight, configuration: configuration)
    }

    /// `resuming(_:storedHeight:configuration:)` for records decoded already.
    public static func resuming(_ log: DecodedLog, storedHeight: UInt64,
                                configuration: ConsensusConfiguration) throws(ReplayError) -> Resumption? {
        let inputs = try decode(log)
        var heights: [[ConsensusInput]] = []
        for input in inputs {
            if case let .startHeight(height, _) = input, height == storedHeight + 1 + UInt64(heights.count) {
                heights.append([input])
            } else if !heights.isEmpty {
                heights[heights.count - 1].append(input)
            }
        }
        guard let last = heights.popLast() else { return nil }
        var decided: [CommittedBlock] = []
        for height in heights {
            let replayed = try replay(inputs: height, configuration: configuration)
            let commits = replayed.pendingActions.compactMap { action -> CommittedBlock? in
                if case let .commit(committed) = action { committed } else { nil }
            }
            guard let committed = commits.first else { throw .undecided(height: replayed.machine.height) }
            decided.append(committed)
        }
        return Resumption(decided: decided, current: try replay(inputs: last, configuration: configuration))
    }

    /// What `resuming` found in a log.
    public struct Resumption: Sendable {
        /// Blocks the log shows this validator decided, above the stored height, oldest first.
        public let decided: [CommittedBlock]
        /// The height after them, replayed.
        public let current: ConsensusReplay
    }

    /// Every input, or the first record that did not decode.
    private static func decode(_ log: DecodedLog) throws(ReplayError) -> [ConsensusInput] {
        var inputs: [ConsensusInput] = []
        inputs.reserveCapacity(log.inputs.count)
        for (index, decoded) in log.inputs.enumerated() {
            switch decoded {
            case let .success(input): inputs.append(input)
            case let .failure(error): throw .undecodable(index: index, error)
            }
        }
        return inputs
    }

    private static func replay(inputs: [ConsensusInput], configuration: ConsensusConfiguration) throws(ReplayError) -> ConsensusReplay {
        guard case .startHeight? = inputs.first else { throw .missingStartHeight }
        var machine = Tendermint(configuration: configuration)
        let actionsPerInput = inputs.map { machine.handle($0) }
        let ownIndex = configuration.ownIndex.map(UInt16.init)
        var laterFulfilments: Set<Fulfilment> = []
        var pendingPerInput: [[ConsensusAction]] = Array(repeating: [], count: inputs.count)
        for index in inputs.indices.reversed() {
            pendingPerInput[index] = actionsPerInput[index].filter {
                guard let needed = Fulfilment(owedBy: $0) else { return true }
                return !laterFulfilments.contains(needed)
            }
            laterFulfilments.formUnion(Fulfilment.settled(by: inputs[index], ownIndex: ownIndex))
        }
        let pending = pendingPerInput.joined().filter { $0.height.map { $0 == machine.height } ?? true }
        return ConsensusReplay(machine: machine, pendingActions: pending)
    }

    /// What a later input shows was done about an earlier action.
    private enum Fulfilment: Hashable {
        case built(height: UInt64, round: UInt32)
        case ownProposal(Proposal)
        case ownVote(Vote)
        case checked(SignedProposal)
        case fired(Timeout)

        init?(owedBy action: ConsensusAction) {
            switch action {
            case let .buildBlock(height, round, _): self = .built(height: height, round: round)
            case let .signProposal(proposal, _): self = .ownProposal(proposal)
            case let .signVote(vote): self = .ownVote(vote)
            case let .checkProposal(signed): self = .checked(signed)
            case let .scheduleTimeout(timeout, _): self = .fired(timeout)
            case .commit, .reportEvidence: return nil
            }
        }

        /// What `input` settles: a built block, an own message delivered back, a checked proposal, a timeout.
        static func settled(by input: ConsensusInput, ownIndex: UInt16?) -> [Fulfilment] {
            switch input {
            case let .blockBuilt(height, round, _): return [.built(height: height, round: round)]
            case let .proposal(signed, check):
                let own: [Fulfilment] = signed.validatorIndex == ownIndex ? [.ownProposal(signed.proposal)] : []
                return own + (check == nil ? [] : [.checked(signed)])
            case let .vote(signed): return signed.validatorIndex == ownIndex ? [.ownVote(signed.vote)] : []
            case let .timeout(timeout): return [.fired(timeout)]
            case .startHeight: return []
            }
        }
    }
}

extension ConsensusAction {
    /// The height an action concerns (nil for evidence, which stays relevant).
    public var height: UInt64? {
        switch self {
        case let .buildBlock(height, _, _): return height
        case let .signProposal(proposal, _): return proposal.height
        case let .signVote(vote): return vote.height
        case let .checkProposal(signed): return signed.height
        case let .scheduleTimeout(timeout, _): return timeout.height
        case let .commit(committed): return committed.height
        case .reportEvidence: return nil
        }
    }
}
