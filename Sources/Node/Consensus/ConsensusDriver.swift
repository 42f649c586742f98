import Consensus
import Crypto
import Foundation
import Ledger
import Storage
import Threads

/// Where the consensus thread is, for the peer readers (which drop messages for other heights before
/// verifying them) and for the status route.
final class ConsensusProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var state = (height: UInt64(0), round: UInt32(0), step: "propose", halted: String?.none)

    var height: UInt64 { lock.withLock { state.height } }
    /// The step is `propose`, `prevote`, `precommit`, or `commit` once the height is decided.
    var snapshot: (height: UInt64, round: UInt32, step: String, halted: String?) { lock.withLock { state } }

    func update(height: UInt64, round: UInt32, step: String) {
        lock.withLock { (state.height, state.round, state.step) = (height, round, step) }
    }

    func halt(_ reason: String) { lock.withLock { state.halted = reason } }
}

/// How the driver reaches the other validators (the peer network, or a test double).
protocol ConsensusSender: Sendable {
    /// Queues `payload` for every other validator.
    func broadcast(_ payload: [UInt8])
    /// Queues `payload` for the validator at genesis index `validator`.
    func send(_ payload: [UInt8], toValidator validator: Int)
}

/// The one thread that owns this validator's `Tendermint` machine and performs what it asks
/// (docs/CONSENSUS.md, "The node runtime").
///
/// - Inputs: verified proposals and votes from the peer readers, timeouts, transactions arriving in the
///   mempool, blocks fetched by catch-up, all through the bounded `ConsensusInbox`. Each input is appended to
///   the write-ahead log before the machine handles it.
/// - Signatures: the `SigningGuard` decides; the signed proposal or vote is logged like any input, and
///   leaves only once the log is synced (one sync for the proposal and the prevote that follows it). The
///   same sync keeps every input before a precommit, so a restarted validator remembers its lock, and
///   its guard, rebuilt from the log, what it signed.
/// - Commits: the block is appended to the chain store (one transaction, synced as `DurableAppendSchedule`
///   says), the log is reset once every stored block is on disk, then the commit tracker wakes the requests
///   waiting for the block.
/// - Heights: the next height starts at once when transactions wait, when a peer's message for it arrives,
///   or after the genesis `blockIntervalMs` (an idle consortium commits an empty block at that interval).
/// - Restart: blocks the log shows decided that the chain store lost are stored again, the log of the
///   unfinished height is replayed (`ConsensusReplay.resuming`) and what it still owed is done.
/// - Catch-up: a validator that learns that a peer committed more asks it for the blocks, checks each
///   (`SyncedBlockCheck`) and appends them, then rejoins consensus at the new head.
final class ConsensusDriver: @unchecked Sendable {
    private let service: NodeService
    private let genesis: Genesis
    private let configuration: ConsensusConfiguration
    private let ownIndex: Int
    private let durableAppends: DurableAppendSchedule
    private let settings: ConsensusSettings
    private let inbox: ConsensusInbox
    private let progress: ConsensusProgress
    private let writeAheadLog: WriteAheadLog
    private var signingGuard: SigningGuard
    /// The log found at start, decoded once for the signing guard and the replay (emptied after `recover`).
    private var recoveredLog: DecodedLog
    /// This validator's signed proposals and votes, logged but not sent yet: they leave together once the
    /// log is synced (`sendSigned`).
    private var unsent: [[UInt8]] = []
    private var machine: Tendermint
    private let evidence: EvidenceStore
    private let directory: PeerDirectory
    private let verified: VerifiedSignatures
    /// Peer votes that can no longer change anything (this validator's own are recorded there as it signs them).
    private let lateVotes: LateVotes
    private let gossipAdmission: GossipAdmission
    private let sender: any ConsensusSender
    /// State changes of the blocks this node built or checked, so committing one does not execute it again.
    private var knownChanges: [SHA256Digest: StateChanges] = [:]
    /// Records appended to the log since it was last reset.
    private var recordsSinceReset = 0
    /// How long building or checking each block of this height took (milliseconds), for the commit log line.
    private var preparationMs: [SHA256Digest: Double] = [:]
    /// When the current height started (monotonic), and when it reached each milestone (milliseconds after
    /// the start), for the commit log line: where the time of a height goes.
    private var heightStartedAt = DispatchTime.now()
    private var milestonesMs: [String: Double] = [:]
    /// Proposals of the current height already handed to the machine with a check.
    private var checkedProposals: Set<Proposal> = []
    /// The height waiting to start (after a commit, until transactions or a peer's message arrive).
    private var awaitingStart: UInt64?
    private var syncInFlight: (validator: Int, fromHeight: UInt64, deadlineNs: UInt64)?
    private var syncAttempts = 0
    /// The height a catch-up check is armed for.
    private var catchUpArmedFor: UInt64?
    /// The oldest mempool transactions at the previous gossip tick: those still there a tick later are sent
    /// to the peers again.
    private var oldestWaiting: Set<TransactionID> = []
    /// At most this many transactions are sent again per gossip tick.
    static let regossipLimit = 500
    /// The committed height at the previous gossip tick, when a peer was already ahead of it.
    private var behindAtHeight: UInt64?
    private var haltReason: String?
    private let finished = DispatchSemaphore(value: 0)
    private let lifecycle = NSLock()
    private var running = false

