import Foundation
import Ledger
import Storage
import TestSupport

/// `core`: how fast the chain store makes events durable, and how fast the offline auditor verifies a chain,
/// both as ratios to E2 (two-thread Ed25519 verifications per second). Targets (issue 2): audit >= 0.85 x E2;
/// store append >= 5 x E2 (signatures excluded: the node checks them at admission). Also the consensus log's
/// synced appends, with room kept ahead and growing the file.
struct CoreBenchmark {
    struct Options {
        var events = 200_000
        var blockSize = 1_000
        var baselineSeconds = 3.0
        var directory: String?
    }

    let options: Options

    func run() throws -> [String: Any] {
        let (e1, e2) = Ed25519Baseline.measure(seconds: options.baselineSeconds, report: report)
        let directory = try scratchDirectory(options.directory, prefix: "healthledger-bench")
        defer { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }

        // The generated chain lives only inside this scope, so the audit below runs without it in memory.
        let (genesis, eventCount, blockCount, appendSeconds, exportSeconds, exportPath) = try {
            let (genesis, blocks) = generateChain()
            let eventCount = blocks.reduce(0) { $0 + $1.block.block.entries.count }
            report("chain: \(blocks.count) blocks, \(eventCount) events")
            let store = try ChainStore(path: directory + "/ledger.sqlite", genesis: genesis)
            let appendSeconds = try timed {
                for (block, changes) in blocks { try store.append(block, changes: changes) }
            }
            let exportPath = directory + "/chain.hlx"
            let exportSeconds = try timed { try store.export(to: exportPath) }
            return (genesis, eventCount, blocks.count, appendSeconds, exportSeconds, exportPath)
        }()
        let appendRate = Double(eventCount) / appendSeconds
        report("store append (durable, synchronous=FULL, one transaction per block): \(Int(appendRate)) events/s = \(ratio(appendRate, e2)) x E2")
        let exportBytes = (try FileManager.default.attributesOfItem(atPath: exportPath)[.size] as? Int) ?? 0
        report("export: \(Int(Double(eventCount) / exportSeconds)) events/s, \(exportBytes / 1_048_576) MiB")

        let residentBeforeAudit = ProcessMemory.resetPeak() ? ProcessMemory.megabytes("VmRSS") : nil
        var auditReport: AuditReport?
        let auditSeconds = try timed { auditReport = try ChainAudit.verify(exportAt: exportPath, genesis: genesis, signatureThreads: 2) }
        guard let auditReport, auditReport.valid, auditReport.entryCount == UInt64(eventCount) else {
            throw BenchmarkError.auditFailed(String(describing: auditReport?.failure))
        }
        let auditRate = Double(eventCount) / auditSeconds
        report("offline audit (every signature, certificate, rule and access decision): \(Int(auditRate)) events/s = \(ratio(auditRate, e2)) x E2")
        let auditMemoryMB = residentBeforeAudit.flatMap { before in ProcessMemory.megabytes("VmHWM").map { Int(($0 - before).rounded()) } }
        if let auditMemoryMB { report("audit memory: peak resident set grew by \(auditMemoryMB) MB for a \(exportBytes / 1_048_576) MiB export") }

        let logRates = try logSyncRates(in: directory)
        report("consensus log, synced appends of 3 KiB: \(Int(logRates.ahead))/s with room kept ahead (as the node keeps it) = \(ratio(logRates.ahead, e1)) x E1, \(Int(logRates.growing))/s growing the file with each record")

        var result: [String: Any] = [
            "ed25519_verify_per_s_1t": Int(e1),
            "ed25519_verify_per_s_2t": Int(e2),
            "events": eventCount,
            "blocks": blockCount,
            "store_append_events_per_s": Int(appendRate),
            "store_append_ratio_e2": ratio(appendRate, e2),
            "audit_verify_events_per_s": Int(auditRate),
            "audit_verify_ratio_e2": ratio(auditRate, e2),
            "export_events_per_s": Int(Double(eventCount) / exportSeconds),
            "targets_met": ["store_append_ge_5x_e2": appendRate >= 5 * e2, "audit_verify_ge_0_85x_e2": auditRate >= 0.85 * e2],
            "log_synced_appends_per_s": Int(logRates.ahead),
            "log_synced_appends_ratio_e1": ratio(logRates.ahead, e1),
            "log_synced_appends_per_s_growing": Int(logRates.growing),
        ]
        result["audit_peak_memory_growth_mb"] = auditMemoryMB
        return result
    }

    /// A chain of the workload mix (docs/PERFORMANCE.md): 78% accesses, 10% records, 10% grants, 2% revocations.
    private func generateChain() -> (Genesis, [(block: CommittedBlock, changes: StateChanges)]) {
        var workload = Workload(builder: ChainBuilder(seed: 42), patientCount: 10_000, practitionerCount: 200)
        var blocks = [workload.enrolPractitioners()]
        var events = blocks[0].block.block.entries.count
        while events < options.events {
            let next = workload.nextBlock(count: min(options.blockSize, options.events - events))
            events += next.block.block.entries.count
            blocks.append(next)
            if blocks.count % 50 == 0 { report("  generated \(events) events") }
        }
        return (workload.builder.genesis, blocks)
    }

    /// Synced appends per second to the consensus write-ahead log: with room kept ahead of the records, as the
    /// node opens it, and growing the file with each record (`growthBytes` 0), so that each sync also writes
    /// the file's size (docs/CONSENSUS.md). 3 KiB records (a proposal of a dozen transactions); three rounds
    /// of 1,000 each way, alternating, the median round reported.
    private func logSyncRates(in directory: String) throws -> (ahead: Double, growing: Double) {
        let record = [UInt8](repeating: 7, count: 3_072)
        func rate(growthBytes: Int, round: Int) throws -> Double {
            let path = directory + "/log-\(growthBytes)-\(round).wal"
            let log = try WriteAheadLog(path: path, growthBytes: growthBytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return 1_000 / (try timed { for _ in 0..<1_000 { try log.append(record, sync: true) } })
        }
        var ahead: [Double] = [], growing: [Double] = []
        for round in 0..<3 {
            ahead.append(try rate(growthBytes: WriteAheadLog.defaultGrowthBytes, round: round))
            growing.append(try rate(growthBytes: 0, round: round))
        }
        return (ahead.sorted()[1], growing.sorted()[1])
    }

    private func timed(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now()
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    private func ratio(_ value: Double, _ baseline: Double) -> Double { (value / baseline * 100).rounded() / 100 }

    private func report(_ line: String) {
        print(line)
        fflush(nil)
    }
}

enum BenchmarkError: Error, CustomStringConvertible {
    case auditFailed(String)

    var description: String { "the generated chain did not verify: \(self)" }
}

/// Resident memory of this process, from Linux's /proc/self (nil elsewhere).
enum ProcessMemory {
    /// A field of /proc/self/status such as "VmRSS" or "VmHWM" (peak), in megabytes.
    static func megabytes(_ field: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }

    /// Resets the peak (VmHWM) to the current resident size; false when the kernel does not allow it.
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }
}
