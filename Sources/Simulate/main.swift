// healthledger-simulate: runs the deterministic consensus simulator over many seeds, or replays one seed
// with its full event trace. A thin command over the `Simulation` library: parse arguments, run, print.
//
// Exit codes: 0 every run passed, 1 a run failed (its seed and recent events are printed), 2 usage error.

import Foundation
import Simulation

let usage = """
    OVERVIEW: Run the deterministic consensus simulator: four validators (one Byzantine) on simulated time,
    over a network that drops, delays, duplicates, reorders and partitions messages, with crashes and
    restarts from the write-ahead log. Stops at the first failing seed and prints how to reproduce it.

    USAGE: healthledger-simulate [--seeds N] [--start S] [--json]
           healthledger-simulate --seed S [--json]

    OPTIONS:
      --seeds N     Number of seeds to run (default 200).
      --start S     First seed (default 1); seeds S, S+1, ..., S+N-1 are run.
      --seed S      Replay seed S alone and print its whole event trace.
      --json        Print one JSON object instead of text.
      -h, --help    Show this help.
    """

struct Arguments {
    var seeds = 200
    var start: UInt64 = 1
    var single: UInt64?
    var json = false
}

func parse(_ arguments: [String]) -> Arguments? {
    var parsed = Arguments()
    var remaining = arguments[...]
    func value(_ name: String) -> UInt64? {
        guard let text = remaining.popFirst(), let number = UInt64(text) else {
            FileHandle.standardError.write(Data("error: \(name) needs a non-negative whole number\n".utf8))
            return nil
        }
        return number
    }
    while let argument = remaining.popFirst() {
        switch argument {
        case "--seeds":
            guard let count = value(argument), count >= 1, count <= 1_000_000 else { return nil }
            parsed.seeds = Int(count)
        case "--start":
            guard let start = value(argument) else { return nil }
            parsed.start = start
        case "--seed":
            guard let seed = value(argument) else { return nil }
            parsed.single = seed
        case "--json":
            parsed.json = true
        case "-h", "--help":
            print(usage)
            exit(0)
        default:
            FileHandle.standardError.write(Data("error: unknown argument '\(argument)'\n".utf8))
            return nil
        }
    }
    return parsed
}

func json(_ object: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

func summary(_ report: SimulationReport) -> [String: Any] {
    var object: [String: Any] = [
        "seed": report.seed, "passed": report.passed, "trace_hash": report.traceHash, "events": report.eventCount,
        "simulated_ms": report.simulatedMs, "heights": report.heights, "head_hash": report.headHash,
        "committed_transactions": report.committedTransactions, "acknowledged_transactions": report.acknowledgedTransactions,
        "evidence_reports": report.evidenceReports, "messages_sent": report.messagesSent, "messages_lost": report.messagesLost,
        "crashes": report.crashes, "restored_blocks": report.restoredBlocks,
        "unsynced_log_records_lost": report.unsyncedLogRecordsLost, "faults": report.plan,
    ]
    object["byzantine_validator"] = report.byzantineValidator.map { $0 as Any } ?? NSNull()
    if let failure = report.failure {
        object["failure"] = failure.reason
        object["recent_events"] = failure.recentEvents
    }
    return object
}

func describe(_ report: SimulationReport) -> String {
    "seed \(report.seed): \(report.passed ? "passed" : "FAILED"), heights \(report.heights), \(report.committedTransactions) transactions, "
        + "\(report.evidenceReports) evidence reports, \(report.messagesSent) messages (\(report.messagesLost) lost), "
        + "\(report.crashes) crashes (\(report.restoredBlocks) blocks restored from logs, \(report.unsyncedLogRecordsLost) unsynced log records lost), "
        + "\(report.simulatedMs) ms simulated, "
        + "trace \(report.traceHash)"
}

guard let arguments = parse(Array(CommandLine.arguments.dropFirst())) else {
    FileHandle.standardError.write(Data("\(usage)\n".utf8))
    exit(2)
}

if let seed = arguments.single {
    var options = SimulationOptions()
    options.keepsFullTrace = true
    let report = Simulation.run(seed: seed, options: options)
    if arguments.json {
        var object = summary(report)
        object["trace"] = report.trace
        print(json(object))
    } else {
        print("faults: \(report.plan); byzantine validator: \(report.byzantineValidator.map(String.init) ?? "none")")
        report.trace.forEach { print($0) }
        print(describe(report))
        if let failure = report.failure { print(failure) }
    }
    exit(report.passed ? 0 : 1)
}

let started = Date()
var passed = 0
var lastSeed = arguments.start
for offset in 0..<arguments.seeds {
    let seed = arguments.start &+ UInt64(offset)
    lastSeed = seed
    let report = Simulation.run(seed: seed)
    guard report.passed else {
        let elapsed = Date().timeIntervalSince(started)
        if arguments.json {
            print(json(["seeds_run": offset + 1, "passed": passed, "failed_seed": seed, "seconds": elapsed, "failure": summary(report)]))
        } else {
            print(describe(report))
            print(report.failure!)
        }
        exit(1)
    }
    passed += 1
    if !arguments.json && (offset + 1) % 50 == 0 {
        print("\(offset + 1) seeds passed (last \(seed)), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
let elapsed = Date().timeIntervalSince(started)
if arguments.json {
    print(json(["seeds_run": arguments.seeds, "passed": passed, "first_seed": arguments.start, "last_seed": lastSeed, "seconds": elapsed]))
} else {
    print("all \(passed) seeds passed (\(arguments.start)...\(lastSeed)) in \(String(format: "%.1f", elapsed)) s")
}