    init(service: NodeService, ownIndex: Int, settings: ConsensusSettings, inbox: ConsensusInbox, progress: ConsensusProgress,
         writeAheadLog: WriteAheadLog,
         savedSignerState: LastSigned?, evidence: EvidenceStore, directory: PeerDirectory, verified: VerifiedSignatures,
         lateVotes: LateVotes, gossip: GossipAdmission, sender: any ConsensusSender) throws(NodeError) {
        self.service = service
        genesis = service.genesis
        self.ownIndex = ownIndex
        durableAppends = DurableAppendSchedule(interval: settings.heightsPerDurableAppend, ownIndex: ownIndex,
                                               validatorCount: service.genesis.validators.count)
        self.settings = settings
        configuration = ConsensusConfiguration(genesis: service.genesis, ownIndex: ownIndex)
        self.inbox = inbox
        self.progress = progress
        self.writeAheadLog = writeAheadLog
        self.evidence = evidence
        self.directory = directory
        self.verified = verified
        self.lateVotes = lateVotes
        gossipAdmission = gossip
        self.sender = sender
        machine = Tendermint(configuration: configuration)
        let head = service.store.headHeight
        // The log records what this validator signed for the heights it holds. Begun anew while the chain
        // has blocks, it was deleted or moved away: the next height's signatures are unknown, so none is made there.
        let logLost = writeAheadLog.wasCreated && head > 0
        recoveredLog = DecodedLog(writeAheadLog.recovered)
        writeAheadLog.releaseRecovered()
        signingGuard = SigningGuard.recovering(log: recoveredLog, ownIndex: UInt16(ownIndex), saved: savedSignerState,
                                               committedHeight: logLost ? head + 1 : head)
        if logLost {
            service.log.error("consensus.log.missing", ["path": writeAheadLog.path, "notSigningAtHeight": head + 1])
        }
    }

    // MARK: Lifecycle

    /// Starts the consensus thread: it recovers the height in progress, then handles inputs until `stop()`.
    func start() {
        lifecycle.withLock { running = true }
        Thread(named: "consensus", stackBytes: 4 << 20) { [self] in
            recover()
            while haltReason == nil, let item = inbox.next(idle: hasIdleWork) { handle(item) }
            finished.signal()
        }.start()
    }

    /// Stops the thread after the input it is handling; nothing is half done (every step is durable first).
    func stop() {
        let wasRunning = lifecycle.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        inbox.post(.stop)
        finished.wait()
    }

    private var store: ChainStore { service.store }
    private var head: ChainHead { ChainHead(height: store.headHeight, hash: store.headHash, timeMs: store.headTimeMs) }

