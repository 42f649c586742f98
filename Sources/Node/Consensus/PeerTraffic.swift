import Consensus
import Crypto
import Foundation
import Ledger
import Storage
import Transport

/// Everything that arrives from the other validators, handled on the peer link's reader thread before the
/// consensus thread sees any of it: frames are decoded strictly (`PeerMessage`, `NodeAnnouncement`),
/// messages for other chains, unknown validators or heights this node is not deciding are dropped, and
/// every signature is verified here (so the links of different peers verify in parallel), except a vote's
/// that arrives after its step's quorum and changes nothing (`LateVotes`). Only verified proposals, votes
/// and synced blocks enter the bounded consensus inbox.
///
/// Gossiped transactions are admitted here like ones from a client (signature, ledger rules, mempool
/// bound), without being sent on again: every validator gossips what it admits itself to all the others.
/// Sync requests are answered here from the chain store. Every drop is counted in
/// `healthledger_consensus_messages_dropped_total{reason}`; nothing a peer sends can stop the node.
final class PeerTraffic: @unchecked Sendable {
    private let service: NodeService
    private let genesis: Genesis
    private let validatorKeys: [Ed25519.PublicKey]
    private let indexByKey: [Ed25519.PublicKey: Int]
    private let inbox: ConsensusInbox
    private let progress: ConsensusProgress
    private let directory: PeerDirectory
    private let verified: VerifiedSignatures
    private let lateVotes: LateVotes
    private let seen = SeenMessages(capacity: 100_000)
    /// Sync responses stay within one frame.
    private let maxResponseBytes: Int
    private let syncBudgetLock = NSLock()
    private var syncBudget: SyncAnswerBudget
    /// Refused connections are logged at most 20 at once and 5 a second after that: anyone who can reach the
    /// peer port can cause them. The metric counts every one.
    private let refusedLogLock = NSLock()
    private var refusedLog = LogRateLimit(burst: 20, perSecond: 5)

    init(service: NodeService, inbox: ConsensusInbox, progress: ConsensusProgress, directory: PeerDirectory,
         verified: VerifiedSignatures, lateVotes: LateVotes, maxFrameBytes: Int, syncBudget: SyncAnswerBudget) {
        self.service = service
        genesis = service.genesis
        validatorKeys = service.genesis.validators.map(\.key.publicKey)
        indexByKey = Dictionary(uniqueKeysWithValues: validatorKeys.enumerated().map { ($1, $0) })
        self.inbox = inbox
        self.progress = progress
        self.directory = directory
        self.verified = verified
        self.lateVotes = lateVotes
        maxResponseBytes = maxFrameBytes - 64 * 1024
        self.syncBudget = syncBudget
    }

    /// Sync requests this node answers are sent through here (set once, before the network starts).
    var reply: (@Sendable ([UInt8], Ed25519.PublicKey) -> Void)?
    /// Gossiped transactions wait here for their signature check (set once, before the network starts).
    private(set) lazy var gossip = GossipAdmission { [unowned self] transaction in admitGossiped(transaction) }

    // MARK: Frames

    /// One payload from the validator whose key the link proved.
    func frame(from key: Ed25519.PublicKey, _ payload: [UInt8]) {
        guard let sender = indexByKey[key] else { return drop("unknown_validator") }
        if NodeAnnouncement.isTagged(payload) {
            guard let announcement = try? NodeAnnouncement(canonicalBytes: payload) else { return drop("malformed") }
            directory.announced(announcement, by: sender)
            // A peer committed the height this node is deciding (or more): it may need to catch up.
            if announcement.headHeight >= progress.height { inbox.post(.peersAhead) }
            return
        }
        let message: PeerMessage
        do {
            message = try PeerMessage(canonicalBytes: payload)
        } catch {
            return drop("malformed")
        }
        switch message {
        case let .vote(signed): receive(signed, digest: SHA256.hash(payload), bytes: payload.count)
        case let .proposal(signed): receive(signed, digest: SHA256.hash(payload), bytes: payload.count)
        case let .transaction(transaction): receive(transaction)
        case let .syncRequest(request): answer(request, from: sender, to: key)
        case let .syncResponse(response): receive(response, from: sender, bytes: payload.count)
        }
    }

