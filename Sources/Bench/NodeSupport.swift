import Foundation
import Ledger
import Node
import Storage
import TestSupport
import Transport

// Plumbing for the `node` benchmark: a real `healthledger node` process, data directories made from the
// node's own file formats, a chain writer that signs and certifies blocks with the node's key, and small
// thread helpers.

enum NodeBenchError: Error, CustomStringConvertible {
    case node(String)
    case unexpected(String)

    var description: String {
        switch self {
        case let .node(detail): return "node process: \(detail)"
        case let .unexpected(detail): return detail
        }
    }
}

func progress(_ line: String) {
    print(line)
    fflush(nil)
}

func nowSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func wallClockMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

/// Sleeps until the monotonic time `deadline` (seconds, as `nowSeconds`).
func sleep(until deadline: Double) {
    // One usleep takes at most about an hour (a UInt32 of microseconds): long waits are several short ones.
    while true {
        let delta = deadline - nowSeconds()
        guard delta > 0 else { return }
        usleep(UInt32(min(delta, 1) * 1e6))
    }
}

/// The value at quantile `q` (0...1) of unsorted samples, nearest rank.
func quantile(_ samples: [Double], _ q: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[max(0, min(sorted.count - 1, rank))]
}

func rounded(_ value: Double, _ digits: Int = 2) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}

/// Computes `body(i)` for i in 0..<count on `threads` threads (contiguous chunks), in order.
func parallelMap<T>(_ count: Int, threads: Int = 2, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let box = ResultBox<T>(count)
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
        for index in (count * thread / threads)..<(count * (thread + 1) / threads) { box.set(index, body(index)) }
    }
    return box.values
}

private final class ResultBox<T>: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<T?>
    private let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: nil, count: count)
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }

    func set(_ index: Int, _ value: T) { pointer[index] = value }  // distinct indexes from each thread

    var values: [T] { (0..<count).map { pointer[$0]! } }
}

/// Samples and counters shared by client threads.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [Double] = []
    private var counts: [String: Int] = [:]

    func add(_ sample: Double) { lock.withLock { samples.append(sample) } }
    func count(_ key: String, _ by: Int = 1) { lock.withLock { counts[key, default: 0] += by } }
    var allSamples: [Double] { lock.withLock { samples } }
    var allCounts: [String: Int] { lock.withLock { counts } }
}

/// A queue of pre-encoded request bodies taken by index.
final class Feed: @unchecked Sendable {
    let bodies: [[UInt8]]
    private let lock = NSLock()
    private var next = 0
    private var stopped = false

    init(_ bodies: [[UInt8]]) { self.bodies = bodies }

