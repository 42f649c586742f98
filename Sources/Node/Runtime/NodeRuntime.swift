import Clinical
import Foundation
import Ledger
import Storage
import Transport

/// What a node needs to start.
public struct NodeConfiguration: Sendable {
    public var dataDirectory: DataDirectory
    /// Default: `genesis.json` in the data directory.
    public var genesisFile: String?
    /// Default: `node.key` in the data directory.
    public var keyFile: String?
    public var keyPassphrase: [UInt8]?
    public var listenHost = "127.0.0.1"
    public var listenPort: UInt16 = 7700
    public var mempoolCapacity = 10_000
    /// How much one diagnose or plan call reads: at most 10,000 records and 64 MiB by default.
    public var serviceLimits = ExtractionLimits.standard
    public var http = HTTPServerConfiguration()
    /// Peer links and the consensus thread, when the genesis has several validators (docs/CONSENSUS.md).
    public var consensus = ConsensusSettings()

    public init(dataDirectory: DataDirectory) { self.dataDirectory = dataDirectory }

    public var listenAddress: String { HostPort(host: listenHost, port: listenPort).text }
}

/// A running node: the stores, the block producer or the consensus engine, and the HTTP server. `start`
/// refuses a data directory it cannot read correctly, saying why; `stop` finishes the block in progress and
/// closes everything.
///
/// Which one certifies blocks follows from the genesis: a node holding more than 2/3 of the voting power
/// (the embedded one-node default) commits by group commit alone (`BlockProducer`); otherwise it runs
/// Tendermint with the other validators over TLS peer links (`ConsensusEngine`, docs/CONSENSUS.md).
public final class NodeRuntime: @unchecked Sendable {
    public let service: NodeService
    private let producer: BlockProducer?
    private let consensus: ConsensusEngine?
    private let server: HTTPServer
    public let configuration: NodeConfiguration

    /// Opens everything and starts serving.
    public static func start(_ configuration: NodeConfiguration, clock: any Clock = SystemClock(), log: Log = Log()) throws(NodeError) -> NodeRuntime {
        let directory = configuration.dataDirectory
        let genesis = try loadGenesis(configuration.genesisFile ?? directory.genesisFile)
        let keyFile = configuration.keyFile ?? directory.nodeKeyFile
        let nodeKey: Ed25519.PrivateKey
        do {
            nodeKey = try KeyFile.load(from: keyFile, passphrase: configuration.keyPassphrase)
        } catch {
            throw .configuration("cannot load the node key \(keyFile): \(error)")
        }
        let store: ChainStore
        let vault: RecordVault
        do {
            store = try ChainStore(path: directory.ledgerDatabase, genesis: genesis)
            vault = try RecordVault(path: directory.vaultDatabase,
                                    keyEncryptionKey: try RecordVault.loadOrCreateKeyEncryptionKey(at: directory.vaultKeyFile))
        } catch let error as StorageError {
            throw .storage(error)
        } catch {
            throw .configuration("cannot open the data directory \(directory.path): \(error)")
        }
        let service = try NodeService(genesis: genesis, store: store, vault: vault, nodeKey: nodeKey,
                                      mempoolCapacity: configuration.mempoolCapacity, clock: clock, log: log, metrics: Metrics(),
                                      serviceLimits: configuration.serviceLimits)
        return try NodeRuntime(configuration: configuration, service: service)
    }

    private init(configuration: NodeConfiguration, service: NodeService) throws(NodeError) {
        self.configuration = configuration
        self.service = service
        if ConsensusEngine.certifiesAlone(service.genesis, service.identity) {
            producer = try BlockProducer(service: service)
            consensus = nil
        } else {
            producer = nil
            consensus = try ConsensusEngine(service: service, dataDirectory: configuration.dataDirectory, settings: configuration.consensus)
        }
        var http = configuration.http
        http.host = configuration.listenHost
        http.port = configuration.listenPort
        let router = Router(service: service, consensus: consensus)
        server = HTTPServer(configuration: http) { router.handle($0) }
        router.server.withLock { [server] in $0 = server }
        service.metrics.set("healthledger_chain_height", Double(service.store.headHeight))
        producer?.start()
        do {
            try server.start()
        } catch {
            producer?.stop()
            throw .configuration("cannot listen on \(configuration.listenAddress): \(error)")
        }
        do {
            try consensus?.start(apiURL: configuration.consensus.publicURL ?? announcedURL)
        } catch {
            server.stop()
            throw error
        }
        service.log.info("node.started", ["url": url, "data": configuration.dataDirectory.path, "height": service.store.headHeight,
                                          "chainId": service.genesis.chainID.value, "node": service.identity.text,
                                          "mode": consensus == nil ? "single-validator" : "consensus"])
    }

    /// The API URL peers are told: the listen address, with the host of this node's peer address when the
    /// API listens on all interfaces.
    private var announcedURL: String {
        guard HostPort.isWildcard(configuration.listenHost),
            let own = service.genesis.validators.first(where: { $0.key == service.identity }),
            let peerAddress = HostPort(own.address)
        else { return url }
        return "http://\(HostPort(host: peerAddress.host, port: server.port).text)"
    }

    /// The port peer links listen on (nil when this node certifies alone and has no peers).
    public var peerPort: UInt16? { consensus?.peerPort }

    /// The URL the API is served at.
    public var url: String { "http://\(HostPort(host: configuration.listenHost, port: server.port).text)" }

    public var port: UInt16 { server.port }

    /// Stops serving, lets the block producer finish its block, and wakes every waiting request.
    public func stop() {
        server.stop()
        producer?.stop()
        consensus?.stop()
        service.wakeWaiters()
        service.log.info("node.stopped", ["height": service.store.headHeight])
    }

    static func loadGenesis(_ path: String) throws(NodeError) -> Genesis {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("cannot read the genesis file \(path): create one with `healthledger genesis init`, or start `healthledger node` with no arguments for the embedded default")
        }
        do {
            return try Genesis(jsonBytes: Array(data))
        } catch {
            throw .configuration("\(path): \(error)")
        }
    }
}