    /// Resumes from the write-ahead log: stores again the blocks it shows decided that the chain store lost
    /// (appends not yet on disk when the machine stopped), then resumes the height in progress, or starts the
    /// next height when the log holds none above the store.
    private func recover() {
        directory.setOwnHeight(store.headHeight)
        inbox.schedule(.gossip, afterMs: settings.gossipIntervalMs)
        let recordCount = recoveredLog.inputs.count
        let resumption: ConsensusReplay.Resumption
        do {
            defer { recoveredLog = DecodedLog([]) }
            guard let found = try ConsensusReplay.resuming(recoveredLog, storedHeight: store.headHeight, configuration: configuration) else {
                return beginHeight(store.headHeight + 1)
            }
            resumption = found
        } catch {
            // The signing guard, rebuilt from the same records, still refuses whatever they show signed.
            service.log.error("consensus.replay_failed", ["error": error.description, "height": store.headHeight + 1])
            return beginHeight(store.headHeight + 1)
        }
        do {
            // What a process crash left in the log may not be on disk yet: sync it before any of it is sent again.
            try writeAheadLog.sync()
        } catch {
            return halt("cannot sync the consensus log: \(error)")
        }
        for committed in resumption.decided {
            guard restore(committed) else { return }
        }
        let replay = resumption.current
        machine = replay.machine
        service.log.info("consensus.replayed", ["height": machine.height, "round": machine.round, "records": recordCount,
                                                "pending": replay.pendingActions.count, "restored": resumption.decided.count])
        publishProgress()
        resendOwnMessages(rounds: 0...machine.round)
        perform(replay.pendingActions)
    }

    /// Stores, durably, a block this validator decided before it stopped, which the chain store lost. False
    /// (and halted) when it cannot.
    private func restore(_ committed: CommittedBlock) -> Bool {
        let started = DispatchTime.now()
        do {
            try store.append(committed, changes: service.executor.execute(committed.block, state: store.writerView))
        } catch {
            halt("cannot store block \(committed.height) again from the consensus log: \(error)")
            return false
        }
        afterCommit(committed, startedAt: started, source: "log")
        return true
    }

    // MARK: Inputs

    private func handle(_ item: ConsensusInbox.Item) {
        switch item {
        case let .event(.proposal(signed)): receive(signed)
        case let .event(.vote(signed)): receive(signed)
        case let .event(.syncedBlocks(blocks, validator)): applySynced(blocks, from: validator)
        case .event(.transactionsArrived):
            if let next = awaitingStart, service.mempool.count > 0 { beginHeight(next) }
        case .event(.peersAhead): noticeIfOthersDecided()
        case .event(.stop): break
        case let .timer(.consensus(timeout)): input(.timeout(timeout))
        case let .timer(.startHeight(height)): if awaitingStart == height { beginHeight(height) }
        case .timer(.gossip): gossip()
        case .idle: gossipAdmission.admitWaiting(limit: 1)
        case let .timer(.catchUp(height)):
            catchUpArmedFor = nil
            if machine.height == height, machine.decision == nil, store.headHeight < height { requestBlocks() }
        }
        publishProgress()
    }

    /// While nothing else is due, the consensus thread admits the gossiped transactions still waiting for
    /// the low-priority workers, one at a time (an input waits at most one verification): the next proposer
    /// then builds its block without admitting them first (`buildBlock`), and the others find the next
    /// proposal's transactions verified, where their peer readers would otherwise verify them before handing
    /// the proposal on. Both are on the height's critical path (docs/PERFORMANCE.md, ninth session).
    private var hasIdleWork: Bool { machine.decision == nil && gossipAdmission.waiting > 0 }

    private func receive(_ signed: SignedVote) {
        startIfAwaiting(signed.vote.height)
        if signed.vote.height > machine.height { noticeIfOthersDecided() }
        guard signed.vote.height == machine.height || signed.vote.height == machine.height + 1 else { return }
        input(.vote(signed))
    }

    private func receive(_ signed: SignedProposal) {
        startIfAwaiting(signed.height)
        if signed.height > machine.height { noticeIfOthersDecided() }
        guard signed.height == machine.height || signed.height == machine.height + 1 else { return }
        let checkable = signed.height == machine.height && machine.decision == nil
        guard !checkable || checkedProposals.insert(signed.proposal).inserted else { return }
        if checkable { mark("proposal_ms") }
        input(.proposal(signed, check: checkable ? check(signed) : nil))
    }

    /// When validators with more than 1/3 of the power (at least one honest) signed at a later height, they
    /// committed the height this node is still deciding. Normally it decides a moment later from the votes
    /// it has; if it has not after `catchUpDelayMs` (it missed messages while it lagged), it fetches the
    /// block rather than wait for the gossip interval.
    private func noticeIfOthersDecided() {
        guard machine.decision == nil, catchUpArmedFor != machine.height,
            configuration.isOneThird(directory.powerCommitted(atLeast: machine.height))
        else { return }
        catchUpArmedFor = machine.height
        inbox.schedule(.catchUp(machine.height), afterMs: Self.catchUpDelayMs)
    }