    func take() -> Int? {
        lock.withLock {
            guard !stopped, next < bodies.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func stop() { lock.withLock { stopped = true } }
    var taken: Int { lock.withLock { next } }
    var exhausted: Bool { lock.withLock { next >= bodies.count } }
}

/// The bodies of `POST /v1/transactions/batch` (each transaction as a 4-byte big-endian length and its bytes),
/// `batchSize` transactions each.
func batchBodies(_ signed: [[UInt8]], batchSize: Int) -> [[UInt8]] {
    stride(from: 0, to: signed.count, by: batchSize).map { start in
        signed[start..<min(start + batchSize, signed.count)].reduce(into: [UInt8]()) { body, bytes in
            body += withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
        }
    }
}

/// Starts `clients` threads that post the feed's batches as fast as they are answered, client i to
/// `urls[i % urls.count]`, retrying a batch answered 503 (busy) after 5 ms. Returns the function that waits for
/// them (they end when the feed is exhausted or stopped).
func startSaturatingClients(_ clients: Int, urls: [String], feed: Feed, tally: Tally) -> () -> Void {
    startThreads(clients, name: "saturate") { thread in
        guard let http = try? HTTPClient(baseURL: urls[thread % urls.count], timeoutMs: 30_000) else { tally.count("connect-error"); return }
        while let index = feed.take() {
            while true {
                guard let response = try? http.request("POST", "/v1/transactions/batch", headers: binaryHeaders, body: feed.bodies[index]) else {
                    tally.count("transport-error"); break
                }
                if response.status == 503 {
                    tally.count("busy")
                    usleep(5_000)
                    continue
                }
                tally.count(response.status == 200 ? "batches-admitted" : "http-\(response.status)")
                break
            }
        }
    }
}

/// Starts `count` threads running `body(index)` and returns a function that waits for all of them.
func startThreads(_ count: Int, name: String, _ body: @escaping @Sendable (Int) -> Void) -> () -> Void {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.name = "\(name)-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }
    return { group.wait() }
}

/// The HTTP body of `POST /v1/transactions` and `POST /v1/access` for a signed transaction.
func transactionBody(_ transaction: SignedTransaction) -> [UInt8] {
    Array("{\"transaction\":\"\(Hex.encode(transaction.canonicalBytes))\"}".utf8)
}

let jsonHeaders: [(name: String, value: String)] = [(name: "content-type", value: "application/json")]
let binaryHeaders: [(name: String, value: String)] = [(name: "content-type", value: "application/octet-stream")]

/// A real `healthledger node` process on a free loopback port.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let url: String
    /// Seconds from spawning the process to its "serving" line on stdout.
    let secondsToServing: Double
    let logPath: String

    init(binary: String, data: String, logPath: String) throws {
        self.logPath = logPath
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["node", "--data", data, "--listen", "127.0.0.1:0", "--json"]
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardError = log
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        let started = nowSeconds()
        try process.run()
        let object = stdout.firstJSONLine()
        secondsToServing = nowSeconds() - started
        guard let url = object?["url"] as? String else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw NodeBenchError.node("did not print its URL; log tail: \(log.suffix(2_000))")
        }
        self.url = url
    }

    var pid: Int32 { process.processIdentifier }

    /// CPU seconds (user + system) the node process has used.
    var cpuSeconds: Double { cpuSecondsOfProcess(String(pid)) }

    /// A field of /proc/PID/status ("VmHWM" is the peak resident set), in megabytes.
    func memoryMB(_ field: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() } }
}

/// The `healthledger` binary the node parts start.
enum NodeBinary {
    /// `given`, else the `healthledger` beside this program.
    static func find(_ given: String?) throws -> String {
        if let given { return given }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("healthledger").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw NodeBenchError.node("no healthledger binary at \(candidate): build it (swift build -c release --product healthledger) or pass --node-binary")
        }
        return candidate
    }
}

/// CPU seconds (user + system) of /proc/ID/stat ("self" for this process).
func cpuSecondsOfProcess(_ id: String) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(id)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return .nan }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Small HTTP helpers against a node.
struct NodeHTTP {
    let http: HTTPClient

    init(url: String) throws { http = try HTTPClient(baseURL: url, timeoutMs: 60_000) }

    func json(_ path: String) throws -> [String: Any] {
        let response = try http.request("GET", path)
        guard response.status == 200, let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
            throw NodeBenchError.unexpected("GET \(path) answered HTTP \(response.status)")
        }
        return object
    }

    /// A counter or gauge from /metrics (sum over its label sets).
    func metric(_ name: String) throws -> Double {
        let response = try http.request("GET", "/metrics")
        var total = 0.0
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name) {
            let rest = line.dropFirst(name.count)
            guard rest.first == " " || rest.first == "{" else { continue }
            total += Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return total
    }

    /// Waits until every id is committed (GET /v1/transactions/{id} answers 200).
    func waitCommitted(_ ids: [TransactionID], timeoutSeconds: Double = 120) throws {
        let deadline = nowSeconds() + timeoutSeconds
        for id in ids {
            while true {
                let status = try http.request("GET", "/v1/transactions/\(id.hex)").status
                if status == 200 { break }
                guard status == 202, nowSeconds() < deadline else {
                    throw NodeBenchError.unexpected("transaction \(id.hex) is not committed (HTTP \(status))")
                }
                usleep(20_000)
            }
        }
    }

    /// Waits until the mempool is empty.
    func waitIdle(timeoutSeconds: Double = 120) throws {
        let deadline = nowSeconds() + timeoutSeconds
        while (try json("/health")["mempool"] as? Int ?? 0) > 0 {
            guard nowSeconds() < deadline else { throw NodeBenchError.unexpected("the mempool did not drain") }
            usleep(50_000)
        }
    }
}

