/// # Simulation
///
/// A deterministic simulator of a HealthLedger consortium: four validators (one of them Byzantine) running
/// the real `Tendermint` machine, the real executor and verifier, real Ed25519 keys and signatures, in one
/// process, on simulated time, over a simulated network that drops, delays, duplicates, reorders and
/// partitions messages, with nodes that crash and restart from their write-ahead log. Everything random is
/// drawn from one seeded generator, so a seed is a complete description of a run: a failure prints its
/// seed, and `healthledger-simulate --seed S` replays it event for event.
///
/// Each run has a fault phase (everything the fault plan says) and a quiet phase (a reliable network, every
/// node up) in which new transactions must commit. After the run the checker demands: no two honest nodes
/// committed different blocks at any height; every honest node's chain passes the offline `ChainVerifier`
/// with the genesis alone; no transaction a node acknowledged is missing from any honest chain; progress
/// after the faults stopped; the Byzantine validator's equivocation was reported as valid evidence (and no
/// honest validator was accused); no honest validator ever signed two messages for one step; and each
/// node's write-ahead log replays to its live state.

import Consensus
import Ledger
import TestSupport

/// How a run is shaped. The defaults are what `scripts/simulate` and the test suite use.
public struct SimulationOptions: Sendable {
    /// Validators in the consortium (one validator per organisation).
    public var validatorCount = 4
    /// Whether one validator (chosen by the seed) is Byzantine and equivocates.
    public var hasByzantineValidator = true
    /// Length of the fault phase in simulated milliseconds.
    public var faultPhaseMs: UInt64 = 3_000
    /// How long the quiet phase may take to commit its transactions before the run counts as stuck.
    public var quietPhaseLimitMs: UInt64 = 60_000
    /// Client transactions submitted during the fault phase.
    public var transactionCount = 16
    /// Upper bounds of the fault plan's loss rate and delivery delay in the fault phase.
    public var maxDropPercent = 20
    public var maxNetworkDelayMs: UInt64 = 300
    /// Delivery delay bound in the quiet phase.
    public var quietNetworkDelayMs: UInt64 = 20
    /// Each node's clock is off by at most this much, well inside `blockTimeMaxDriftMs`: honest proposals
    /// stay timely for honest validators unless the network delays them.
    public var maxClockSkewMs: UInt64 = 200
    /// How often a node re-sends its own messages of the current height and checks whether it is behind.
    public var gossipIntervalMs: UInt64 = 250
    /// Keep every trace line (for the verbose replay of one seed), not only the recent ones.
    public var keepsFullTrace = false
    /// A deliberate bug in how honest nodes restart, to show that the checks catch what it breaks (tests).
    public var injectedFault: InjectedFault?
    /// The genesis consensus parameters of the simulated chain: short timeouts so a run covers many rounds.
    public var consensus: ConsensusParameters = {
        var parameters = ConsensusParameters()
        parameters.blockIntervalMs = 100
        parameters.timeoutProposeMs = 400
        parameters.timeoutVoteMs = 200
        parameters.timeoutDeltaMs = 100
        parameters.blockTimeMaxDriftMs = 1_000
        return parameters
    }()

    /// The default shape of a run.
    public init() {}
}

/// Deliberate bugs for testing the checker: a simulator whose checks never fail proves nothing.
public enum InjectedFault: Sendable {
    /// A restarted node rebuilds its signing guard from its write-ahead log but does not replay the log: it
    /// starts its height afresh, tries to sign again what it already signed differently, and its guard
    /// must refuse.
    case skipReplayOnRestart
    /// A restarted node loses its write-ahead log, and with it the record of what it signed: nothing stops
    /// it from signing a second, different vote for a step it already voted in.
    case forgetLogOnRestart
    /// A node's own proposals and votes leave before its log is synced: a crash of the machine can take the
    /// record of a signature already sent, and nothing stops the restarted node from signing differently there.
    case sendBeforeSync
}

