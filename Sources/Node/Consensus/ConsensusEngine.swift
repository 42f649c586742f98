import Consensus
import Crypto
import Foundation
import Ledger
import Storage
import Transport

/// Multi-validator consensus in the node: the peer network (TLS links pinned to the genesis keys), the
/// traffic handler that verifies what peers send, and the consensus thread (`ConsensusDriver`), wired to
/// the node's mempool, chain store and commit tracker. `NodeRuntime` runs it whenever this node does not
/// hold more than 2/3 of the voting power alone; otherwise the group-commit `BlockProducer` certifies
/// blocks by itself, as in the embedded one-node default.
final class ConsensusEngine: @unchecked Sendable {
    private let service: NodeService
    private let network: PeerNetwork
    private let driver: ConsensusDriver
    private let traffic: PeerTraffic
    private let inbox: ConsensusInbox
    private let progress: ConsensusProgress
    let directory: PeerDirectory
    let evidence: EvidenceStore

    /// True when `identity` holds more than 2/3 of `genesis`'s voting power: it certifies blocks alone.
    static func certifiesAlone(_ genesis: Genesis, _ identity: Identity) -> Bool {
        guard let index = genesis.validatorIndex(of: identity) else { return false }
        return genesis.validators[index].power * 3 > genesis.totalVotingPower * 2
    }

    /// What the signer state file of an earlier version says was signed last: nil when there is none, or
    /// when the chain has committed its height (the file is then removed).
    private static func earlierSignerState(at path: String, committedHeight: UInt64) throws(NodeError) -> LastSigned? {
        let file: SignerStateFile
        do {
            file = try SignerStateFile(path: path)
        } catch {
            throw .storage(error)
        }
        guard let bytes = file.loaded else { return nil }
        let state: LastSigned
        do {
            state = try LastSigned(canonicalBytes: bytes)
        } catch {
            throw .configuration("\(path): the signer state does not decode (\(error)); refusing to sign until an operator restores it")
        }
        guard state.height <= committedHeight else { return state }
        do {
            try file.remove()
        } catch {
            throw .storage(error)
        }
        return nil
    }

    /// Opens the consensus files of the data directory and builds the peer network, without starting anything.
    init(service: NodeService, dataDirectory: DataDirectory, settings: ConsensusSettings) throws(NodeError) {
        let genesis = service.genesis
        guard let ownIndex = genesis.validatorIndex(of: service.identity) else {
            throw .configuration("this node's key (\(service.identity.text)) is not a validator in the genesis")
        }
        self.service = service
        let writeAheadLog: WriteAheadLog
        do {
            writeAheadLog = try WriteAheadLog(path: dataDirectory.consensusLogFile)
            evidence = try EvidenceStore(path: dataDirectory.evidenceFile, capacity: settings.evidenceCapacity)
        } catch {
            throw .storage(error)
        }
        if writeAheadLog.truncatedTail {
            service.log.info("consensus.log.truncated", ["path": writeAheadLog.path, "records": writeAheadLog.recovered.count])
        }
        directory = PeerDirectory(genesis: genesis, ownIndex: ownIndex, ownAPIURL: nil)
        inbox = ConsensusInbox(capacity: settings.inboxCapacity)
        progress = ConsensusProgress()
        let verified = VerifiedSignatures()
        let lateVotes = LateVotes(configuration: ConsensusConfiguration(genesis: genesis, ownIndex: ownIndex))
        let peerConfiguration = try Self.peerConfiguration(genesis: genesis, key: service.nodeKey, ownIndex: ownIndex, settings: settings)
        traffic = PeerTraffic(service: service, inbox: inbox, progress: progress, directory: directory, verified: verified, lateVotes: lateVotes,
                              maxFrameBytes: peerConfiguration.maxFrameBytes,
                              syncBudget: SyncAnswerBudget(bytesPerSecond: settings.syncAnswerBytesPerSecond, burstBytes: settings.syncAnswerBurstBytes))
        do {
            network = try PeerNetwork(configuration: peerConfiguration, listener: settings.peerListener, onFrame: { [traffic] key, payload in traffic.frame(from: key, payload) },
                                      onEvent: { [traffic] event in traffic.event(event) })
        } catch {
            throw .configuration("cannot set up the peer links: \(error)")
        }
        let sender = NetworkSender(network: network, keys: genesis.validators.map(\.key.publicKey), metrics: service.metrics)
        traffic.reply = { [network] payload, key in try? network.send(payload, to: key) }
        driver = try ConsensusDriver(service: service, ownIndex: ownIndex, settings: settings, inbox: inbox, progress: progress,
                                     writeAheadLog: writeAheadLog,
                                     savedSignerState: try Self.earlierSignerState(at: dataDirectory.signerStateFile,
                                                                                   committedHeight: service.store.headHeight),
                                     evidence: evidence, directory: directory, verified: verified, lateVotes: lateVotes,
                                     gossip: traffic.gossip, sender: sender)
        service.metrics.increment("healthledger_consensus_evidence_total", by: Double(evidence.count))
        service.metrics.set("healthledger_consensus_peers_linked", 0)
        service.admissionObserver = { [inbox] transactions, relay in
            for transaction in transactions { verified.insert(transaction) }
            if relay {
                sender.broadcast(all: transactions.map { PeerMessage.transaction($0).canonicalBytes })
                service.metrics.increment("healthledger_transactions_gossiped_total", labels: "direction=\"out\"",
                                          by: Double(transactions.count))
            }
            inbox.post(.transactionsArrived)
        }
    }

