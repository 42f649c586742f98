import Foundation
import Ledger
import Storage
import Testing
import TestSupport

/// `audit verify` on real export files made here: valid, tampered, for another genesis, unreadable.
@Suite struct AuditVerifyTests {
    /// A generated chain exported to `export.hlx`, its genesis written to `genesis.json`.
    static func exportedChain(_ runner: CLIRunner) throws -> [CommittedBlock] {
        var workload = Workload(builder: ChainBuilder(seed: 7), patientCount: 20, practitionerCount: 5)
        var blocks = [workload.enrolPractitioners().block]
        for _ in 0..<5 { blocks.append(workload.nextBlock(count: 25).block) }
        let writer = try ExportWriter(path: runner.file("export.hlx"), genesis: workload.builder.genesis)
        for block in blocks { try writer.append(block) }
        try writer.finish()
        try Data(workload.builder.genesis.jsonBytes).write(to: URL(fileURLWithPath: runner.file("genesis.json")))
        return blocks
    }

    @Test func aValidExportVerifies() throws {
        let runner = try CLIRunner()
        let blocks = try Self.exportedChain(runner)
        let result = try runner.run("audit", "verify", "export.hlx", "--genesis", "genesis.json", "--threads", "2", "--json")
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "no progress line when stderr is not a terminal")
        let json = try result.json()
        #expect(json["valid"] as? Bool == true)
        #expect(json["height"] as? Int == blocks.count)
        #expect(json["events"] as? Int == blocks.map(\.block.entries.count).reduce(0, +))
        #expect(json["head"] as? String == blocks.last!.block.header.hash.hex)
        #expect(json["failure"] == nil)

        let text = try runner.run("audit", "verify", "export.hlx", "--genesis", "genesis.json")
        #expect(text.exitCode == 0)
        #expect(text.stdout.hasPrefix("valid: \(blocks.count) blocks"))
        #expect(text.stderr.isEmpty)
    }

    @Test func aByteFlippedInBlockThreeFailsAtHeightThree() throws {
        let runner = try CLIRunner()
        let blocks = try Self.exportedChain(runner)
        let url = URL(fileURLWithPath: runner.file("export.hlx"))
        var bytes = Array(try Data(contentsOf: url))
        let block3 = try #require(bytes.firstRange(of: blocks[2].canonicalBytes))
        bytes[block3.lowerBound + block3.count / 2] ^= 0x01
        try Data(bytes).write(to: url)

        let result = try runner.run("audit", "verify", "export.hlx", "--genesis", "genesis.json", "--json")
        #expect(result.exitCode == 4)
        let json = try result.json()
        #expect(json["valid"] as? Bool == false)
        let failure = try #require(json["failure"] as? [String: Any])
        #expect(failure["height"] as? Int == 3)
        #expect(failure["reason"] is String)
        #expect(result.stderr.hasPrefix("error: export.hlx failed verification at block 3; "))

        let text = try runner.run("audit", "verify", "export.hlx", "--genesis", "genesis.json")
        #expect(text.exitCode == 4)
        #expect(text.stdout.hasPrefix("INVALID at block 3: "))
    }

    @Test func anExportForAnotherGenesisFails() throws {
        let runner = try CLIRunner()
        _ = try Self.exportedChain(runner)
        let other = CLIRunner.packageRoot.appendingPathComponent("genesis/example.json").path
        let result = try runner.run("audit", "verify", "export.hlx", "--genesis", other, "--json")
        #expect(result.exitCode == 4)
        #expect((try result.json()["failure"] as? [String: Any])?["height"] as? Int == 0)
    }

    @Test func anInvalidGenesisExitsTwo() throws {
        let runner = try CLIRunner()
        _ = try Self.exportedChain(runner)
        try "{}".write(toFile: runner.file("genesis.json"), atomically: true, encoding: .utf8)
        let result = try runner.run("audit", "verify", "export.hlx", "--genesis", "genesis.json", "--json")
        #expect(result.exitCode == 2)
        #expect(try result.jsonError().contains("genesis.json"))
    }

    @Test func anUnreadableExportExitsOne() throws {
        let runner = try CLIRunner()
        _ = try Self.exportedChain(runner)
        let result = try runner.run("audit", "verify", "missing.hlx", "--genesis", "genesis.json", "--json")
        #expect(result.exitCode == 1)
        #expect(try result.jsonError().contains("missing.hlx"))
    }
}
