import Consensus
import Ledger
import TestSupport

/// What a node survives a crash with: its consensus write-ahead log as far as it reached the disk (everything
/// up to its last sync, which also records what it signed, and a part of what was written since) and its
/// committed blocks up to its last durable append. Everything else (mempool, consent state, caches, the
/// machine itself, the blocks appended since) is rebuilt on restart: a crash here is one of the machine.
struct NodeDisk {
    var log: [[UInt8]] = []
    var blocks: [CommittedBlock] = []
}

/// A timer a node asked for; it fires only if the node has not crashed since (incarnation).
enum NodeTimer: Hashable, Sendable {
    case consensus(Timeout)
    case startHeight(UInt64)
    case gossip
}

/// What a node asks of the simulated world, or reports to the checker, while handling one event.
enum NodeEffect {
    case send(to: Int, bytes: [UInt8])
    case schedule(NodeTimer, afterMs: UInt64)
    case committed(CommittedBlock)
    case acknowledged(TransactionID, height: UInt64)
    case evidence(Evidence)
    /// An honest validator signed (or re-issued) these bytes at this position.
    case signed(SigningPosition, SHA256Digest, value: SHA256Digest?)
    case refused(SigningRefusal)
    case synced(fromPeer: Int, blocks: Int)
    /// Blocks its log showed decided, stored again after a crash took them from its chain.
    case restored(blocks: Int)
    /// A proposal this node will not prevote as new: invalid (with the reason) or untimely.
    case proposalRefused(height: UInt64, round: UInt32, reason: String)
    /// Something that must never happen inside a node (its own committed block rejected, a damaged disk).
    case violation(String)
    case crashed
}

/// One validator of the simulated consortium: the node runtime around a `Tendermint` machine, as the real
/// node will be, with simulated disk and network. It logs every consensus input before handling it, signs
/// only through its `SigningGuard` (each signed message is logged before it leaves, so a restarted node's
/// guard knows it), validates proposals with `ProposalValidation`, keeps a mempool fed by clients and
/// gossip, floods new messages once to its peers, re-sends its own messages of the current height every
/// gossip interval (with the polka that justifies a re-proposal), and catches up by block sync.
///
/// The Byzantine validator runs the same code but signs without a guard and equivocates: each proposal and
/// vote it makes goes out in two conflicting versions, one to each half of its peers.
struct SimulatedNode {
    let index: Int
    let isByzantine: Bool
    private let genesis: Genesis
    private let key: Ed25519.PrivateKey
    private let configuration: ConsensusConfiguration
    private let executor: BlockExecutor
    private let peers: [Int]
    private let gossipIntervalMs: UInt64
    private let clockSkewMs: Int64
    private let injectedFault: InjectedFault?

    private(set) var disk = NodeDisk()
    private let durableAppends: DurableAppendSchedule
    /// Blocks committed since the last durable append (not on the disk: a crash loses them, and the log keeps
    /// their heights until the next durable append, as the node's chain store and log do).
    private var unsyncedBlocks: [CommittedBlock] = []
    /// Log records written since the last sync, as the node writes every input: in the operating system's
    /// cache, of which a crash of the machine leaves a part on the disk (`crash`).
    private var unsyncedLog: [[UInt8]] = []
    /// The log was emptied since the last sync (the node's reset is not synced either).
    private var logResetPending = false
    /// Log records written but not synced that crashes took (the machine's crash, `crash`), over this node's runs.
    private(set) var unsyncedLogRecordsLost = 0
    /// The log as written: what a crash of the process (not of the machine) would leave.
    var writtenLog: [[UInt8]] { (logResetPending ? [] : disk.log) + unsyncedLog }
    private(set) var isUp = false
    /// Bumped at each crash, so that timers of an earlier life do not fire.
    private(set) var incarnation = 0
    private(set) var machine: Tendermint
    private(set) var verifier: ChainVerifier<MemoryLedgerState>
    private(set) var evidence: [Evidence] = []
    private var signingGuard = SigningGuard()
    private var mempool: [SignedTransaction] = []
    private var mempoolIDs: Set<TransactionID> = []
    private var verifiedTransactions: Set<TransactionID> = []
    /// Hashes of consensus and transaction messages already handled (cleared at each height).
    private var seenMessages: Set<SHA256Digest> = []
    /// Transactions clients submitted to this node in this life: acknowledged when this node commits them.
    private var submittedHere: Set<TransactionID> = []
    /// The height each validator is known to have committed (from the heights it signs messages at).
    private var knownCommittedHeights: [UInt64]
    private var behindAtHeight: UInt64?
    /// This node's own signed messages of the current height, with their recipients, for gossip.
    private var ownMessages: [(bytes: [UInt8], recipients: [Int])] = []
    private var random: SeededRandom
    private var effects: [NodeEffect] = []
    private var localNowMs: UInt64 = 0
    /// Disk operations (the log's writes and syncs, durable appends) left before an armed crash.
    private var crashBudget: Int?