    /// A peer link came up or went down, a connection was refused or a dial failed: logged, refused
    /// connections within `refusedLog`'s rate.
    func event(_ event: PeerEvent) {
        var fields: [String: any Sendable] = [:]
        for (name, value) in event.fields { fields[name] = value }
        switch event {
        case let .linkEstablished(peer, direction, _):
            if let index = indexByKey[peer] { setLink(index, direction, up: true) }
        case let .linkClosed(peer, direction, _):
            if let index = indexByKey[peer] { setLink(index, direction, up: false) }
        case let .connectionRefused(_, reason):
            service.metrics.increment("healthledger_peer_connections_refused_total", labels: "reason=\"\(reason.code)\"")
            let nowMs = DispatchTime.now().uptimeNanoseconds / 1_000_000
            guard case let .write(suppressedBefore) = refusedLogLock.withLock({ refusedLog.admit(nowMs: nowMs) }) else { return }
            if suppressedBefore > 0 { fields["suppressed_before"] = suppressedBefore }
        case .dialFailed:
            break
        }
        if case .linkEstablished = event { service.log.info(event.name, fields) } else { service.log.error(event.name, fields) }
    }

    private func setLink(_ index: Int, _ direction: PeerDirection, up: Bool) {
        directory.setLinks(index, outbound: direction == .outbound ? up : nil, inbound: direction == .inbound ? up : nil)
        service.metrics.set("healthledger_consensus_peers_linked", Double(directory.peersLinked))
    }

    // MARK: Consensus messages

    /// How far above the height being decided a peer's message is still verified and handed on. The
    /// consensus thread keeps the next height's messages; one further covers the moment when it is a height
    /// behind this reader (a decided block's inputs still in its inbox), so that messages a quicker peer
    /// sends for the height after are not lost then. The consensus thread drops what it cannot use.
    static let heightLead: UInt64 = 2

    private func isCurrent(_ height: UInt64, _ current: UInt64) -> Bool { height >= current && height - current <= Self.heightLead }

    /// Hands a verified message to the consensus thread; when the inbox is full it is dropped and forgotten,
    /// so that its next copy is taken. True when the inbox took it.
    @discardableResult
    private func post(_ event: ConsensusEvent, digest: SHA256Digest, bytes: Int) -> Bool {
        guard inbox.post(event, bytes: bytes) else {
            seen.remove(digest)
            drop("inbox_full")
            return false
        }
        return true
    }

    private func receive(_ signed: SignedVote, digest: SHA256Digest, bytes: Int) {
        let vote = signed.vote
        let index = Int(signed.validatorIndex)
        guard vote.chainID == genesis.chainID else { return drop("wrong_chain") }
        guard index < validatorKeys.count else { return drop("unknown_validator") }
        let current = progress.height
        guard isCurrent(vote.height, current) else { return otherHeight(vote.height, current: current, by: index, signed.signature, vote.canonicalBytes) }
        guard seen.insert(digest, currentHeight: current) else { return }
        switch lateVotes.judge(signed, currentHeight: current) {
        case .needed:
            guard isValid(signed) else { return drop("bad_signature") }
        case .late:
            return drop("late_vote")
        case let .contradicts(earlier):
            guard isValid(signed) else { return drop("bad_signature") }
            lateVotes.forget(earlier)
            if isValid(earlier) {
                // Two different verified votes of one validator and step: both go on, and make evidence.
                hand(earlier, digest: SHA256.hash(PeerMessage.vote(earlier).canonicalBytes), bytes: bytes, currentHeight: current)
            } else {
                drop("bad_signature")
                // The earlier one was forged: this verified vote takes its place as the validator's late vote.
                if lateVotes.judge(signed, currentHeight: current) == .late { return drop("late_vote") }
            }
        }
        hand(signed, digest: digest, bytes: bytes, currentHeight: current)
    }

