import Foundation
import Simulation
import Testing

/// The deterministic simulator over many seeds, its reproducibility (in one process and across processes),
/// and proof that its checks fail when a node is deliberately broken.
@Suite struct SimulationTests {
    static let seedCount = 200

    /// Seeds 1...200 with the default fault mix: drops, delays, duplicates, reordering, partitions, crashes
    /// with restarts from the write-ahead log (a crash also takes the blocks appended since the last durable
    /// append, which the log gives back, and part of what the log had written since its last sync), and one
    /// equivocating validator. Each must pass every check; the
    /// aggregate shows the faults really happened.
    @Test func twoHundredSeedsPassEveryCheck() {
        let started = Date()
        var totals = (lost: 0, crashes: 0, restored: 0, unsyncedLost: 0, evidence: 0, acknowledged: 0, maxHeight: UInt64(0),
                      minHeight: UInt64.max)
        for seed in 1...UInt64(Self.seedCount) {
            let report = Simulation.run(seed: seed)
            if let failure = report.failure {
                Issue.record("\(failure)")
                return
            }
            totals.lost += report.messagesLost
            totals.crashes += report.crashes
            totals.restored += report.restoredBlocks
            totals.unsyncedLost += report.unsyncedLogRecordsLost
            totals.evidence += report.evidenceReports
            totals.acknowledged += report.acknowledgedTransactions
            let honestHeights = report.heights.enumerated().filter { $0.offset != report.byzantineValidator }.map(\.element)
            totals.maxHeight = max(totals.maxHeight, honestHeights.max()!)
            totals.minHeight = min(totals.minHeight, honestHeights.min()!)
        }
        print("SimulationTests: \(Self.seedCount) seeds in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(totals)")
        #expect(totals.lost > 1_000 && totals.crashes > 50 && totals.evidence > Self.seedCount, "faults were injected: \(totals)")
        #expect(totals.restored > 0, "crashes took appended blocks that the logs gave back: \(totals)")
        #expect(totals.unsyncedLost > 0, "crashes took log records written after the last sync: \(totals)")
        #expect(totals.acknowledged > 10 * Self.seedCount, "transactions were committed: \(totals)")
        #expect(totals.minHeight >= 2, "every honest node committed past its first block in every run: \(totals)")
    }

    @Test func aSeedReplaysToTheSameTraceInTheSameProcess() {
        let first = Simulation.run(seed: 42)
        let second = Simulation.run(seed: 42)
        #expect(first.passed)
        #expect(first.traceHash == second.traceHash)
        #expect(first.eventCount == second.eventCount && first.heights == second.heights && first.headHash == second.headHash)
        #expect(first.trace == second.trace)
        #expect(Simulation.run(seed: 43).traceHash != first.traceHash, "another seed is another run")
    }

    /// The command replays a seed in a fresh process (another hash seed for Swift's dictionaries): the
    /// trace hash must equal the in-process one, so nothing depends on iteration order or addresses.
    @Test func theReplayCommandReproducesASeedInAnotherProcess() throws {
        let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/healthledger-simulate").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first with 'swift build --build-tests'")
        let expected = Simulation.run(seed: 9).traceHash
        for _ in 0..<2 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--seed", "9", "--json"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["trace_hash"] as? String == expected)
            #expect(object["passed"] as? Bool == true)
            #expect((object["trace"] as? [String])?.isEmpty == false)
        }
    }

    @Test func withoutFaultsEveryTransactionCommits() {
        var options = SimulationOptions()
        options.maxDropPercent = 0
        options.hasByzantineValidator = false
        var reports: [SimulationReport] = []
        for seed in 1...UInt64(20) {
            let report = Simulation.run(seed: seed, options: options)
            #expect(report.passed, "\(report.failure.map(String.init(describing:)) ?? "")")
            #expect(report.evidenceReports == 0, "nobody equivocates")
            reports.append(report)
        }
        #expect(reports.allSatisfy { $0.acknowledgedTransactions >= options.transactionCount / 2 })
    }

    /// A node that does not replay its write-ahead log on restart tries to sign again where it already
    /// signed; its signing guard, rebuilt from the log, refuses, and the checker reports it.
    @Test func skippingTheReplayIsCaughtByTheSigningGuard() {
        var options = SimulationOptions()
        options.injectedFault = .skipReplayOnRestart
        let failures = (1...UInt64(60)).compactMap { Simulation.run(seed: $0, options: options).failure }
        #expect(failures.contains { $0.reason.contains("signing guard refused") }, "\(failures.map(\.reason))")
        #expect(!failures.contains { $0.reason.contains("agreement") }, "the guard alone keeps agreement")
    }

    /// A node that loses its log, and with it what it signed, signs two different votes for one step: the
    /// checker sees the honest validator equivocate.
    @Test func forgettingTheLogIsCaughtAsEquivocation() {
        var options = SimulationOptions()
        options.injectedFault = .forgetLogOnRestart
        let failures = (1...UInt64(60)).compactMap { Simulation.run(seed: $0, options: options).failure }
        #expect(failures.contains { $0.reason.contains("signed two different messages") }, "\(failures.map(\.reason))")
    }

    /// A node whose signed messages leave before its log is synced loses the record of some of them when its
    /// machine crashes (the simulated crash keeps only part of what was written since the last sync), and
    /// signs differently where it already signed: the checker sees the honest validator equivocate.
    @Test func sendingBeforeTheSyncIsCaughtAsEquivocation() {
        var options = SimulationOptions()
        options.injectedFault = .sendBeforeSync
        let failures = (1...UInt64(60)).compactMap { Simulation.run(seed: $0, options: options).failure }
        #expect(failures.contains { $0.reason.contains("signed two different messages") }, "\(failures.map(\.reason))")
    }

    @Test func aFailureNamesItsSeedAndHowToReproduceIt() throws {
        var options = SimulationOptions()
        options.injectedFault = .forgetLogOnRestart
        let failure = try #require((1...UInt64(60)).lazy.compactMap { Simulation.run(seed: $0, options: options).failure }.first)
        let text = failure.description
        #expect(text.contains("simulation seed \(failure.seed) failed"))
        #expect(text.contains("reproduce with: scripts/simulate --seed \(failure.seed)"))
        #expect(!failure.recentEvents.isEmpty)
    }
}