    /// How long a validator that saw more than 1/3 move on waits for its own decision before fetching it.
    static let catchUpDelayMs: UInt64 = 100

    /// A peer's message for the height this node waits to start: the peer started it, so start it too.
    private func startIfAwaiting(_ height: UInt64) {
        if let next = awaitingStart, height == next { beginHeight(next) }
    }

    /// Logs `consensusInput`, then hands it to the machine and performs what it asks. `signedHere` is the
    /// message of this validator's own proposal or vote that the input delivers back: it waits in `unsent`
    /// for the log to be synced.
    private func input(_ consensusInput: ConsensusInput, signedHere message: [UInt8]? = nil) {
        guard haltReason == nil else { return }
        do {
            try writeAheadLog.append(consensusInput.canonicalBytes, sync: false)
            recordsSinceReset += 1
        } catch {
            return halt("cannot append to the consensus log: \(error)")
        }
        if let message { unsent.append(message) }
        perform(machine.handle(consensusInput))
    }

    private func perform(_ actions: [ConsensusAction]) {
        for action in actions {
            guard haltReason == nil else { return }
            switch action {
            case let .buildBlock(height, round, minimumTimeMs):
                input(.blockBuilt(height: height, round: round, block: buildBlock(height: height, minimumTimeMs: minimumTimeMs)))
            case let .signProposal(proposal, block): sign(proposal, block: block)
            case let .signVote(vote): sign(vote)
            case let .checkProposal(signed):
                guard checkedProposals.insert(signed.proposal).inserted else { continue }
                input(.proposal(signed, check: check(signed)))
            case let .scheduleTimeout(timeout, delayMs): inbox.schedule(.consensus(timeout), afterMs: delayMs)
            case let .commit(committed): commit(committed)
            case let .reportEvidence(found): record(found)
            }
        }
    }

    // MARK: Heights

    /// Starts `height` in the log (emptied first when every stored block is on disk): its `startHeight`, then
    /// the next-height messages the machine had buffered, so that a replay rebuilds them.
    private func beginHeight(_ height: UInt64) {
        guard haltReason == nil, height == store.headHeight + 1, machine.height < height else { return }
        awaitingStart = nil
        inbox.awaitTransactions(false)
        inbox.cancel(.startHeight(height))
        inbox.cancelTimers(below: height)
        let start = ConsensusInput.startHeight(height: height, previousBlockTimeMs: store.headTimeMs)
        let carried = machine.carriedInputs(into: height)
        do {
            try resetLog()
            try writeAheadLog.append(start.canonicalBytes, sync: false)
            for carriedInput in carried { try writeAheadLog.append(carriedInput.canonicalBytes, sync: false) }
            recordsSinceReset = 1 + carried.count
        } catch {
            return halt("cannot write the consensus log: \(error)")
        }
        checkedProposals = []
        preparationMs = [:]
        heightStartedAt = DispatchTime.now()
        milestonesMs = [:]
        knownChanges = knownChanges.filter { $0.value.height >= height }
        perform(machine.handle(start))
        fetchIfOthersCommitted(height)
    }

    /// Validators with more than 1/3 of the power (at least one honest) already signed beyond `height`, so
    /// they committed it while this node was two heights behind. When this node holds no proposal for it,
    /// their messages for it were dropped then (only the next height's are kept), and waiting for them to
    /// be sent again would stall every validator when this one proposes next: fetch the block now.
    private func fetchIfOthersCommitted(_ height: UInt64) {
        guard machine.height == height, machine.decision == nil, machine.messages(inRound: machine.round).proposals.isEmpty,
            configuration.isOneThird(directory.powerCommitted(atLeast: height))
        else { return }
        requestBlocks()
    }

    /// After a commit: the next height starts at once when transactions wait, otherwise when one arrives, a
    /// peer starts it, or `blockIntervalMs` passes.
    private func awaitNextHeight(_ height: UInt64) {
        inbox.awaitTransactions(true)
        if service.mempool.count > 0 { return beginHeight(height) }
        awaitingStart = height
        inbox.schedule(.startHeight(height), afterMs: genesis.consensus.blockIntervalMs)
    }