/// Why a run failed, with what is needed to reproduce it. Safe to print (ids and heights only).
public struct SimulationFailure: Error, Sendable, CustomStringConvertible {
    /// The failing seed and the check that failed.
    public let seed: UInt64
    public let reason: String
    /// The last events before the failure.
    public let recentEvents: [String]

    public var description: String {
        (["simulation seed \(seed) failed: \(reason)", "recent events:"] + recentEvents.map { "  " + $0 }
            + ["reproduce with: scripts/simulate --seed \(seed)"]).joined(separator: "\n")
    }
}

/// The outcome of one run.
public struct SimulationReport: Sendable {
    /// The seed that was run.
    public let seed: UInt64
    /// Nil when every check passed.
    public let failure: SimulationFailure?
    /// Hash of every event of the run: equal for two runs of one seed.
    public let traceHash: String
    /// Events handled, and simulated time at the end.
    public let eventCount: Int
    public let simulatedMs: UInt64
    /// Each node's committed height at the end.
    public let heights: [UInt64]
    /// The head block hash of the highest honest chain.
    public let headHash: String
    /// The equivocating validator, and the faults drawn for the run.
    public let byzantineValidator: Int?
    public let plan: String
    /// Transactions in the highest honest chain; acknowledged to clients; evidence reports by honest nodes.
    public let committedTransactions: Int
    public let acknowledgedTransactions: Int
    public let evidenceReports: Int
    /// Messages handed to the network, those it lost, and crashes that struck.
    public let messagesSent: Int
    public let messagesLost: Int
    public let crashes: Int
    /// Blocks that restarted nodes stored again from their logs (a crash had taken them from the chain).
    public let restoredBlocks: Int
    /// Log records that crashes took before they were synced (inputs the restarted nodes no longer had).
    public let unsyncedLogRecordsLost: Int
    /// Trace lines: the recent ones, or all with `keepsFullTrace`.
    public let trace: [String]

    /// True when every check passed.
    public var passed: Bool { failure == nil }
}

/// Runs one seeded simulation.
public struct Simulation {
    private enum Event {
        case boot(Int)
        case deliver(to: Int, from: Int, bytes: [UInt8])
        case timer(node: Int, incarnation: Int, NodeTimer)
        case crash(node: Int, afterDurableWrites: Int)
        case restart(Int)
        case submit
        case quietPhase
    }

    private struct Acknowledgement {
        let id: TransactionID
        let node: Int
        let height: UInt64
    }

    /// A failed check, raised where it is found.
    private struct CheckFailed: Error {
        let reason: String
    }

    private let seed: UInt64
    private let options: SimulationOptions
    private let genesis: Genesis
    private let byzantine: Int?
    private let plan: FaultPlan
    private let network: SimulatedNetwork
    private var random: SeededRandom
    private var nodes: [SimulatedNode]
    private var client: ClientWorkload
    private var queue = EventQueue<Event>()
    private var trace: SimulationTrace
    private var nowMs: UInt64 = 0
    /// Simulated time 0 on the nodes' clocks: one second after the genesis time.
    private let epochMs: UInt64
    private var acknowledgements: [Acknowledgement] = []
    private var probes: [TransactionID] = []
    private var quietStartedMs: UInt64?
    private var decidedHashes: [UInt64: SHA256Digest] = [:]
    private var signedByHonest: [Int: [SigningPosition: SHA256Digest]] = [:]
    private var evidenceReports: [(node: Int, evidence: Evidence)] = []
    private var counters = (sent: 0, lost: 0, crashes: 0, restored: 0)