    /// Whether `signed` carries a valid signature of its validator.
    private func isValid(_ signed: SignedVote) -> Bool {
        validatorKeys[Int(signed.validatorIndex)].isValidSignature(signed.signature, for: signed.vote.canonicalBytes)
    }

    /// Hands a verified vote to the consensus thread and records it among the height's votes.
    private func hand(_ signed: SignedVote, digest: SHA256Digest, bytes: Int, currentHeight: UInt64) {
        let index = Int(signed.validatorIndex)
        directory.signed(atHeight: signed.vote.height, by: index)
        if post(.vote(signed), digest: digest, bytes: bytes) { lateVotes.record(signed.vote, by: index, currentHeight: currentHeight) }
    }

    private func receive(_ signed: SignedProposal, digest: SHA256Digest, bytes: Int) {
        let proposal = signed.proposal
        let index = Int(signed.validatorIndex)
        guard proposal.chainID == genesis.chainID else { return drop("wrong_chain") }
        guard index < validatorKeys.count,
            index == ConsensusConfiguration.proposer(height: proposal.height, round: proposal.round, validatorCount: validatorKeys.count)
        else { return drop("wrong_proposer") }
        let current = progress.height
        guard isCurrent(proposal.height, current) else {
            return otherHeight(proposal.height, current: current, by: index, signed.signature, proposal.canonicalBytes)
        }
        guard seen.insert(digest, currentHeight: current) else { return }
        guard validatorKeys[index].isValidSignature(signed.signature, for: proposal.canonicalBytes) else { return drop("bad_signature") }
        // The block's transactions are verified here, on this link's thread, so the consensus thread's
        // validation finds them done; one that fails is left for the validation to refuse the block.
        for entry in signed.block.entries { _ = verified.verify(entry.transaction) }
        directory.signed(atHeight: proposal.height, by: index)
        post(.proposal(signed), digest: digest, bytes: bytes)
    }

    /// A message for a height this node is not deciding is dropped; one from beyond the next height, whose
    /// signature verifies, shows that its validator committed more than this node, which the consensus
    /// thread is told so that it catches up (checked only when it says more than known, so a validator's
    /// stream of such messages costs one verification per height).
    private func otherHeight(_ height: UInt64, current: UInt64, by index: Int, _ signature: [UInt8], _ message: [UInt8]) {
        drop("other_height")
        guard height > current + Self.heightLead, directory.committedHeight(of: index) < height - 1,
            validatorKeys[index].isValidSignature(signature, for: message)
        else { return }
        directory.signed(atHeight: height, by: index)
        inbox.post(.peersAhead)
    }

    // MARK: Transactions

    /// A transaction another validator admitted: queued for the gossip workers (`admitGossiped`), so that
    /// consensus messages behind it on this link are not held up by its signature check.
    private func receive(_ transaction: SignedTransaction) {
        guard transaction.transaction.chainID == genesis.chainID else { return drop("wrong_chain") }
        guard !service.mempool.contains(transaction.id) else { return }
        if !gossip.enqueue(transaction) { drop("gossip_queue_full") }
    }

    /// Admits a gossiped transaction on this node's own checks, without sending it on. Its signature is
    /// verified (once) even when the mempool is full: the validator that sent it will propose it, and a
    /// block whose transactions were verified as they arrived is checked without waiting on signatures.
    func admitGossiped(_ transaction: SignedTransaction) {
        guard !service.mempool.contains(transaction.id) else { return }
        if (try? service.store.isCommitted(transaction.id, createdAtMs: transaction.transaction.createdAtMs)) == true { return }
        guard verified.verify(transaction) else { return drop("bad_signature") }
        do {
            try service.admit(transaction, relay: false, signatureVerified: true)
            service.metrics.increment("healthledger_transactions_gossiped_total", labels: "direction=\"in\"")
        } catch {
            // Refused here (mempool full, or the rules): the sender still proposes it in its turn.
        }
    }