    /// Empties the log, unless it is empty already or holds a height whose block may not be on disk in the
    /// chain store yet (the truncation reaches the disk with the next sync).
    private func resetLog() throws(StorageError) {
        guard recordsSinceReset > 0, store.durableHeight >= store.headHeight else { return }
        try writeAheadLog.reset()
        recordsSinceReset = 0
    }

    /// A block for (height, round) from the mempool (`BlockExecutor.propose`), at max(previous + 1, now).
    /// When the block would not be full, gossiped transactions still waiting for a worker are admitted
    /// first (at most `waitingGossipLimit`). Transactions that can no longer commit are dropped from the
    /// mempool and their waiters told why.
    private func buildBlock(height: UInt64, minimumTimeMs: UInt64) -> Block {
        let started = DispatchTime.now()
        let maxEntries = Int(genesis.consensus.blockMaxEntries)
        gossipAdmission.admitWaiting(limit: min(Self.waitingGossipLimit, maxEntries - service.mempool.count))
        let timeMs = max(service.clock.nowMs(), minimumTimeMs)
        let candidates = service.mempool.peek(maxEntries)
        var entries: [BlockEntry] = []
        var changes = StateChanges(height: height, blockTimeMs: timeMs)
        do {
            let proposal = try service.executor.propose(candidates, height: height, blockTimeMs: timeMs, state: store.writerView)
            (entries, changes) = (proposal.entries, proposal.changes)
            let refused = proposal.rejected.map { ($0.0.id, $0.1) }
            if !refused.isEmpty {
                // Remembered before they leave the mempool, so a waiter always finds them (NodeService.status).
                service.tracker.remember(refused: refused)
                service.removeFromMempool(Set(refused.map(\.0)))
                for (id, reason) in refused {
                    service.log.info("transaction.refused_in_block", ["id": id.hex, "reason": String(describing: reason)])
                }
            }
        } catch {
            service.log.error("consensus.build_failed", ["height": height, "error": String(describing: error)])
        }
        let block = Block(entries: entries, height: height, timeMs: timeMs, previousHash: store.headHash,
                          proposer: service.identity, genesis: genesis)
        knownChanges[block.header.hash] = changes
        preparationMs[block.header.hash] = Self.milliseconds(since: started)
        return block
    }

    /// At most this many waiting gossiped transactions are admitted before building a block (about 2 ms of
    /// verification on two idle cores; a block that would be full does not wait for any).
    static let waitingGossipLimit = 32

    /// `ProposalValidation` against the committed head and consent state, at this node's clock. Transaction
    /// signatures the peer reader (or admission) verified are not verified again.
    private func check(_ signed: SignedProposal) -> ProposalCheck {
        let started = DispatchTime.now()
        defer { preparationMs[signed.proposal.blockHash] = Self.milliseconds(since: started) }
        let entries = signed.block.entries
        let result = ProposalValidation.checkExecuting(signed, genesis: genesis, head: head, state: store.writerView,
                                                       nowMs: service.clock.nowMs(), isVerifiedTransaction: verified.lookup(for: entries))
        if let changes = result.changes { knownChanges[signed.proposal.blockHash] = changes }
        if let rejection = result.rejection {
            service.metrics.increment("healthledger_consensus_proposals_refused_total", labels: "reason=\"invalid\"")
            service.log.error("consensus.proposal.invalid", ["height": signed.height, "round": signed.round,
                                                             "proposer": Int(signed.validatorIndex), "reason": rejection.description])
        } else {
            for entry in entries { verified.insert(entry.transaction) }
            if !result.check.isTimely && signed.proposal.validRound == nil {
                service.metrics.increment("healthledger_consensus_proposals_refused_total", labels: "reason=\"untimely\"")
                service.log.info("consensus.proposal.untimely", ["height": signed.height, "round": signed.round,
                                                                 "blockTimeMs": signed.block.header.timeMs, "nowMs": service.clock.nowMs()])
            }
        }
        return result.check
    }

    // MARK: Signing

    /// Signs through the guard; nil when it refuses. The signature leaves only inside a message that was
    /// logged first (`input(_:signedHere:)`) and only after the log is synced (`sendSigned`): a restarted
    /// validator finds it there, and its guard refuses to sign anything different at that position.
    private func signature(_ bytes: () throws(SigningRefusal) -> SigningGuard.Signature) -> [UInt8]? {
        do {
            return try bytes().signature
        } catch {
            service.log.error("consensus.sign.refused", ["reason": error.description])
            return nil
        }
    }

