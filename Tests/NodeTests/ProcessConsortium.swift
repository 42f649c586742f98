import Foundation
import Ledger
import Node
import Storage
import Testing
import TestSupport
import Transport

/// Validators as real `healthledger node` processes (the binary built by `swift build --build-tests`), one
/// data directory each, on loopback or each in its own network namespace (`placements`). Keys come from fixed
/// seeds (nodes 1...n, admins 101...); the genesis names each node's peer address. Every process still
/// running is killed when the consortium is released, and the directory removed.
final class ProcessConsortium {
    /// Where a node runs: the IPv4 address its API and peer links listen on, and the command prefix that
    /// puts it there (empty on loopback; `ip netns exec NAME` in a namespace).
    struct Placement {
        let host: String
        let peerPort: UInt16
        let commandPrefix: [String]
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = packageRoot.appendingPathComponent(".build/debug/healthledger").path

    let directory: String
    let genesis: Genesis
    let genesisFile: String
    let nodeKeys: [Ed25519.PrivateKey]
    let adminKeys: [Ed25519.PrivateKey]
    let organisations: [OrganisationID]
    let placements: [Placement]
    let signer: RequestSigner
    private var processes: [Process?]
    private(set) var urls: [String?]

    /// `count` validators on loopback, on free peer ports.
    static func loopback(count: Int, consensus: ConsensusParameters) throws -> ProcessConsortium {
        var placements: [Placement] = []
        var held: [PeerListener] = []
        for _ in 0..<count {
            let listener = try PeerListener.bind(host: "127.0.0.1", port: 0)
            held.append(listener)
            placements.append(Placement(host: "127.0.0.1", peerPort: listener.port, commandPrefix: []))
        }
        // The listeners close when released; the nodes bind the same ports moments later.
        held.removeAll()
        return try ProcessConsortium(placements: placements, consensus: consensus)
    }