    static let maxMempool = 2_000
    /// A decided block's append reaches the disk once every this many heights, as the node's do (fewer
    /// heights than the node's, so that crashes find blocks to restore from the log often).
    static let heightsPerDurableAppend: UInt64 = 4

    init(index: Int, genesis: Genesis, key: Ed25519.PrivateKey, isByzantine: Bool, clockSkewMs: Int64, gossipIntervalMs: UInt64,
         seed: UInt64, injectedFault: InjectedFault? = nil) {
        self.injectedFault = injectedFault
        self.index = index
        self.isByzantine = isByzantine
        self.genesis = genesis
        self.key = key
        self.clockSkewMs = clockSkewMs
        self.gossipIntervalMs = gossipIntervalMs
        configuration = ConsensusConfiguration(genesis: genesis, ownIndex: index)
        executor = BlockExecutor(genesis: genesis)
        peers = genesis.validators.indices.filter { $0 != index }
        durableAppends = DurableAppendSchedule(interval: Self.heightsPerDurableAppend, ownIndex: index, validatorCount: genesis.validators.count)
        machine = Tendermint(configuration: configuration)
        verifier = Self.emptyVerifier(genesis)
        knownCommittedHeights = Array(repeating: 0, count: genesis.validators.count)
        random = SeededRandom(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)))
    }

    private static func emptyVerifier(_ genesis: Genesis) -> ChainVerifier<MemoryLedgerState> {
        ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
    }

    var headHeight: UInt64 { verifier.height }

    /// The node's chain: the blocks on its disk, then those appended since its last durable append.
    var storedBlocks: [CommittedBlock] { disk.blocks + unsyncedBlocks }

    // MARK: Events

    /// Starts the node (first boot or restart): rebuilds the consent state from the stored blocks and its
    /// signing guard from its own messages in the write-ahead log, and resumes the current height from the
    /// log (or starts the next one).
    mutating func boot(atMs nowMs: UInt64) -> [NodeEffect] {
        begin(nowMs)
        isUp = true
        if incarnation > 0, injectedFault == .forgetLogOnRestart { disk.log = [] }
        verifier = Self.emptyVerifier(genesis)
        for block in disk.blocks {
            do {
                _ = try verifier.append(block)
            } catch {
                return finish(with: .violation("node \(index): its stored block \(block.height) no longer applies: \(error)"))
            }
        }
        // Decoded once for the guard and the replay, as the node does.
        var recovered = DecodedLog(disk.log)
        signingGuard = SigningGuard.recovering(log: recovered, ownIndex: UInt16(index), saved: nil, committedHeight: headHeight)
        if incarnation > 0, injectedFault == .skipReplayOnRestart { (disk.log, recovered) = ([], DecodedLog([])) }
        (mempool, mempoolIDs, verifiedTransactions, seenMessages, submittedHere) = ([], [], [], [], [])
        (ownMessages, behindAtHeight, evidence) = ([], nil, [])
        knownCommittedHeights = Array(repeating: 0, count: genesis.validators.count)
        machine = Tendermint(configuration: configuration)
        emit(.schedule(.gossip, afterMs: gossipIntervalMs))
        let resumption: ConsensusReplay.Resumption?
        do {
            resumption = try ConsensusReplay.resuming(recovered, storedHeight: headHeight, configuration: configuration)
        } catch {
            return finish(with: .violation("node \(index): its write-ahead log does not replay: \(error)"))
        }
        guard let resumption else {
            beginHeight(headHeight + 1)
            return finish()
        }
        for committed in resumption.decided {
            do {
                _ = try verifier.append(committed)
            } catch {
                return finish(with: .violation("node \(index): a block its log decided no longer applies: \(error)"))
            }
            guard durable({ $0.blocks.append(committed) }) else { return finish() }
            emit(.committed(committed))
        }
        if !resumption.decided.isEmpty { emit(.restored(blocks: resumption.decided.count)) }
        machine = resumption.current.machine
        recallOwnMessages()
        perform(resumption.current.pendingActions)
        return finish()
    }

    /// Arms a crash that happens before the node's `writes`-th next disk operation.
    mutating func armCrash(afterDurableWrites writes: Int) { crashBudget = writes }

    mutating func disarmCrash() { crashBudget = nil }

    /// Stops the node at once: it loses everything but its disk. What it wrote to its log since the last sync
    /// reached the disk in part, page by page, as a machine's crash leaves it: a prefix of the records (the
    /// node's log ends at the first frame that did not arrive whole), and when the log had been emptied since,
    /// either the old log (the emptying lost) or the new records with, perhaps, old ones after them (written
    /// over, not erased); the node's replay must skip those, which belong to stored heights.
    mutating func crash() {
        isUp = false
        incarnation += 1
        crashBudget = nil
        unsyncedBlocks = []
        let kept = Array(unsyncedLog.prefix(Int.random(in: 0...unsyncedLog.count, using: &random)))
        unsyncedLogRecordsLost += unsyncedLog.count - kept.count
        if !logResetPending {
            disk.log += kept
        } else if kept.isEmpty {
            if Bool.random(using: &random) { disk.log = [] }  // the emptying reached the disk, or did not
        } else {
            let oldRecordsAfter = Bool.random(using: &random) ? disk.log.dropFirst(Int.random(in: 0...disk.log.count, using: &random)) : []
            disk.log = kept + oldRecordsAfter
        }
        (unsyncedLog, logResetPending) = ([], false)
    }

    /// A client submits `transaction` here. Returns whether the node accepted it into its mempool.
    mutating func submit(_ transaction: SignedTransaction, atMs nowMs: UInt64) -> (accepted: Bool, effects: [NodeEffect]) {
        begin(nowMs)
        guard isUp else { return (false, finish()) }
        let accepted = admit(transaction, relayExcept: nil)
        if accepted { submittedHere.insert(transaction.id) }
        return (accepted, finish())
    }

    mutating func timerFired(_ timer: NodeTimer, atMs nowMs: UInt64) -> [NodeEffect] {
        begin(nowMs)
        guard isUp else { return finish() }
        switch timer {
        case let .consensus(timeout): input(.timeout(timeout))
        case let .startHeight(height): if height == headHeight + 1 && machine.height < height { beginHeight(height) }
        case .gossip: gossip()
        }
        return finish()
    }

    /// Bytes from peer `sender`. Duplicates are recognised by hash before decoding; malformed bytes are dropped.
    mutating func receive(_ bytes: [UInt8], from sender: Int, atMs nowMs: UInt64) -> [NodeEffect] {
        begin(nowMs)
        guard isUp else { return finish() }
        let digest = SHA256.hash(bytes)
        guard !seenMessages.contains(digest), let message = try? PeerMessage(canonicalBytes: bytes) else { return finish() }
        switch message {
        case let .transaction(transaction):
            seenMessages.insert(digest)
            _ = admit(transaction, relayExcept: sender)
        case let .vote(signed):
            receiveVote(signed, bytes: bytes, digest: digest, from: sender)
        case let .proposal(signed):
            receiveProposal(signed, bytes: bytes, digest: digest, from: sender)
        case let .syncRequest(request):
            let response = BlockSync.response(to: request, headHeight: headHeight) { [storedBlocks] in storedBlocks[Int($0) - 1] }
            emit(.send(to: sender, bytes: PeerMessage.syncResponse(response).canonicalBytes))
        case let .syncResponse(response):
            applySync(response, from: sender)
        }
        return finish()
    }

    // MARK: Messages

    private mutating func receiveVote(_ signed: SignedVote, bytes: [UInt8], digest: SHA256Digest, from sender: Int) {
        let height = signed.vote.height
        noteCommitted(height, by: Int(signed.validatorIndex))
        guard height >= machine.height, height - machine.height <= 1 else { return }
        seenMessages.insert(digest)
        guard signed.hasValidSignature(in: genesis) else { return }
        relay(bytes, except: sender)
        input(.vote(signed))
    }

    private mutating func receiveProposal(_ signed: SignedProposal, bytes: [UInt8], digest: SHA256Digest, from sender: Int) {
        let height = signed.height
        noteCommitted(height, by: Int(signed.validatorIndex))
        guard height >= machine.height, height - machine.height <= 1 else { return }
        seenMessages.insert(digest)
        guard signed.hasValidSignature(in: genesis) else { return }
        relay(bytes, except: sender)
        let checkable = height == machine.height && machine.decision == nil
        input(.proposal(signed, check: checkable ? check(signed) : nil))
    }

    /// A validator that signs at height h has committed h - 1.
    private mutating func noteCommitted(_ signedHeight: UInt64, by validator: Int) {
        guard validator < knownCommittedHeights.count, signedHeight > 0 else { return }
        knownCommittedHeights[validator] = max(knownCommittedHeights[validator], signedHeight - 1)
    }

    private mutating func admit(_ transaction: SignedTransaction, relayExcept sender: Int?) -> Bool {
        guard !mempoolIDs.contains(transaction.id), mempool.count < Self.maxMempool else { return false }
        if !verifiedTransactions.contains(transaction.id) {
            guard transaction.hasValidSignature else { return false }
            verifiedTransactions.insert(transaction.id)
        }
        do {
            try executor.check(transaction, nowMs: localNowMs, state: verifier.state, nextHeight: headHeight + 1)
        } catch {
            return false
        }
        mempool.append(transaction)
        mempoolIDs.insert(transaction.id)
        let bytes = PeerMessage.transaction(transaction).canonicalBytes
        seenMessages.insert(SHA256.hash(bytes))
        relay(bytes, except: sender)
        return true
    }

    private mutating func relay(_ bytes: [UInt8], except sender: Int?) {
        for peer in peers where peer != sender { emit(.send(to: peer, bytes: bytes)) }
    }

    /// Every gossip interval: send this node's own messages of the current height again (the network may have
    /// lost them), and ask for blocks if a peer has committed the height this node is still deciding.
    private mutating func gossip() {
        emit(.schedule(.gossip, afterMs: gossipIntervalMs))
        for message in ownMessages {
            for peer in message.recipients { emit(.send(to: peer, bytes: message.bytes)) }
        }
        let ahead = knownCommittedHeights.enumerated().filter { $0.offset != index && $0.element >= machine.height && $0.element > headHeight }
        guard let peer = ahead.max(by: { $0.element < $1.element })?.offset else { return behindAtHeight = nil }
        // Behind for a whole gossip interval: the decision of this height will not come by itself.
        if behindAtHeight == machine.height {
            let request = SyncRequest(fromHeight: headHeight + 1, maxCount: UInt16(SyncResponse.maxBlocks))
            emit(.send(to: peer, bytes: PeerMessage.syncRequest(request).canonicalBytes))
        }
        behindAtHeight = machine.height
    }

    private mutating func applySync(_ response: SyncResponse, from sender: Int) {
        var applied = 0
        for block in response.blocks where block.height == headHeight + 1 {
            let verified = verifiedTransactions
            do {
                try BlockSync.verifyAndAppend(block, to: &verifier, isVerifiedTransaction: { verified.contains($0) })
            } catch {
                break
            }
            // A synced block's append is durable, and with it those before.
            guard durable({ [unsyncedBlocks] in $0.blocks += unsyncedBlocks + [block] }) else { return }
            unsyncedBlocks = []
            afterCommit(block)
            applied += 1
        }
        guard applied > 0 else { return }
        emit(.synced(fromPeer: sender, blocks: applied))
        beginHeight(headHeight + 1)
    }

    // MARK: Consensus

    /// Starts `height` in the log (emptied first when every block is on the disk): its `startHeight`, then the
    /// next-height messages the machine had buffered, so that a replay rebuilds them.
    private mutating func beginHeight(_ height: UInt64) {
        guard height == headHeight + 1, machine.height < height else { return }
        let start = ConsensusInput.startHeight(height: height, previousBlockTimeMs: verifier.headTimeMs)
        let records = [start.canonicalBytes] + machine.carriedInputs(into: height).map(\.canonicalBytes)
        if unsyncedBlocks.isEmpty {
            guard resetLog() else { return }
        }
        guard writeLog(records) else { return }
        ownMessages = []
        seenMessages = []
        behindAtHeight = nil
        perform(machine.handle(start))
    }

    /// Logs `input` (not synced, as the node does), then hands it to the machine and performs what it asks.
    private mutating func input(_ input: ConsensusInput) {
        guard writeLog([input.canonicalBytes]) else { return }
        perform(machine.handle(input))
    }

    private mutating func perform(_ actions: [ConsensusAction]) {
        for action in actions {
            guard isUp else { return }
            switch action {
            case let .buildBlock(height, round, minimumTimeMs):
                input(.blockBuilt(height: height, round: round, block: buildBlock(height: height, timeMs: max(localNowMs, minimumTimeMs))))
            case let .signProposal(proposal, block):
                isByzantine ? equivocate(proposal, block: block) : sign(proposal, block: block)
            case let .signVote(vote):
                isByzantine ? equivocate(vote) : sign(vote)
            case let .checkProposal(signed):
                input(.proposal(signed, check: check(signed)))
            case let .scheduleTimeout(timeout, delayMs):
                emit(.schedule(.consensus(timeout), afterMs: delayMs))
            case let .commit(committed):
                commit(committed)
            case let .reportEvidence(found):
                guard !evidence.contains(found) else { continue }
                evidence.append(found)
                emit(.evidence(found))
            }
        }
    }

    private mutating func check(_ signed: SignedProposal) -> ProposalCheck {
        let head = ChainHead(height: verifier.height, hash: verifier.headHash, timeMs: verifier.headTimeMs)
        let verified = verifiedTransactions
        let result = ProposalValidation.check(signed, genesis: genesis, head: head, state: verifier.state, nowMs: localNowMs,
                                              isVerifiedTransaction: { verified.contains($0) })
        if let rejection = result.rejection {
            emit(.proposalRefused(height: signed.height, round: signed.round, reason: rejection.description))
        } else if !result.check.isTimely && signed.proposal.validRound == nil {
            emit(.proposalRefused(height: signed.height, round: signed.round,
                                  reason: "block time \(signed.block.header.timeMs) is more than the drift bound from \(localNowMs)"))
        } else {
            verifiedTransactions.formUnion(signed.block.entries.map(\.transaction.id))
        }
        return result.check
    }

    private mutating func buildBlock(height: UInt64, timeMs: UInt64) -> Block {
        let candidates = Array(mempool.prefix(Int(genesis.consensus.blockMaxEntries)))
        let built = try! executor.propose(candidates, height: height, blockTimeMs: timeMs, state: verifier.state)
        let rejected = Set(built.rejected.map(\.0.id))
        mempool.removeAll { rejected.contains($0.id) }
        mempoolIDs.subtract(rejected)
        return Block(entries: built.entries, height: height, timeMs: timeMs, previousHash: verifier.headHash,
                     proposer: Identity(publicKey: key.publicKey), genesis: genesis)
    }

    /// Signs through the guard, logs the signed message (its delivery back) and syncs the log before it
    /// leaves, broadcasts, and hands it to the machine.
    private mutating func sign(_ proposal: Proposal, block: Block) {
        let signature: SigningGuard.Signature
        do {
            signature = try signingGuard.sign(proposal: proposal) { key.signature(for: $0) }
        } catch {
            return emit(.refused(error))
        }
        let signed = SignedProposal(proposal: proposal, validatorIndex: UInt16(index), signature: signature.signature, block: block)
        let delivered = ConsensusInput.proposal(signed, check: check(signed))
        guard writeLog([delivered.canonicalBytes]), injectedFault == .sendBeforeSync || syncLog() else { return }
        emit(.signed(SigningPosition(height: proposal.height, round: proposal.round, step: .propose), SHA256.hash(proposal.canonicalBytes),
                     value: proposal.blockHash))
        send(PeerMessage.proposal(signed).canonicalBytes, to: peers)
        sendProofOfLock(for: proposal)
        perform(machine.handle(delivered))
    }

    /// After a restart, this node's messages of the current height are in the replayed machine (each was
    /// delivered back and logged): gossip them again, since the network may have lost them.
    private mutating func recallOwnMessages() {
        for round in 0...machine.round {
            let messages = machine.messages(inRound: round)
            for proposal in messages.proposals where Int(proposal.validatorIndex) == index {
                send(PeerMessage.proposal(proposal).canonicalBytes, to: peers)
                sendProofOfLock(for: proposal.proposal)
            }
            for vote in messages.prevotes + messages.precommits where Int(vote.validatorIndex) == index {
                send(PeerMessage.vote(vote).canonicalBytes, to: peers)
            }
        }
    }

    /// A re-proposal is prevoted only by validators that know the polka of its valid round; those that
    /// missed it (partitioned, down) get it with the proposal, and again with every gossip of the height.
    private mutating func sendProofOfLock(for proposal: Proposal) {
        guard let validRound = proposal.validRound else { return }
        for vote in machine.messages(inRound: validRound).prevotes where vote.vote.blockHash == proposal.blockHash {
            send(PeerMessage.vote(vote).canonicalBytes, to: peers)
        }
    }

    private mutating func sign(_ vote: Vote) {
        let signature: SigningGuard.Signature
        do {
            signature = try signingGuard.sign(vote: vote) { key.signature(for: $0) }
        } catch {
            return emit(.refused(error))
        }
        let signed = SignedVote(vote: vote, validatorIndex: UInt16(index), signature: signature.signature)
        let delivered = ConsensusInput.vote(signed)
        guard writeLog([delivered.canonicalBytes]), injectedFault == .sendBeforeSync || syncLog() else { return }
        emit(.signed(SigningPosition(height: vote.height, round: vote.round, step: ConsensusStep(vote.type)), SHA256.hash(vote.canonicalBytes),
                     value: vote.blockHash))
        send(PeerMessage.vote(signed).canonicalBytes, to: peers)
        perform(machine.handle(delivered))
    }

    /// Sends `bytes` to `recipients` now and with every gossip of this height.
    private mutating func send(_ bytes: [UInt8], to recipients: [Int]) {
        seenMessages.insert(SHA256.hash(bytes))
        ownMessages.append((bytes, recipients))
        for peer in recipients { emit(.send(to: peer, bytes: bytes)) }
    }

    /// The Byzantine proposer: a second block at the same height (one millisecond later, so another hash),
    /// each version to one half of the peers; its own machine gets the first.
    private mutating func equivocate(_ proposal: Proposal, block: Block) {
        let header = block.header
        let twin = Block(entries: block.entries, height: header.height, timeMs: header.timeMs + 1, previousHash: header.previousHash,
                         proposer: Identity(publicKey: key.publicKey), genesis: genesis)
        let twinProposal = Proposal(chainID: proposal.chainID, height: proposal.height, round: proposal.round, validRound: nil,
                                    blockHash: twin.header.hash)
        let first = SignedProposal(proposal: proposal, validatorIndex: UInt16(index),
                                   signature: key.signature(for: proposal.canonicalBytes), block: block)
        let second = SignedProposal(proposal: twinProposal, validatorIndex: UInt16(index),
                                    signature: key.signature(for: twinProposal.canonicalBytes), block: twin)
        let (sideA, sideB) = splitPeers()
        send(PeerMessage.proposal(first).canonicalBytes, to: sideA)
        send(PeerMessage.proposal(second).canonicalBytes, to: sideB)
        input(.proposal(first, check: check(first)))
    }

    /// The Byzantine voter: the vote its machine asked for to one half of the peers, a conflicting one (nil
    /// for a block, or a block nobody has for nil) to the other half.
    private mutating func equivocate(_ vote: Vote) {
        var conflicting = vote
        conflicting.blockHash = vote.blockHash == nil ? SHA256.hash(Array("equivocation \(vote.height) \(vote.round)".utf8)) : nil
        let honest = SignedVote(vote: vote, validatorIndex: UInt16(index), signature: key.signature(for: vote.canonicalBytes))
        let other = SignedVote(vote: conflicting, validatorIndex: UInt16(index), signature: key.signature(for: conflicting.canonicalBytes))
        let (sideA, sideB) = splitPeers()
        send(PeerMessage.vote(honest).canonicalBytes, to: sideA)
        send(PeerMessage.vote(other).canonicalBytes, to: sideB)
        input(.vote(honest))
    }

    /// The peers in a random order, cut into two non-empty sides.
    private mutating func splitPeers() -> ([Int], [Int]) {
        let shuffled = peers.shuffled(using: &random)
        let cut = Int.random(in: 1..<shuffled.count, using: &random)
        return (Array(shuffled[..<cut]), Array(shuffled[cut...]))
    }

    private mutating func commit(_ committed: CommittedBlock) {
        let height = committed.height
        if height <= headHeight {
            let stored = storedBlocks[Int(height) - 1].block.header.hash
            if stored != committed.block.header.hash {
                emit(.violation("node \(index) decided block \(committed.block.header.hash) at height \(height) but stored \(stored)"))
            }
        } else {
            do {
                // Every signature was verified when its message arrived.
                _ = try verifier.append(committed)
            } catch {
                return emit(.violation("node \(index): its own decision at height \(height) fails verification: \(error)"))
            }
            if durableAppends.isDurable(height, durableHeight: UInt64(disk.blocks.count)) {
                guard durable({ [unsyncedBlocks] in $0.blocks += unsyncedBlocks + [committed] }) else { return }
                unsyncedBlocks = []
            } else {
                unsyncedBlocks.append(committed)
            }
            afterCommit(committed)
        }
        emit(.schedule(.startHeight(height + 1), afterMs: genesis.consensus.blockIntervalMs))
    }

    private mutating func afterCommit(_ committed: CommittedBlock) {
        let ids = Set(committed.block.entries.map(\.transaction.id))
        mempool.removeAll { ids.contains($0.id) }
        mempoolIDs.subtract(ids)
        for entry in committed.block.entries where submittedHere.contains(entry.transaction.id) {
            submittedHere.remove(entry.transaction.id)
            emit(.acknowledged(entry.transaction.id, height: committed.height))
        }
        emit(.committed(committed))
    }

    // MARK: Plumbing

    private mutating func begin(_ nowMs: UInt64) {
        precondition(effects.isEmpty, "effects of an earlier event were not collected")
        localNowMs = UInt64(Int64(nowMs) + clockSkewMs)
    }

    private mutating func finish(with effect: NodeEffect? = nil) -> [NodeEffect] {
        if let effect { emit(effect) }
        defer { effects = [] }
        return effects
    }

    private mutating func emit(_ effect: NodeEffect) {
        if isUp { effects.append(effect) }
    }

    /// Appends `records` to the log, in the cache: on the disk once synced.
    private mutating func writeLog(_ records: [[UInt8]]) -> Bool {
        guard durable({ _ in }) else { return false }
        unsyncedLog += records
        return true
    }

    /// Empties the log (every block is on the disk), in the cache: on the disk with the next sync.
    private mutating func resetLog() -> Bool {
        guard durable({ _ in }) else { return false }
        (unsyncedLog, logResetPending) = ([], true)
        return true
    }

    /// Makes everything written to the log durable.
    private mutating func syncLog() -> Bool {
        let written = writtenLog
        guard durable({ $0.log = written }) else { return false }
        (unsyncedLog, logResetPending) = ([], false)
        return true
    }

    /// Performs a disk operation (`write` is what it changes on the disk: nothing for a log write, which stays
    /// in the cache until a sync), unless an armed crash falls here: then the node is down from now on and
    /// nothing after this point happens.
    private mutating func durable(_ write: (inout NodeDisk) -> Void) -> Bool {
        guard isUp else { return false }
        if let budget = crashBudget {
            guard budget > 0 else {
                effects.append(.crashed)
                crash()
                return false
            }
            crashBudget = budget - 1
        }
        write(&disk)
        return true
    }
}