    /// Syncs the log, then sends the signed messages waiting in `unsent`, in the order they were signed.
    private func sendSigned() {
        guard haltReason == nil, !unsent.isEmpty else { return }
        do {
            try writeAheadLog.sync()
        } catch {
            return halt("cannot sync the consensus log: \(error)")
        }
        for message in unsent { sender.broadcast(message) }
        unsent = []
    }

    /// The proposal waits for the prevote the machine asks for as soon as it has it, and the two leave after
    /// one sync.
    private func sign(_ proposal: Proposal, block: Block) {
        let key = service.nodeKey
        guard let signature = signature({ () throws(SigningRefusal) in
            try signingGuard.sign(proposal: proposal) { key.signature(for: $0) }
        }) else { return }
        let signed = SignedProposal(proposal: proposal, validatorIndex: UInt16(ownIndex), signature: signature, block: block)
        mark("proposed_ms")
        checkedProposals.insert(proposal)
        let isTimely = ProposalValidation.isTimely(block.header.timeMs, nowMs: service.clock.nowMs(), genesis: genesis)
        input(.proposal(signed, check: ProposalCheck(isValid: true, isTimely: isTimely)), signedHere: PeerMessage.proposal(signed).canonicalBytes)
        sendSigned()
        sendProofOfLock(for: proposal)
    }

    private func sign(_ vote: Vote) {
        let key = service.nodeKey
        guard let signature = signature({ () throws(SigningRefusal) in
            try signingGuard.sign(vote: vote) { key.signature(for: $0) }
        }) else { return }
        let signed = SignedVote(vote: vote, validatorIndex: UInt16(ownIndex), signature: signature)
        lateVotes.record(vote, by: ownIndex, currentHeight: vote.height, own: true)
        mark(vote.type == .prevote ? "prevoted_ms" : "precommitted_ms")
        input(.vote(signed), signedHere: PeerMessage.vote(signed).canonicalBytes)
        sendSigned()
    }

    /// A re-proposal is prevoted only by validators that know the polka of its valid round: send it along.
    private func sendProofOfLock(for proposal: Proposal) {
        guard let validRound = proposal.validRound else { return }
        for vote in machine.messages(inRound: validRound).prevotes where vote.vote.blockHash == proposal.blockHash {
            sender.broadcast(PeerMessage.vote(vote).canonicalBytes)
        }
    }

    /// Sends this node's own proposals and votes of `rounds` of the current height again.
    private func resendOwnMessages(rounds: ClosedRange<UInt32>) {
        for round in rounds {
            let messages = machine.messages(inRound: round)
            for proposal in messages.proposals where Int(proposal.validatorIndex) == ownIndex {
                sender.broadcast(PeerMessage.proposal(proposal).canonicalBytes)
                sendProofOfLock(for: proposal.proposal)
            }
            for vote in messages.prevotes + messages.precommits where Int(vote.validatorIndex) == ownIndex {
                sender.broadcast(PeerMessage.vote(vote).canonicalBytes)
            }
        }
    }

    // MARK: Commits

    /// The log's size at which a decided block's append is made durable whatever the height.
    static let logBytesForDurableAppend = 32 << 20

    /// Whether the append of the block decided at `height` is made durable (`synchronous=FULL`, a sync): as
    /// `durableAppends` schedules, or once the log reaches `logBytesForDurableAppend`. The others only reach
    /// the operating system (NORMAL).
    private func needsDurableAppend(at height: UInt64) -> Bool {
        durableAppends.isDurable(height, durableHeight: store.durableHeight) || writeAheadLog.byteCount >= Self.logBytesForDurableAppend
    }