    /// Runs the simulation of `seed` and checks it.
    public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions()) -> SimulationReport {
        var simulation = Simulation(seed: seed, options: options)
        return simulation.runAndCheck()
    }

    private init(seed: UInt64, options: SimulationOptions) {
        precondition(options.validatorCount >= 4, "one Byzantine validator needs at least four")
        self.seed = seed
        self.options = options
        var random = SeededRandom(seed: seed)
        let byzantine = options.hasByzantineValidator ? Int.random(in: 0..<options.validatorCount, using: &random) : nil
        let plan = FaultPlan(random: &random, options: options, byzantine: byzantine)
        let builder = ChainBuilder(seed: random.next(), organisationCount: options.validatorCount, consensus: options.consensus)
        genesis = builder.genesis
        epochMs = genesis.genesisTimeMs + 1_000
        nodes = (0..<options.validatorCount).map {
            SimulatedNode(index: $0, genesis: builder.genesis, key: builder.validatorKey($0), isByzantine: $0 == byzantine,
                          clockSkewMs: plan.clockSkewsMs[$0], gossipIntervalMs: options.gossipIntervalMs, seed: seed,
                          injectedFault: options.injectedFault)
        }
        client = ClientWorkload(signer: builder, organisationCount: options.validatorCount)
        network = SimulatedNetwork(plan: plan, faultPhaseEndMs: options.faultPhaseMs, quietMaxDelayMs: options.quietNetworkDelayMs)
        trace = SimulationTrace(keepsAll: options.keepsFullTrace)
        self.byzantine = byzantine
        self.plan = plan
        self.random = random
    }

    private var honestNodes: [Int] { nodes.indices.filter { $0 != byzantine } }

    private mutating func runAndCheck() -> SimulationReport {
        schedule()
        var failure: String?
        do {
            try runEvents()
            try checkFinalState()
        } catch let failed as CheckFailed {
            failure = failed.reason
        } catch {
            failure = String(describing: error)
        }
        return report(failure: failure)
    }

    private mutating func schedule() {
        for node in nodes.indices { queue.schedule(.boot(node), atMs: 0) }
        for crash in plan.crashes {
            queue.schedule(.crash(node: crash.node, afterDurableWrites: crash.afterDurableWrites), atMs: crash.atMs)
            if crash.afterDurableWrites > 0 {
                // If the armed crash has not struck by half-way through the downtime, it strikes then.
                queue.schedule(.crash(node: crash.node, afterDurableWrites: 0), atMs: crash.atMs + (crash.restartMs - crash.atMs) / 2)
            }
            queue.schedule(.restart(crash.node), atMs: crash.restartMs)
        }
        for _ in 0..<options.transactionCount {
            queue.schedule(.submit, atMs: UInt64.random(in: 1..<options.faultPhaseMs, using: &random))
        }
        queue.schedule(.quietPhase, atMs: options.faultPhaseMs)
    }

    // MARK: Running

    private mutating func runEvents() throws {
        let deadlineMs = options.faultPhaseMs + options.quietPhaseLimitMs
        while let (timeMs, event) = queue.next() {
            guard timeMs <= deadlineMs else { break }
            nowMs = timeMs
            try handle(event)
            if try isFinished() { return }
        }
        let acknowledged = Set(acknowledgements.map(\.id))
        if let byzantine, probes.allSatisfy(acknowledged.contains) {
            throw CheckFailed(reason: "no honest node reported the equivocation of validator \(byzantine) by \(nowMs)ms")
        }
        throw CheckFailed(reason: "no progress after the faults stopped: \(progressSummary()) at \(nowMs)ms")
    }

    private mutating func handle(_ event: Event) throws {
        let clockMs = epochMs + nowMs
        switch event {
        case let .boot(node):
            trace.record(.boot(node: node, head: nodes[node].headHeight), atMs: nowMs)
            try apply(nodes[node].boot(atMs: clockMs), from: node)
        case let .restart(node):
            if nodes[node].isUp {
                nodes[node].disarmCrash()
            } else {
                trace.record(.boot(node: node, head: nodes[node].headHeight), atMs: nowMs)
                try apply(nodes[node].boot(atMs: clockMs), from: node)
            }
        case let .crash(node, afterDurableWrites):
            guard nodes[node].isUp else { return }
            if afterDurableWrites > 0 {
                nodes[node].armCrash(afterDurableWrites: afterDurableWrites)
            } else {
                nodes[node].crash()
                noteCrash(node)
            }
        case let .deliver(to, from, bytes):
            guard nodes[to].isUp else { return }
            trace.record(.deliver(to: to, from: from, kind: Self.kind(of: bytes), size: bytes.count), atMs: nowMs)
            try apply(nodes[to].receive(bytes, from: from, atMs: clockMs), from: to)
        case let .timer(node, incarnation, timer):
            guard nodes[node].isUp, nodes[node].incarnation == incarnation else { return }
            if case .gossip = timer {} else { trace.record(.timer(node: node, timer), atMs: nowMs) }
            try apply(nodes[node].timerFired(timer, atMs: clockMs), from: node)
        case .submit:
            try submit(client.next(nowMs: clockMs))
        case .quietPhase:
            quietStartedMs = nowMs
            trace.record(.phase("quiet phase: faults stop, every node is up"), atMs: nowMs)
            for node in honestNodes where !nodes[node].isUp {
                throw CheckFailed(reason: "node \(node) is still down when the quiet phase begins")
            }
            for node in honestNodes {
                let probe = client.probe(nowMs: clockMs)
                probes.append(probe.id)
                try submit(probe, to: node)
            }
        }
    }

    private mutating func noteCrash(_ node: Int) {
        counters.crashes += 1
        trace.record(.crash(node: node), atMs: nowMs)
    }

    private mutating func submit(_ transaction: SignedTransaction, to chosen: Int? = nil) throws {
        let upNodes = honestNodes.filter { nodes[$0].isUp }
        guard let node = chosen ?? upNodes.randomElement(using: &random) else { return }
        let (accepted, effects) = nodes[node].submit(transaction, atMs: epochMs + nowMs)
        trace.record(.submit(node: node, transaction.id, accepted: accepted), atMs: nowMs)
        if chosen != nil, !accepted { throw CheckFailed(reason: "node \(node) refused a probe transaction in the quiet phase") }
        try apply(effects, from: node)
    }

    /// Carries out what a node asked for and checks what it reported.
    private mutating func apply(_ effects: [NodeEffect], from node: Int) throws {
        for effect in effects {
            switch effect {
            case let .send(to, bytes):
                counters.sent += 1
                let delays = network.deliveryDelays(from: node, to: to, nowMs: nowMs, random: &random)
                if delays.isEmpty {
                    counters.lost += 1
                    trace.record(.lost(from: node, to: to, kind: Self.kind(of: bytes)), atMs: nowMs)
                }
                for delay in delays { queue.schedule(.deliver(to: to, from: node, bytes: bytes), atMs: nowMs + delay) }
            case let .schedule(timer, afterMs):
                queue.schedule(.timer(node: node, incarnation: nodes[node].incarnation, timer), atMs: nowMs + afterMs)
            case let .committed(committed):
                try noteCommit(committed, by: node)
            case let .acknowledged(id, height):
                acknowledgements.append(Acknowledgement(id: id, node: node, height: height))
                client.acknowledged(id)
                trace.record(.acknowledged(node: node, id, height: height), atMs: nowMs)
            case let .evidence(found):
                evidenceReports.append((node, found))
                trace.record(.evidence(node: node, against: found.validatorIndex, height: found.height), atMs: nowMs)
            case let .signed(position, bytesHash, value):
                trace.record(.signed(node: node, position, value: value), atMs: nowMs)
                guard node != byzantine else { continue }
                if let earlier = signedByHonest[node]?[position], earlier != bytesHash {
                    throw CheckFailed(reason: "honest validator \(node) signed two different messages at \(position)")
                }
                signedByHonest[node, default: [:]][position] = bytesHash
            case let .refused(refusal):
                if node != byzantine { throw CheckFailed(reason: "honest validator \(node): signing guard refused: \(refusal)") }
            case let .synced(peer, blocks):
                trace.record(.synced(node: node, fromPeer: peer, blocks: blocks), atMs: nowMs)
            case let .restored(blocks):
                counters.restored += blocks
                trace.record(.restored(node: node, blocks: blocks), atMs: nowMs)
            case let .proposalRefused(height, round, reason):
                trace.record(.proposalRefused(node: node, height: height, round: round, reason: reason), atMs: nowMs)
            case let .violation(reason):
                throw CheckFailed(reason: reason)
            case .crashed:
                noteCrash(node)
            }
        }
    }

    /// Agreement, checked as it happens: the first honest commit of a height fixes its block.
    private mutating func noteCommit(_ committed: CommittedBlock, by node: Int) throws {
        let hash = committed.block.header.hash
        trace.record(.commit(node: node, height: committed.height, round: committed.certificate.round, hash: hash,
                             entries: committed.block.entries.count), atMs: nowMs)
        guard node != byzantine else { return }
        if let decided = decidedHashes[committed.height], decided != hash {
            throw CheckFailed(reason: "agreement: node \(node) committed \(hash) at height \(committed.height), another honest node \(decided)")
        }
        decidedHashes[committed.height] = hash
    }

    /// The run ends once every probe was acknowledged, every honest node holds every acknowledged block, and
    /// (with a Byzantine validator) an honest node has reported its equivocation: a Byzantine validator cut
    /// off through the whole fault phase equivocates only once it has caught up in the quiet phase.
    private func isFinished() throws -> Bool {
        guard quietStartedMs != nil, !probes.isEmpty else { return false }
        if let byzantine, !evidenceReports.contains(where: { $0.node != byzantine }) { return false }
        let acknowledged = Set(acknowledgements.map(\.id))
        guard probes.allSatisfy(acknowledged.contains) else { return false }
        let needed = acknowledgements.map(\.height).max() ?? 0
        return honestNodes.allSatisfy { nodes[$0].isUp && nodes[$0].headHeight >= needed }
    }

    private func progressSummary() -> String {
        let acknowledged = Set(acknowledgements.map(\.id))
        let heights = nodes.map { "node \($0.index): height \($0.headHeight), deciding \($0.machine.height) round \($0.machine.round)" }
        return "\(probes.filter(acknowledged.contains).count) of \(probes.count) probe transactions committed; " + heights.joined(separator: "; ")
    }

    // MARK: Final checks

    private func checkFinalState() throws {
        let chains = honestNodes.map { (node: $0, blocks: nodes[$0].storedBlocks) }
        try checkAgreement(chains)
        try checkChainsVerify(chains)
        try checkAcknowledgements(chains)
        try checkEvidence()
        try checkReplay()
    }

    private func checkAgreement(_ chains: [(node: Int, blocks: [CommittedBlock])]) throws {
        guard let longest = chains.max(by: { $0.blocks.count < $1.blocks.count }) else { return }
        for chain in chains {
            for (position, block) in chain.blocks.enumerated() where block.block != longest.blocks[position].block {
                throw CheckFailed(reason: "agreement: nodes \(chain.node) and \(longest.node) hold different blocks at height \(position + 1)")
            }
        }
    }

    /// Every honest chain, with its own certificates, through the offline verifier from the genesis alone.
    /// A signature shared by several chains is verified once.
    private func checkChainsVerify(_ chains: [(node: Int, blocks: [CommittedBlock])]) throws {
        var verifiedSignatures: Set<SHA256Digest> = []
        for chain in chains {
            var verifier = ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
            for block in chain.blocks {
                let checks: [SignatureCheck]
                do {
                    checks = try verifier.append(block)
                } catch {
                    throw CheckFailed(reason: "node \(chain.node)'s chain fails verification: \(error)")
                }
                for check in checks {
                    let key = SHA256.hash(check.signer.publicKeyBytes + check.signature + SHA256.hash(check.message).bytes)
                    guard !verifiedSignatures.contains(key) else { continue }
                    if let failure = check.run() { throw CheckFailed(reason: "node \(chain.node)'s chain fails verification: \(failure)") }
                    verifiedSignatures.insert(key)
                }
            }
        }
    }

    private func checkAcknowledgements(_ chains: [(node: Int, blocks: [CommittedBlock])]) throws {
        for acknowledgement in acknowledgements where acknowledgement.node != byzantine {
            for chain in chains {
                let index = Int(acknowledgement.height) - 1
                guard index < chain.blocks.count,
                    chain.blocks[index].block.entries.contains(where: { $0.transaction.id == acknowledgement.id })
                else {
                    throw CheckFailed(reason: "transaction \(acknowledgement.id) acknowledged by node \(acknowledgement.node) at height "
                        + "\(acknowledgement.height) is missing from node \(chain.node)'s chain")
                }
            }
        }
    }

    private func checkEvidence() throws {
        for (node, found) in evidenceReports {
            guard found.isValid(in: genesis) else { throw CheckFailed(reason: "node \(node) reported invalid evidence") }
            if Int(found.validatorIndex) != byzantine {
                throw CheckFailed(reason: "node \(node) reported evidence against honest validator \(found.validatorIndex)")
            }
        }
        if let byzantine, !evidenceReports.contains(where: { $0.node != byzantine }) {
            throw CheckFailed(reason: "no honest node reported the equivocation of validator \(byzantine)")
        }
    }

    /// Each node's write-ahead log as written (what a crash of the process, not of the machine, leaves), its
    /// height in progress replayed into a fresh machine, gives its live machine.
    private func checkReplay() throws {
        for node in nodes where node.isUp && !node.writtenLog.isEmpty && node.machine.height > 0 {
            let resumption: ConsensusReplay.Resumption?
            do {
                resumption = try ConsensusReplay.resuming(node.writtenLog, storedHeight: node.machine.height - 1,
                                                          configuration: ConsensusConfiguration(genesis: genesis, ownIndex: node.index))
            } catch {
                throw CheckFailed(reason: "node \(node.index)'s write-ahead log does not replay: \(error)")
            }
            guard resumption?.current.machine == node.machine else {
                throw CheckFailed(reason: "node \(node.index)'s write-ahead log replays to another state")
            }
        }
    }

    // MARK: Report

    private func report(failure: String?) -> SimulationReport {
        let highest = honestNodes.max { nodes[$0].headHeight < nodes[$1].headHeight }
        let committed = highest.map { nodes[$0].storedBlocks.reduce(0) { $0 + $1.block.entries.count } } ?? 0
        return SimulationReport(
            seed: seed, failure: failure.map { SimulationFailure(seed: seed, reason: $0, recentEvents: trace.recentLines) },
            traceHash: trace.hashText, eventCount: trace.eventCount, simulatedMs: nowMs, heights: nodes.map(\.headHeight),
            headHash: highest.flatMap { nodes[$0].storedBlocks.last?.block.header.hash.hex } ?? genesis.hash.hex,
            byzantineValidator: byzantine, plan: plan.description, committedTransactions: committed,
            acknowledgedTransactions: acknowledgements.count, evidenceReports: evidenceReports.count,
            messagesSent: counters.sent, messagesLost: counters.lost, crashes: counters.crashes,
            restoredBlocks: counters.restored, unsyncedLogRecordsLost: nodes.reduce(0) { $0 + $1.unsyncedLogRecordsLost },
            trace: trace.lines)
    }

    /// The peer message kind of encoded bytes, read without decoding (for the trace).
    private static func kind(of bytes: [UInt8]) -> UInt8 {
        let offset = 2 + PeerMessage.domainTag.utf8.count + 1
        return bytes.count > offset ? bytes[offset] : 0
    }
}
