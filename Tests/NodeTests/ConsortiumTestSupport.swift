import Consensus
import Foundation
import Ledger
import Node
import Storage
import Transport

/// A key from a fixed seed: every byte `number`.
func fixedKey(_ number: UInt8) -> Ed25519.PrivateKey { try! Ed25519.PrivateKey(seed: [UInt8](repeating: number, count: 32)) }

/// Polls `condition` every 20 ms until it holds or `timeoutMs` passes; returns whether it held.
func eventually(timeoutMs: Int, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

/// Several validators on loopback in this process: one `NodeRuntime` per validator (its own data directory,
/// real SQLite files, real TLS peer links, real HTTP), a genesis with one organisation per validator, and the
/// keys of each organisation's admin. Peer listeners are bound first on free ports so the genesis can name
/// them. Fixed keys (seeds 1...n for nodes, 101... for admins) keep runs reproducible.
final class InProcessConsortium {
    let directory: String
    let genesis: Genesis
    let nodeKeys: [Ed25519.PrivateKey]
    let adminKeys: [Ed25519.PrivateKey]
    let organisations: [OrganisationID]
    let peerPorts: [UInt16]
    private(set) var runtimes: [NodeRuntime?]
    let logs: [LogLines]
    let signer: RequestSigner
    private var listeners: [PeerListener?]

    /// Test timing: short timeouts and interval so heights pass quickly, with room for a loaded machine.
    static func testParameters() -> ConsensusParameters {
        var consensus = ConsensusParameters()
        consensus.blockIntervalMs = 100
        consensus.timeoutProposeMs = 600
        consensus.timeoutVoteMs = 300
        consensus.timeoutDeltaMs = 200
        return consensus
    }

    /// Makes the keys, data directories and genesis for `count` validators whose peer links listen on
    /// `peerHost`, and starts those in `running`.
    init(count: Int = 4, running: [Int]? = nil, consensus: ConsensusParameters = testParameters(), peerHost: String = "127.0.0.1") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-consortium-\(UUID().uuidString)").path
        let nodeKeys = (0..<count).map { fixedKey(UInt8($0 + 1)) }
        let adminKeys = (0..<count).map { fixedKey(UInt8($0 + 101)) }
        let organisations = (0..<count).map { OrganisationID("hospital-\($0 + 1)")! }
        (self.nodeKeys, self.adminKeys, self.organisations) = (nodeKeys, adminKeys, organisations)
        var bound: [PeerListener] = []
        for _ in 0..<count { bound.append(try PeerListener.bind(host: peerHost, port: 0)) }
        listeners = bound
        let peerPorts = bound.map(\.port)
        self.peerPorts = peerPorts
        genesis = try consortiumGenesis(chainID: "test-consortium", organisations: organisations, adminKeys: adminKeys, nodeKeys: nodeKeys,
                                        peerAddresses: peerPorts.map { HostPort(host: peerHost, port: $0).text }, consensus: consensus)
        signer = RequestSigner(chainID: genesis.chainID)
        logs = (0..<count).map { _ in LogLines() }
        runtimes = Array(repeating: nil, count: count)
        for index in 0..<count {
            let data = dataDirectory(index)
            try FileManager.default.createDirectory(atPath: data.path, withIntermediateDirectories: true)
            try Data(genesis.jsonBytes).write(to: URL(fileURLWithPath: data.genesisFile))
            try KeyFile.save(nodeKeys[index], to: data.nodeKeyFile, passphrase: nil)
        }
        for index in running ?? Array(0..<count) { try start(index) }
    }

    deinit {
        for index in runtimes.indices { stop(index) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func dataDirectory(_ index: Int) -> DataDirectory { DataDirectory(path: directory + "/node\(index + 1)") }

    /// Starts validator `index` (again) on its data directory and its genesis peer port, with the test's
    /// consensus settings changed by `adjust`.
    func start(_ index: Int, adjust: (inout ConsensusSettings) -> Void = { _ in }) throws {
        precondition(runtimes[index] == nil, "node \(index) is running")
        var configuration = NodeConfiguration(dataDirectory: dataDirectory(index))
        configuration.listenPort = 0
        configuration.consensus.jitterSeed = UInt64(index + 1)
        configuration.consensus.gossipIntervalMs = 300
        adjust(&configuration.consensus)
        if let listener = listeners[index] {
            configuration.consensus.peerListener = listener
            listeners[index] = nil
        }
        let lines = logs[index]
        runtimes[index] = try NodeRuntime.start(configuration, log: Log(clock: SystemClock()) { lines.append($0) })
    }

    /// The bound peer listener of validator `index`, never started, for a test that plays that validator.
    func takeListener(_ index: Int) -> PeerListener {
        defer { listeners[index] = nil }
        return listeners[index]!
    }

    /// A peer network playing validator `index` with its genuine key, or with `key` instead (a stranger),
    /// listening on validator `index`'s port; frames it receives are ignored.
    func impostor(_ index: Int, key: Ed25519.PrivateKey? = nil) throws -> PeerNetwork {
        let endpoints = try genesis.validators.map { try PeerEndpoint(key: $0.key.publicKey, address: $0.address) }
        var configuration = PeerNetworkConfiguration(privateKey: key ?? nodeKeys[index], chainID: genesis.chainID.value, validators: endpoints,
                                                     jitterSeed: 99)
        configuration.reconnectMaxDelayMs = 500
        let network = try PeerNetwork(configuration: configuration, listener: key == nil ? takeListener(index) : nil, onFrame: { _, _ in })
        try network.start()
        return network
    }

    /// A vote of validator `index` signed with its genuine key.
    func signedVote(_ vote: Vote, by index: Int) -> SignedVote {
        SignedVote(vote: vote, validatorIndex: UInt16(index), signature: nodeKeys[index].signature(for: vote.canonicalBytes))
    }

    /// A counter from node `index`'s /metrics (0 when absent).
    func metric(_ index: Int, _ name: String) throws -> Double {
        let text = String(decoding: try HTTPClient(baseURL: runtime(index).url).request("GET", "/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last!) } ?? 0
    }

    /// Stops validator `index` (its data stays).
    func stop(_ index: Int) {
        runtimes[index]?.stop()
        runtimes[index] = nil
    }

    func runtime(_ index: Int) -> NodeRuntime { runtimes[index]! }
    func client(_ index: Int) throws -> NodeClient { try NodeClient(url: runtime(index).url, timeoutMs: 30_000) }
    func store(_ index: Int) -> ChainStore { runtime(index).service.store }
    var running: [Int] { runtimes.indices.filter { runtimes[$0] != nil } }

    /// Waits until every running node has committed at least `height`.
    func waitForHeight(_ height: UInt64, timeoutMs: Int = 30_000) -> Bool {
        eventually(timeoutMs: timeoutMs) { running.allSatisfy { store($0).headHeight >= height } }
    }

    /// The block hashes of heights 1...`height` on node `index` (nil where it has no block).
    func blockHashes(_ index: Int, through height: UInt64) throws -> [SHA256Digest?] {
        guard height > 0 else { return [] }
        return try (1...height).map { try store(index).storedBlock(at: $0)?.hash }
    }

    /// Enrols a practitioner of organisation `organisation` through node `node`, waiting for the block.
    @discardableResult
    func enrol(_ practitioner: Ed25519.PrivateKey, organisation: Int, through node: Int) throws -> [String: Any] {
        try client(node).submit(signer.transaction(.enrollPractitioner(EnrollPractitioner(
            organisation: organisations[organisation], practitioner: Identity(publicKey: practitioner.publicKey),
            role: PractitionerRole("physician")!)), by: adminKeys[organisation]))
    }
}

/// A genesis of one organisation (`Hospital N`, its admin key) and one validator (`node-N`, its node key at
/// its peer address) per index, starting a minute ago: the consortium the node tests start.
func consortiumGenesis(chainID: String, organisations: [OrganisationID], adminKeys: [Ed25519.PrivateKey], nodeKeys: [Ed25519.PrivateKey],
                       peerAddresses: [String], consensus: ConsensusParameters) throws -> Genesis {
    try Genesis(
        chainID: ChainID(chainID)!, genesisTimeMs: SystemClock().nowMs() / 1000 * 1000 - 60_000,
        organisations: organisations.indices.map {
            Organisation(id: organisations[$0], name: "Hospital \($0 + 1)", adminKey: Identity(publicKey: adminKeys[$0].publicKey))
        },
        validators: organisations.indices.map {
            Validator(name: "node-\($0 + 1)", organisation: organisations[$0], key: Identity(publicKey: nodeKeys[$0].publicKey),
                      address: peerAddresses[$0])
        },
        consensus: consensus)
}
