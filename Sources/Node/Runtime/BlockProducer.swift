import Foundation
import Ledger
import Storage
import Threads

/// Cuts blocks from the mempool when this node alone certifies them (a one-validator consortium, or a
/// validator holding more than 2/3 of the voting power), by group commit: as soon as transactions wait and
/// the previous block is durable, the next block takes everything waiting (up to the block limits). An idle
/// node therefore answers within one block's work, and a busy one batches what arrived while it was writing
/// (measured: 102 ms access latency with a fixed 100 ms wait, 2.3 ms without). Each block is durable before
/// any waiter is woken, so nothing in it is acknowledged before it is on disk. With several validators and
/// no majority of the power in one node, `NodeRuntime` runs `ConsensusEngine` instead (docs/CONSENSUS.md).
final class BlockProducer: @unchecked Sendable {
    private let service: NodeService
    private let validatorIndex: UInt16
    private let lock = NSLock()
    private var running = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    init(service: NodeService) throws(NodeError) {
        let genesis = service.genesis
        guard let index = genesis.validatorIndex(of: service.identity) else {
            throw .configuration("this node's key (\(service.identity.text)) is not a validator in the genesis; start it with the key the genesis names")
        }
        let power = genesis.validators[index].power
        guard power * 3 > genesis.totalVotingPower * 2 else {
            throw .configuration("this node holds \(power) of \(genesis.totalVotingPower) voting power; "
                + "certifying blocks with several validators needs consensus (ConsensusEngine)")
        }
        self.service = service
        validatorIndex = UInt16(index)
    }

    func start() {
        lock.withLock { running = true }
        let thread = Thread(named: "block-producer", stackBytes: 4 << 20) { [self] in
            while lock.withLock({ running }) { produceOnce() }
            finished.signal()
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        service.mempool.wakeAll()
        finished.wait()
    }

    private func produceOnce() {
        guard service.mempool.waitForTransactions(timeoutMs: 500) else { return }
        do {
            try commitNextBlock(candidates: service.mempool.peek(Int(service.genesis.consensus.blockMaxEntries)))
        } catch {
            service.log.error("block.failed", ["error": String(describing: error)])
            Thread.sleep(forTimeInterval: 1)
        }
    }

    private func commitNextBlock(candidates: [SignedTransaction]) throws {
        let started = DispatchTime.now()
        let store = service.store
        let height = store.headHeight + 1
        let blockTimeMs = max(service.clock.nowMs(), store.headTimeMs + 1)
        let proposal = try service.executor.propose(candidates, height: height, blockTimeMs: blockTimeMs, state: store.writerView)
        let executed = DispatchTime.now()
        let refused = proposal.rejected.map { ($0.0.id, $0.1) }
        var appended: Block?
        if !proposal.entries.isEmpty {
            let committed = certify(entries: proposal.entries, height: height, timeMs: blockTimeMs, previousHash: store.headHash)
            let certified = DispatchTime.now()
            try store.append(committed, changes: proposal.changes)
            appended = committed.block
            record(committed, timings: [("execute_ms", started, executed), ("certify_ms", executed, certified),
                                        ("append_ms", certified, DispatchTime.now())])
        }
        // In this order, so that a transaction that leaves the mempool is already in the store or among the
        // refusals when a waiter looks for it (NodeService.status).
        service.tracker.remember(refused: refused)
        service.removeFromMempool(Set(proposal.entries.map(\.transaction.id) + refused.map(\.0)), committedIn: appended)
        for (id, reason) in refused {
            service.log.info("transaction.refused_in_block", ["id": id.hex, "reason": String(describing: reason)])
        }
        service.metrics.set("healthledger_mempool_transactions", Double(service.mempool.count))
    }

    private func certify(entries: [BlockEntry], height: UInt64, timeMs: UInt64, previousHash: SHA256Digest) -> CommittedBlock {
        let genesis = service.genesis
        let block = Block(entries: entries, height: height, timeMs: timeMs, previousHash: previousHash, proposer: service.identity,
                          genesis: genesis)
        let blockHash = block.header.hash
        let vote = Vote(chainID: genesis.chainID, type: .precommit, height: height, round: 0, blockHash: blockHash)
        let signature = CommitCertificate.Signature(validatorIndex: validatorIndex, signature: service.nodeKey.signature(for: vote.canonicalBytes))
        let certificate = CommitCertificate(height: height, round: 0, blockHash: blockHash, signatures: [signature])
        return CommittedBlock(block: block, certificate: certificate)
    }

    private func record(_ committed: CommittedBlock, timings: [(name: String, from: DispatchTime, to: DispatchTime)]) {
        let milliseconds = timings.map { ($0.name, Double($0.to.uptimeNanoseconds - $0.from.uptimeNanoseconds) / 1e6) }
        let seconds = milliseconds.reduce(0) { $0 + $1.1 } / 1000
        let metrics = service.metrics
        let entries = committed.block.entries
        metrics.increment("healthledger_blocks_committed_total")
        metrics.increment("healthledger_transactions_committed_total", by: Double(entries.count))
        for outcome in entries.compactMap(\.outcome) {
            metrics.increment("healthledger_accesses_total", labels: "decision=\"\(outcome.isAllowed ? "allowed" : "denied")\"")
        }
        metrics.set("healthledger_chain_height", Double(committed.height))
        metrics.set("healthledger_block_commit_seconds_last", seconds)
        var fields: [String: any Sendable] = ["height": committed.height, "entries": entries.count, "hash": committed.block.header.hash.hex]
        for (name, value) in milliseconds { fields[name] = (value * 100).rounded() / 100 }
        service.log.info("block.committed", fields)
    }
}
