// healthledger-bench: release-mode benchmarks that report ratios to this machine's own Ed25519 verification
// rate, measured in the same run (docs/PERFORMANCE.md). Run through `scripts/bench`.
import Foundation

let usage = """
    usage: healthledger-bench core [--events N] [--block-size N] [--baseline-seconds S] [--dir DIR]
           healthledger-bench node [--grants N] [--patients N] [--clients N] [--window-seconds S]
                                   [--latency-seconds S] [--access-samples N] [--decisions N] [--restarts N]
                                   [--no-fast-interval] [--node-binary PATH] [--baseline-seconds S] [--dir DIR]
           healthledger-bench peers [--seconds-per-size S] [--handshakes N] [--baseline-seconds S]
           healthledger-bench clinical [--service-patients N] [--service-samples N] [--node-binary PATH]
                                       [--baseline-seconds S] [--dir DIR]
           healthledger-bench consortium [--clients N] [--window-seconds S] [--latency-seconds S] [--batch-size N] [--latency-rate R]
                                         [--latency-load-batch N] [--node-binary PATH] [--baseline-seconds S] [--dir DIR]

    Parts:
      core   Ed25519 baseline (E1 one thread, E2 two threads), chain store append rate, offline audit rate
      node   Ed25519 baseline, then against a real `healthledger node` process on loopback: committed tx/s at
             saturation, commit latency at half that rate, access-with-audit latency, policy decision with
             1,000,000 grants, node peak memory, restart time on a ledger of more than 1,000,000 events
      peers  Ed25519 baseline, then two validators' TLS peer links on loopback: frames/s and MB/s for 200 B,
             4 KiB, 64 KiB and 1 MiB payloads; full mutual TLS 1.3 handshakes per second
      clinical Ed25519 baseline, then against a real `healthledger node` process (the single-node default):
             sequential POST /v1/diagnose and /v1/plan end to end (gate, records, extraction, inference, result
             commit): p50/p99 latency and requests/s; the computation alone in process
      consortium  Ed25519 baseline, then four validator processes running consensus on loopback: committed
             tx/s at saturation (batches sent to all four), commit latency at half that rate; ratios to E2/4

    Options (core):
      --events N             events in the generated chain (default 200000, at least 10000)
      --block-size N         events per block (default 1000)
    Options (node):
      --grants N             grants in the large ledger (default 1000000; plus one record per patient)
      --patients N           patients in the large ledger (default 100000)
      --clients N            client connections at saturation (default 8)
      --window-seconds S     saturation measuring window, after a 3 s warm-up (default 10)
      --latency-seconds S    duration of the half-rate latency run (default 10)
      --access-samples N     sequential POST /v1/access requests timed per node (default 200)
      --decisions N          policy decisions timed (default 20000)
      --restarts N           timed restarts (default 3; the median is reported)
      --no-fast-interval     skip the second access measurement on a genesis with blockIntervalMs = 1
      --node-binary PATH     the healthledger binary (default: beside this program; node, clinical and consortium)
    Options (consortium):
      --clients N            client connections at saturation, spread over the validators (default 8)
      --window-seconds S     saturation window after a 3 s warm-up (default 10); --latency-seconds S (default 10)
      --batch-size N         transactions per POST /v1/transactions/batch (default 100)
      --latency-rate R       also measure the commit latency at R tx/s
      --latency-load-batch N the latency runs' load (not the timed samples) in batches of N (default 1: one by one)
    Options (peers):
      --seconds-per-size S   how long each payload size streams (default 3)
      --handshakes N         handshakes timed (default 2000)
    Options (clinical):
      --service-patients N   patients with a cardiology and a diabetes work-up stored through the API (default 50)
      --service-samples N    timed requests per service, after 20 warm-up requests (default 400)
    Common:
      --baseline-seconds S   how long each Ed25519 baseline runs (default 3)
      --dir DIR              scratch directory (default: a new temporary directory, removed afterwards)

    Prints progress, then one JSON object as its last line. Exit codes: 0 done, 2 usage error, 1 failure.
    """

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