    /// Appends the decided block (durably once every `heightsPerDurableAppend` heights), resets the log when
    /// every stored block is on disk, wakes the waiters, and moves on.
    private func commit(_ committed: CommittedBlock) {
        let height = committed.height
        if height <= store.headHeight {
            // A decision replayed from the log after the block was stored: it must be the stored block.
            let stored = try? store.storedBlock(at: height)
            guard stored?.hash == committed.block.header.hash else {
                return halt("decided block \(committed.block.header.hash.hex) at height \(height), but another block is stored there")
            }
        } else {
            let started = DispatchTime.now()
            do {
                let changes = try knownChanges[committed.block.header.hash]
                    ?? service.executor.execute(committed.block, state: store.writerView)
                try store.append(committed, changes: changes, durable: needsDurableAppend(at: height))
            } catch {
                return halt("cannot commit block \(height): \(error)")
            }
            milestonesMs["append_ms"] = Self.milliseconds(since: started)
            do {
                try resetLog()
            } catch {
                return halt("cannot reset the consensus log: \(error)")
            }
            var timings = milestonesMs
            timings["prepare_ms"] = preparationMs[committed.block.header.hash] ?? 0
            timings["decided_ms"] = Self.milliseconds(since: heightStartedAt) - Self.milliseconds(since: started)
            timings["height_ms"] = Self.milliseconds(since: heightStartedAt)
            timings["commit_ms"] = Self.milliseconds(since: started)
            afterCommit(committed, startedAt: started, source: "consensus", timings: timings)
            announceToNextProposer(after: height)
        }
        awaitNextHeight(height + 1)
    }

