import Foundation
import Ledger
import Storage

/// `healthledger audit verify`: verifies a chain export offline, trusting only the genesis file.
enum AuditVerify {
    static let command = Command(
        path: ["audit", "verify"],
        abstract: "Verify a chain export offline against its genesis file.",
        arguments: [Argument("FILE", help: "The chain export.")],
        options: [
            .value("genesis", "FILE", required: true, help: "The genesis file the chain must start from."),
            .value("threads", "N", help: "Threads checking signatures, 1-256 (default: one per processor)."),
        ],
        discussion: """
            Replays every block: links, certificates, signatures, and every access decision against the consent
            in force. Exits 0 when the chain is valid, 4 when it is not (the first bad height is reported), 2
            when the genesis file is invalid, 1 when a file cannot be read. On a terminal, shows progress on
            stderr.
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let path = invocation.argument("FILE")
        let threads = try signatureThreads(invocation)
        let genesis = try GenesisFile.load(invocation.requiredValue("genesis"))
        let progressLine = invocation.console.errorIsTerminal ? ProgressLine(console: invocation.console) : nil
        defer { progressLine?.finish() }
        do {
            let report = try ChainAudit.verify(exportAt: path, genesis: genesis, signatureThreads: threads,
                                               progressEvery: 16, progress: progressLine.map { $0.update })
            return output(report, path: path)
        } catch {
            throw .failure("\(error)", "check the path and its permissions")
        }
    }

    private static func signatureThreads(_ invocation: Invocation) throws(CLIError) -> Int {
        guard let text = invocation.value("threads") else { return ProcessInfo.processInfo.activeProcessorCount }
        guard let threads = Int(text), (1...256).contains(threads) else {
            throw invocation.usageError("--threads '\(text)' is not a number from 1 to 256")
        }
        return threads
    }

    private static func output(_ report: AuditReport, path: String) -> CommandOutput {
        var json: JSONValue = [
            "valid": .bool(report.valid), "height": .number(report.height), "events": .number(report.entryCount),
            "head": .string(report.headHash.hex),
        ]
        guard let failure = report.failure else {
            return CommandOutput(
                text: "valid: \(report.height) blocks, \(report.entryCount) events\nhead  \(report.headHash.hex)", json: json)
        }
        json = json.appending("failure", ["height": .number(failure.height), "reason": .string("\(failure.reason)")])
        let place = failure.height == 0 ? "the export file as a whole" : "block \(failure.height)"
        return CommandOutput(
            text: "INVALID at \(place): \(failure.reason)",
            json: json,
            failure: CLIError(exitCode: .verificationFailed, problem: "\(path) failed verification at \(place)",
                              remedy: "do not trust this chain from that point; compare with another member's export"))
    }
}