signal(SIGPIPE, SIG_IGN)
var options = CoreBenchmark.Options()
var nodeOptions = NodeBenchmark.Options()
var peerOptions = PeerBenchmark.Options()
var clinicalOptions = ClinicalBenchmark.Options()
var consortiumOptions = ConsortiumBenchmark.Options()
var parts: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value\n\n\(usage)", code: 2) }
        return value
    }
    func number(_ range: ClosedRange<Int>) -> Int {
        let text = value()
        guard let number = Int(text), range.contains(number) else { fail("\(argument) must be a number in \(range), got \(text)", code: 2) }
        return number
    }
    switch argument {
    case "-h", "--help": print(usage); exit(0)
    case "core", "node", "peers", "clinical", "consortium": parts.append(argument)
    case "--events": options.events = number(10_000...50_000_000)
    case "--block-size": options.blockSize = number(1...100_000)
    case "--baseline-seconds":
        options.baselineSeconds = Double(number(1...60))
        nodeOptions.baselineSeconds = options.baselineSeconds
        peerOptions.baselineSeconds = options.baselineSeconds
        clinicalOptions.baselineSeconds = options.baselineSeconds
        consortiumOptions.baselineSeconds = options.baselineSeconds
    case "--dir":
        options.directory = value()
        nodeOptions.directory = options.directory
        clinicalOptions.directory = options.directory
        consortiumOptions.directory = options.directory
    case "--grants": nodeOptions.grants = number(1_000...50_000_000)
    case "--patients": nodeOptions.patients = number(1_000...10_000_000)
    case "--clients":
        nodeOptions.clients = number(1...64)
        consortiumOptions.clients = nodeOptions.clients
    case "--window-seconds":
        nodeOptions.windowSeconds = Double(number(1...600))
        consortiumOptions.windowSeconds = nodeOptions.windowSeconds
    case "--latency-seconds":
        nodeOptions.latencySeconds = Double(number(1...600))
        consortiumOptions.latencySeconds = nodeOptions.latencySeconds
    case "--batch-size": consortiumOptions.batchSize = number(1...1_000)
    case "--latency-rate": consortiumOptions.extraLatencyRate = number(10...100_000)
    case "--latency-load-batch": consortiumOptions.latencyLoadBatch = number(1...1_000)
    case "--access-samples": nodeOptions.accessSamples = number(10...100_000)
    case "--decisions": nodeOptions.decisions = number(100...10_000_000)
    case "--restarts": nodeOptions.restarts = number(1...50)
    case "--no-fast-interval": nodeOptions.fastInterval = false
    case "--node-binary":
        nodeOptions.nodeBinary = value()
        clinicalOptions.nodeBinary = nodeOptions.nodeBinary
        consortiumOptions.nodeBinary = nodeOptions.nodeBinary
    case "--seconds-per-size": peerOptions.secondsPerSize = Double(number(1...600))
    case "--handshakes": peerOptions.handshakes = number(10...1_000_000)
    case "--service-patients": clinicalOptions.patients = number(1...10_000)
    case "--service-samples": clinicalOptions.samples = number(10...1_000_000)
    default: fail("unknown argument \(argument)\n\n\(usage)", code: 2)
    }
}
guard parts.count <= 1 else { fail("name one part (core, node, peers, clinical or consortium)\n\n\(usage)", code: 2) }

/// The result with every non-finite number (a percentile of no samples, a ratio to zero) as `null`, which JSON
/// can carry: the last line stays one JSON object even when a measurement found nothing.
func jsonSafe(_ value: Any) -> Any {
    switch value {
    case let number as Double: return number.isFinite ? number : NSNull()
    case let object as [String: Any]: return object.mapValues(jsonSafe)
    case let array as [Any]: return array.map(jsonSafe)
    default: return value
    }
}

do {
    let result: [String: Any]
    switch parts.first {
    case "node": result = try NodeBenchmark(options: nodeOptions).run()
    case "peers": result = try PeerBenchmark(options: peerOptions).run()
    case "clinical": result = try ClinicalBenchmark(options: clinicalOptions).run()
    case "consortium": result = try ConsortiumBenchmark(options: consortiumOptions).run()
    default: result = try CoreBenchmark(options: options).run()
    }
    let json = try JSONSerialization.data(withJSONObject: jsonSafe(result), options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    fail("benchmark failed: \(error)", code: 1)
}