    /// What follows a durable block, however it was decided: the mempool, the waiters, metrics and log.
    private func afterCommit(_ committed: CommittedBlock, startedAt started: DispatchTime, source: String, timings: [String: Double] = [:]) {
        let entries = committed.block.entries
        // After the durable append: a transaction leaving the mempool is already in the store (NodeService.status).
        service.removeFromMempool(Set(entries.map(\.transaction.id)), committedIn: committed.block)
        directory.setOwnHeight(committed.height)
        let metrics = service.metrics
        metrics.increment("healthledger_blocks_committed_total")
        metrics.increment("healthledger_transactions_committed_total", by: Double(entries.count))
        for outcome in entries.compactMap(\.outcome) {
            metrics.increment("healthledger_accesses_total", labels: "decision=\"\(outcome.isAllowed ? "allowed" : "denied")\"")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        metrics.set("healthledger_chain_height", Double(committed.height))
        metrics.set("healthledger_block_commit_seconds_last", seconds)
        metrics.set("healthledger_mempool_transactions", Double(service.mempool.count))
        var fields: [String: any Sendable] = ["height": committed.height, "entries": entries.count, "hash": committed.block.header.hash.hex,
                                              "round": Int(committed.certificate.round), "signatures": committed.certificate.signatures.count,
                                              "source": source]
        for (name, value) in timings { fields[name] = (value * 100).rounded() / 100 }
        service.log.info("block.committed", fields)
    }

    private func record(_ found: Evidence) {
        let isNew: Bool
        do {
            isNew = try evidence.add(found)
        } catch {
            service.log.error("consensus.evidence.unsaved", ["error": error.description])
            isNew = true
        }
        guard isNew else { return }
        let index = Int(found.validatorIndex)
        service.metrics.increment("healthledger_consensus_evidence_total")
        service.log.error("consensus.evidence", ["validator": genesis.validators[index].name, "validatorIndex": index,
                                                 "height": found.height, "kind": EvidenceJSON.kind(found)])
    }

    // MARK: Gossip and catch-up

    /// Every gossip interval: this node's messages of the current height again (the network may have lost
    /// them), its head and API URL, and a sync request when a peer committed more and consensus did not
    /// bring this node there by itself.
    private func gossip() {
        inbox.schedule(.gossip, afterMs: settings.gossipIntervalMs)
        resendOwnMessages(rounds: (machine.round > 0 ? machine.round - 1 : 0)...machine.round)
        announce()
        regossipWaitingTransactions()
        let committed = store.headHeight
        guard let ahead = directory.peerAhead(of: committed) else { return behindAtHeight = nil }
        if ahead.height > committed + 1 || behindAtHeight == committed { requestBlocks() }
        behindAtHeight = committed
    }

    /// Sends again the transactions that have waited in the mempool for a whole gossip interval (at most
    /// `regossipLimit`, the oldest): a peer may have missed them (its link was down, its gossip queue or
    /// mempool full), and a transaction only this node holds commits only when this node proposes, which a
    /// slow or partitioned node may fail to do in time. Peers that have it drop the copy before verifying it.
    private func regossipWaitingTransactions() {
        let oldest = service.mempool.peek(Self.regossipLimit)
        for transaction in oldest where oldestWaiting.contains(transaction.id) {
            sender.broadcast(PeerMessage.transaction(transaction).canonicalBytes)
        }
        oldestWaiting = Set(oldest.map(\.id))
    }

    /// Tells the peers this node's head and API URL, every gossip interval.
    private func announce() {
        guard let announcement else { return }
        sender.broadcast(announcement)
    }

    /// After a commit, tells the proposer of the next height at once: if it missed the decision, every
    /// validator waits for its proposal, so it must learn within a message delay (it then waits
    /// `catchUpDelayMs` for its own decision before fetching the block). The others learn from the next
    /// height's proposal and votes, so they are not sent one (three frames fewer per validator and height).
    private func announceToNextProposer(after height: UInt64) {
        let nextProposer = configuration.proposer(height: height + 1, round: 0)
        guard nextProposer != ownIndex, let announcement else { return }
        sender.send(announcement, toValidator: nextProposer)
    }

    private var announcement: [UInt8]? {
        directory.snapshot[ownIndex].apiURL.map {
            NodeAnnouncement(apiURL: $0, headHeight: store.headHeight, headHash: store.headHash).canonicalBytes
        }
    }

    /// Asks a validator that committed more for the blocks after the head, unless a request is out and
    /// not yet overdue. After an overdue request the next peer ahead is asked.
    private func requestBlocks() {
        let now = DispatchTime.now().uptimeNanoseconds
        if let inFlight = syncInFlight, inFlight.deadlineNs > now { return }
        let committed = store.headHeight
        let candidates = directory.snapshot.filter { $0.index != ownIndex && $0.committedHeight > committed }.map(\.index)
        guard !candidates.isEmpty else { return }
        syncAttempts += 1
        let validator = candidates[syncAttempts % candidates.count]
        let request = SyncRequest(fromHeight: committed + 1, maxCount: UInt16(SyncResponse.maxBlocks))
        sender.send(PeerMessage.syncRequest(request).canonicalBytes, toValidator: validator)
        syncInFlight = (validator, committed + 1, now + settings.syncRequestTimeoutMs * 1_000_000)
        service.log.info("consensus.sync.requested", ["from": genesis.validators[validator].name, "fromHeight": committed + 1])
    }

    /// Appends the fetched blocks that extend the head and pass every check (their signatures were checked
    /// by the peer reader), then restarts consensus at the new head, and asks for more while behind.
    private func applySynced(_ blocks: [CommittedBlock], from validator: Int) {
        if syncInFlight?.validator == validator { syncInFlight = nil }
        var applied = 0
        for committed in blocks where committed.height == store.headHeight + 1 {
            let started = DispatchTime.now()
            do {
                let changes = try SyncedBlockCheck.rules(committed, genesis: genesis, head: head, state: store.writerView)
                // Synced: the log, emptied at the next height, keeps no record of a fetched block.
                try store.append(committed, changes: changes, durable: true)
            } catch let failure as VerificationFailure {
                service.metrics.increment("healthledger_consensus_sync_blocks_refused_total")
                service.log.error("consensus.sync.refused", ["from": genesis.validators[validator].name, "reason": failure.description])
                break
            } catch {
                return halt("cannot append a synced block: \(error)")
            }
            afterCommit(committed, startedAt: started, source: "sync")
            applied += 1
        }
        guard applied > 0 else { return }
        service.metrics.increment("healthledger_consensus_sync_blocks_total", by: Double(applied))
        awaitingStart = nil
        beginHeight(store.headHeight + 1)
        if let ahead = directory.peerAhead(of: store.headHeight), ahead.height > store.headHeight { requestBlocks() }
    }

    // MARK: Status

    /// Notes the first time the current height reached `milestone`.
    private func mark(_ milestone: String) {
        if milestonesMs[milestone] == nil { milestonesMs[milestone] = Self.milliseconds(since: heightStartedAt) }
    }

    static func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }

    private func publishProgress() {
        progress.update(height: machine.height, round: machine.round, step: machine.decision == nil ? machine.step.description : "commit")
        service.metrics.set("healthledger_consensus_height", Double(machine.height))
        service.metrics.set("healthledger_consensus_round", Double(machine.round))
        service.metrics.set("healthledger_consensus_step", machine.decision == nil ? Double(machine.step.rawValue) : 4)
    }

    /// Stops taking part in consensus for good: a validator whose disk refuses writes must not sign.
    private func halt(_ reason: String) {
        guard haltReason == nil else { return }
        haltReason = reason
        progress.halt(reason)
        service.log.error("consensus.halted", ["reason": reason])
    }
}