/// A node data directory written from the node's own formats (DataDirectory): genesis.json, node.key and
/// admin.key, for one organisation `local-hospital` with one validator, like the embedded default, but with
/// chosen consensus parameters and genesis time.
struct BenchChain: @unchecked Sendable {
    let path: String
    let genesis: Genesis
    let nodeKey: Ed25519.PrivateKey
    let adminKey: Ed25519.PrivateKey
    let organisation = OrganisationID("local-hospital")!

    init(path: String, consensus: ConsensusParameters = ConsensusParameters(), genesisTimeMs: UInt64) throws {
        self.path = path
        let directory = DataDirectory(path: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        nodeKey = Ed25519.PrivateKey()
        adminKey = Ed25519.PrivateKey()
        genesis = try Genesis(
            chainID: ChainID("bench-" + Hex.encode(SecureRandom.bytes(count: 4)))!, genesisTimeMs: genesisTimeMs / 1000 * 1000,
            organisations: [Organisation(id: organisation, name: "Local Hospital", adminKey: Identity(publicKey: adminKey.publicKey))],
            validators: [Validator(name: "local-node", organisation: organisation, key: Identity(publicKey: nodeKey.publicKey),
                                   address: "127.0.0.1:7700")],
            consensus: consensus)
        try Data(genesis.jsonBytes).write(to: URL(fileURLWithPath: directory.genesisFile))
        try KeyFile.save(nodeKey, to: directory.nodeKeyFile, passphrase: nil)
        try KeyFile.save(adminKey, to: directory.adminKeyFile, passphrase: nil)
    }

    var ledgerPath: String { DataDirectory(path: path).ledgerDatabase }
}

/// Appends blocks to a node's ledger database as its block producer would: entries from
/// `BlockExecutor.propose` against the store itself, certified with the node key.
final class ChainWriter {
    let chain: BenchChain
    let store: ChainStore
    private let executor: BlockExecutor
    private(set) var timeMs: UInt64
    private(set) var events = 0

    init(chain: BenchChain) throws {
        self.chain = chain
        store = try ChainStore(path: chain.ledgerPath, genesis: chain.genesis)
        executor = BlockExecutor(genesis: chain.genesis)
        timeMs = store.headTimeMs
    }

    /// The time of the next block: transactions for it are created at this time.
    var nextBlockTimeMs: UInt64 { timeMs + 1_000 }

    func sign(_ body: TransactionBody, by key: Ed25519.PrivateKey, at createdAtMs: UInt64) -> SignedTransaction {
        Transaction(chainID: chain.genesis.chainID, signer: Identity(publicKey: key.publicKey),
                    nonce: SecureRandom.bytes(count: Transaction.nonceByteCount), createdAtMs: createdAtMs, body: body).signed(with: key)
    }

    func commit(_ candidates: [SignedTransaction]) throws {
        let height = store.headHeight + 1
        let blockTimeMs = nextBlockTimeMs
        let proposal = try executor.propose(candidates, height: height, blockTimeMs: blockTimeMs, state: store)
        guard proposal.rejected.isEmpty, proposal.entries.count == candidates.count else {
            throw NodeBenchError.unexpected("generated transactions were left out: \(proposal.rejected.prefix(3).map { "\($0.1)" })")
        }
        let genesis = chain.genesis
        let block = Block(entries: proposal.entries, height: height, timeMs: blockTimeMs, previousHash: store.headHash,
                          proposer: Identity(publicKey: chain.nodeKey.publicKey), genesis: genesis)
        let vote = Vote(chainID: genesis.chainID, type: .precommit, height: height, round: 0, blockHash: block.header.hash)
        let certificate = CommitCertificate(height: height, round: 0, blockHash: block.header.hash, signatures: [
            CommitCertificate.Signature(validatorIndex: 0, signature: chain.nodeKey.signature(for: vote.canonicalBytes)),
        ])
        try store.append(CommittedBlock(block: block, certificate: certificate),
                         changes: proposal.changes)
        timeMs = blockTimeMs
        events += proposal.entries.count
    }
}