    init(placements: [Placement], consensus: ConsensusParameters) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) is missing: build first with 'swift build --build-tests'")
        let count = placements.count
        self.placements = placements
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-processes-\(UUID().uuidString)").path
        nodeKeys = (0..<count).map { fixedKey(UInt8($0 + 1)) }
        adminKeys = (0..<count).map { fixedKey(UInt8($0 + 101)) }
        organisations = (0..<count).map { OrganisationID("hospital-\($0 + 1)")! }
        let (nodeKeys, adminKeys, organisations) = (nodeKeys, adminKeys, organisations)
        genesis = try consortiumGenesis(chainID: "process-consortium", organisations: organisations, adminKeys: adminKeys, nodeKeys: nodeKeys,
                                        peerAddresses: placements.map { "\($0.host):\($0.peerPort)" }, consensus: consensus)
        signer = RequestSigner(chainID: genesis.chainID)
        processes = Array(repeating: nil, count: count)
        urls = Array(repeating: nil, count: count)
        genesisFile = directory + "/genesis.json"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(genesis.jsonBytes).write(to: URL(fileURLWithPath: genesisFile))
        for index in 0..<count {
            let data = dataDirectory(index)
            try FileManager.default.createDirectory(atPath: data.path, withIntermediateDirectories: true)
            try Data(genesis.jsonBytes).write(to: URL(fileURLWithPath: data.genesisFile))
            try KeyFile.save(nodeKeys[index], to: data.nodeKeyFile, passphrase: nil)
            try KeyFile.save(adminKeys[index], to: data.adminKeyFile, passphrase: nil)
        }
    }

    deinit {
        killAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var count: Int { placements.count }
    func dataDirectory(_ index: Int) -> DataDirectory { DataDirectory(path: directory + "/node\(index + 1)") }
    func logFile(_ index: Int) -> String { dataDirectory(index).path + "/node.log" }
    func log(_ index: Int) -> String { (try? String(contentsOfFile: logFile(index), encoding: .utf8)) ?? "" }
    func isRunning(_ index: Int) -> Bool { processes[index]?.isRunning ?? false }
    var running: [Int] { (0..<count).filter(isRunning) }

    /// Starts node `index` and waits for the line it prints once it serves (its URL).
    func start(_ index: Int) throws {
        precondition(!isRunning(index), "node \(index) is running")
        let placement = placements[index]
        let process = Process()
        let arguments = ["node", "--data", dataDirectory(index).path, "--listen", "\(placement.host):0", "--json"]
        if placement.commandPrefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: placement.commandPrefix[0])
            process.arguments = Array(placement.commandPrefix.dropFirst()) + [Self.binary] + arguments
        }
        if !FileManager.default.fileExists(atPath: logFile(index)) { _ = FileManager.default.createFile(atPath: logFile(index), contents: nil) }
        let log = FileHandle(forWritingAtPath: logFile(index))
        log?.seekToEndOfFile()
        process.standardError = log
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        try process.run()
        processes[index] = process
        let started = stdout.firstJSONLine()
        urls[index] = try #require(started?["url"] as? String, "node \(index + 1) did not start; its log: \(self.log(index).suffix(3_000))")
    }

    /// SIGKILL to every node still running.
    func killAll() { for index in processes.indices { kill(index) } }

    /// kill -9: the node gets no chance to finish anything.
    func kill(_ index: Int) { _ = signal(index, SIGKILL) }

    /// SIGTERM, and wait for the exit; returns its status.
    @discardableResult
    func terminate(_ index: Int) -> Int32 { signal(index, SIGTERM) }

    private func signal(_ index: Int, _ number: Int32) -> Int32 {
        guard let process = processes[index] else { return 0 }
        if process.isRunning { Glibc.kill(process.processIdentifier, number) }
        process.waitUntilExit()
        processes[index] = nil
        urls[index] = nil
        return process.terminationStatus
    }

    func url(_ index: Int) -> String { urls[index]! }
    func client(_ index: Int) throws -> NodeClient { try NodeClient(url: url(index), timeoutMs: 20_000) }

    /// Node `index`'s committed height (from `GET /v1/chain/head`).
    func height(_ index: Int) throws -> UInt64 { Online.height(of: try client(index).head()) }

    /// Waits until every running node's consensus status shows all `linked` peers linked and a committed
    /// height of at least `height`.
    func waitHealthy(linked: Int, height: UInt64 = 1, timeoutMs: Int = 60_000) -> Bool {
        eventually(timeoutMs: timeoutMs) {
            running.allSatisfy { index in
                guard let status = try? client(index).consensus() else { return false }
                return (status["peersLinked"] as? Int ?? 0) >= linked && ((status["committedHeight"] as? NSNumber)?.uint64Value ?? 0) >= height
            }
        }
    }

    /// Waits until every node in `nodes` has committed at least `height`.
    func waitForHeight(_ height: UInt64, nodes: [Int]? = nil, timeoutMs: Int = 60_000) -> Bool {
        eventually(timeoutMs: timeoutMs) { (nodes ?? running).allSatisfy { ((try? self.height($0)) ?? 0) >= height } }
    }

    /// The block hashes of heights 1...`height` as node `index` serves them.
    func blockHashes(_ index: Int, through height: UInt64) throws -> [String?] {
        guard height > 0 else { return [] }
        let client = try client(index)
        return try (1...height).map { try client.blockHash(at: $0) }
    }

    /// The HTTP status of `GET /v1/transactions/{id}` at node `index`: 200 committed, 202 pending, 404 unknown.
    func transactionStatus(_ id: TransactionID, at index: Int) throws -> Int {
        try HTTPClient(baseURL: url(index)).request("GET", "/v1/transactions/\(id.hex)").status
    }

    /// Submits a transaction to node `index`, waiting for its block when `wait`.
    @discardableResult
    func submit(_ transaction: SignedTransaction, to index: Int, wait: Bool = true) throws -> [String: Any] {
        try client(index).submit(transaction, wait: wait)
    }

    /// An enrolment of a new practitioner by organisation `organisation`'s admin.
    func enrolment(_ practitioner: Ed25519.PrivateKey, organisation: Int) -> SignedTransaction {
        signer.transaction(.enrollPractitioner(EnrollPractitioner(
            organisation: organisations[organisation], practitioner: Identity(publicKey: practitioner.publicKey),
            role: PractitionerRole("physician")!)), by: adminKeys[organisation])
    }

    /// Runs the `healthledger` binary with `arguments` in the consortium directory; returns its exit code,
    /// stdout and stderr.
    func cli(_ arguments: String...) throws -> (exitCode: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = directory + "/cli-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: output + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: output + ".err", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output + ".out")
        process.standardError = FileHandle(forWritingAtPath: output + ".err")
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(atPath: output + ".out")
            try? FileManager.default.removeItem(atPath: output + ".err")
        }
        return (process.terminationStatus, (try? String(contentsOfFile: output + ".out", encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "")
    }
}

/// The block height a node answer names (0 when it names none).
enum Online {
    static func height(of answer: [String: Any]) -> UInt64 { (answer["height"] as? NSNumber)?.uint64Value ?? 0 }
}