    // MARK: Block sync

    /// Answers a sync request with the committed blocks asked for, as many as fit in one frame, within the
    /// asking validator's `SyncAnswerBudget`; beyond it the request is dropped (`sync_over_budget`).
    private func answer(_ request: SyncRequest, from sender: Int, to key: Ed25519.PublicKey) {
        guard syncBudgetLock.withLock({ syncBudget.mayAnswer(sender, nowMs: Self.monotonicMs()) }) else {
            return drop("sync_over_budget")
        }
        let store = service.store
        var budget = maxResponseBytes
        let response = BlockSync.response(to: request, headHeight: store.headHeight) { height in
            guard let stored = try? store.storedBlock(at: height), stored.bytes.count <= budget,
                let committed = try? CommittedBlock(canonicalBytes: stored.bytes)
            else { return nil }
            budget -= stored.bytes.count
            return committed
        }
        let answer = PeerMessage.syncResponse(response).canonicalBytes
        syncBudgetLock.withLock { syncBudget.charge(sender, bytes: answer.count, nowMs: Self.monotonicMs()) }
        service.metrics.increment("healthledger_consensus_sync_served_total", by: Double(response.blocks.count))
        service.metrics.increment("healthledger_consensus_sync_answers_total")
        reply?(answer, key)
    }

    private static func monotonicMs() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    /// Blocks a peer sent: those that extend this node's head are signature-checked here and handed to the
    /// consensus thread, up to the first that fails.
    private func receive(_ response: SyncResponse, from sender: Int, bytes: Int) {
        let headHeight = service.store.headHeight
        var checked: [CommittedBlock] = []
        for committed in response.blocks where committed.height > headHeight {
            do {
                try SyncedBlockCheck.signatures(committed, genesis: genesis, validatorKeys: validatorKeys, verified: verified)
            } catch {
                service.log.error("consensus.sync.refused", ["from": genesis.validators[sender].name, "reason": error.description])
                drop("bad_sync_block")
                break
            }
            checked.append(committed)
        }
        // Posted even when empty (the peer had nothing newer, or this node got there first): the answer
        // ends the request, so the consensus thread may ask again.
        if !inbox.post(.syncedBlocks(checked, from: sender), bytes: checked.isEmpty ? 0 : bytes) { drop("inbox_full") }
    }

    private func drop(_ reason: String) {
        service.metrics.increment("healthledger_consensus_messages_dropped_total", labels: "reason=\"\(reason)\"")
    }
}

/// Digests of consensus messages handed to the consensus thread while it decides one height, so a message
/// received twice (re-sent every gossip interval, or by a misbehaving peer) is verified once. Forgotten
/// when the height changes: a message the machine could not use yet (buffered for the next height, or
/// dropped) is taken again when re-sent. Bounded: cleared when full; at worst a message is verified again.
final class SeenMessages: @unchecked Sendable {
    private let lock = NSLock()
    private var digests: Set<SHA256Digest> = []
    private var height: UInt64 = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// True when `digest` was not seen before while the consensus height is `currentHeight` (and is now).
    func insert(_ digest: SHA256Digest, currentHeight: UInt64) -> Bool {
        lock.withLock {
            if height != currentHeight || digests.count >= capacity {
                digests.removeAll(keepingCapacity: true)
                height = currentHeight
            }
            return digests.insert(digest).inserted
        }
    }

    /// Forgets `digest` (its message could not be queued, so a copy sent again must be taken).
    func remove(_ digest: SHA256Digest) { _ = lock.withLock { digests.remove(digest) } }
}