    /// The peer network's settings: every genesis validator at its genesis address, this node listening on
    /// its own (or the override), frames large enough for the largest block.
    static func peerConfiguration(genesis: Genesis, key: Ed25519.PrivateKey, ownIndex: Int,
                                  settings: ConsensusSettings) throws(NodeError) -> PeerNetworkConfiguration {
        var endpoints: [PeerEndpoint] = []
        for validator in genesis.validators {
            do {
                endpoints.append(try PeerEndpoint(key: validator.key.publicKey, address: validator.address))
            } catch {
                throw .configuration("genesis validator \(validator.name): \(error)")
            }
        }
        var configuration = PeerNetworkConfiguration(privateKey: key, chainID: genesis.chainID.value, validators: endpoints,
                                                     jitterSeed: settings.jitterSeed ?? Self.randomSeed())
        let own = endpoints[ownIndex]
        configuration.listenHost = settings.peerListenHost ?? (HostPort.isIPLiteral(own.host) || own.host == "localhost" ? own.host : PeerListener.everyInterface)
        configuration.listenPort = settings.peerListenPort ?? own.port
        configuration.maxFrameBytes = max(configuration.maxFrameBytes, Int(genesis.consensus.blockMaxBytes) + 1024 * 1024)
        configuration.sendQueueMaxBytes = max(configuration.sendQueueMaxBytes, 2 * configuration.maxFrameBytes)
        return configuration
    }

    private static func randomSeed() -> UInt64 { SecureRandom.bytes(count: 8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// Starts listening and dialing, then the consensus thread. `apiURL` is announced to the peers.
    func start(apiURL: String) throws(NodeError) {
        directory.setOwnAPIURL(NodeAnnouncement.isValidURL(apiURL) ? apiURL : nil)
        do {
            try network.start()
        } catch {
            throw .configuration("cannot listen for peers: \(error)")
        }
        traffic.gossip.start(threads: 2)
        driver.start()
        service.log.info("consensus.started", ["validators": service.genesis.validators.count, "peerPort": Int(network.port),
                                               "height": service.store.headHeight + 1])
    }

    /// Stops the consensus thread, then closes every peer link.
    func stop() {
        driver.stop()
        network.stop()
        traffic.gossip.stop()
    }

    /// Lowers the calling thread's priority below the consensus and peer threads (nice 10; on Linux the nice
    /// value is per thread), for work that may wait when the processors are short: bulk requests
    /// (`Router.isBulk`) and verifying gossip. A height is decided sooner, and every waiting request is
    /// answered sooner with it.
    static func lowerThreadPriority() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, GossipAdmission.niceness)
    }

    /// The port peer links listen on.
    var peerPort: UInt16 { network.port }

    /// Where consensus stands and what this node knows of each validator.
    var status: ConsensusStatus {
        let position = progress.snapshot
        let statistics = Dictionary(uniqueKeysWithValues: network.statistics.peers.map { ($0.peer, $0) })
        let peers = directory.snapshot.map { entry in
            let linked = statistics[entry.key.publicKey]
            return ConsensusStatus.PeerStatus(
                name: entry.name, organisation: entry.organisation.value, key: entry.key.text, isSelf: entry.index == directory.ownIndex,
                apiURL: entry.apiURL, committedHeight: entry.committedHeight, outboundLinked: linked?.outboundConnected ?? false,
                inboundLinked: linked?.inboundConnected ?? false)
        }
        var status = ConsensusStatus(mode: "consensus")
        (status.height, status.round, status.step, status.halted) = (position.height, position.round, position.step, position.halted)
        status.committedHeight = service.store.headHeight
        status.inboxWaiting = inbox.waiting
        status.evidenceCount = evidence.count
        status.peers = peers
        return status
    }
}

/// The driver's way out: the peer network, with the validator index turned into its key.
private struct NetworkSender: ConsensusSender {
    let network: PeerNetwork
    let keys: [Ed25519.PublicKey]
    let metrics: Metrics

    func broadcast(_ payload: [UInt8]) { broadcast(all: [payload]) }

    /// Queues `payloads`, in order, for every other validator: to each in one write when it can take them.
    func broadcast(all payloads: [[UInt8]]) {
        do {
            try network.broadcast(all: payloads)
        } catch {
            metrics.increment("healthledger_consensus_messages_unsent_total", by: Double(payloads.count))
        }
    }

    func send(_ payload: [UInt8], toValidator validator: Int) {
        do {
            try network.send(payload, to: keys[validator])
        } catch {
            metrics.increment("healthledger_consensus_messages_unsent_total")
        }
    }
}
