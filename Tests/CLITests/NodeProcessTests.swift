import Foundation
import Testing
import TestSupport

/// A real `healthledger node` process on a free loopback port, in a data directory of the test's own.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let url: String
    private let stderrFile: String

    /// Starts the node (its API on `listen`) and waits for the line it prints once it serves (its URL).
    init(runner: CLIRunner, data: String, listen: String = "127.0.0.1:0") throws {
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["node", "--data", data, "--listen", listen, "--json"]
        process.currentDirectoryURL = runner.directory.url
        stderrFile = runner.file("node-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: stderrFile, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrFile)
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let started = stdout.firstJSONLine()
        url = try #require(started?["url"] as? String, "the node did not print its URL; its log: \((try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "")")
    }

    /// Sends `signal` and waits for the process to end; returns its exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }

    deinit { if process.isRunning { stop(SIGKILL) } }
}

/// The users' jobs through the real binary, against a real node process: the `scripts/demo` story, a clean
/// stop and restart, and a kill -9 while clients are submitting.
@Suite(.serialized) struct NodeProcessTests {
    @Test func theDemoStoryThroughTheCommandLine() throws {
        let cli = try CLIRunner()
        let data = cli.file("node-data")
        var node = try NodeProcess(runner: cli, data: data)
        let patient = try cli.run("key", "new", "--out", "patient.key", "--json").json()["id"] as! String
        let doctor = try cli.run("key", "new", "--out", "doctor.key", "--json").json()["id"] as! String
        #expect(try cli.run("practitioner", "enroll", "--key", data + "/admin.key", "--practitioner", doctor, "--node", node.url, "--json")
            .json()["organisation"] as? String == "local-hospital")
        try Data("""
            {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
             "valueQuantity":{"value":141,"unit":"mm[Hg]"},"note":[{"text":"CLI-MARKER-systolic"}]}
            """.utf8).write(to: URL(fileURLWithPath: cli.file("observation.json")))
        let put = try cli.run("record", "put", "--key", "doctor.key", "--patient", patient, "--file", "observation.json", "--node", node.url, "--json")
        let record = try #require(try put.json()["recordId"] as? String, "\(put.stderr)")

        let denied = try cli.run("record", "get", "--key", "doctor.key", "--id", record, "--node", node.url)
        #expect(denied.exitCode == 3, "read without a grant: \(denied.stderr)")
        let grant = try cli.run("consent", "grant", "--key", "patient.key", "--to", doctor, "--actions", "read", "--node", node.url, "--json")
        let grantID = try #require(try grant.json()["grantId"] as? String, "\(grant.stderr)")
        let read = try cli.run("record", "get", "--key", "doctor.key", "--id", record, "--node", node.url)
        #expect(read.exitCode == 0 && read.stdout.contains("CLI-MARKER-systolic"), "\(read.stderr)")

        #expect(try cli.run("consent", "revoke", "--key", "patient.key", "--grant", grantID, "--node", node.url).exitCode == 0)
        #expect(try cli.run("record", "get", "--key", "doctor.key", "--id", record, "--node", node.url).exitCode == 3)
        let log = try cli.run("access", "log", "--patient", patient, "--node", node.url, "--json").json()
        #expect((log["accesses"] as? [[String: Any]])?.map { $0["decision"] as? String } == ["denied", "allowed", "denied"])

        // A clean stop, a restart on the same data, and the chain goes on and verifies.
        #expect(node.stop(SIGTERM) == 0, "exit after SIGTERM; log: \(node.log)")
        node = try NodeProcess(runner: cli, data: data)
        let grants = try cli.run("consent", "list", "--patient", patient, "--node", node.url, "--json").json()["grants"] as? [[String: Any]]
        #expect(grants?.map { $0["status"] as? String } == ["revoked"])
        #expect(try cli.run("chain", "export", "--out", "chain.hlx", "--node", node.url).exitCode == 0)
        let audit = try cli.run("audit", "verify", "chain.hlx", "--genesis", data + "/genesis.json", "--json")
        #expect(audit.exitCode == 0, "\(audit.stderr)")
        #expect(try audit.json()["valid"] as? Bool == true)
        var export = try Data(contentsOf: URL(fileURLWithPath: cli.file("chain.hlx")))
        export[export.count / 2] ^= 0x01
        try export.write(to: URL(fileURLWithPath: cli.file("tampered.hlx")))
        #expect(try cli.run("audit", "verify", "tampered.hlx", "--genesis", data + "/genesis.json").exitCode == 4)
        #expect(!node.log.contains("CLI-MARKER"), "record content in the node's log")
        #expect(node.stop(SIGINT) == 0)
    }

    @Test(.enabled(if: ipv6LoopbackAvailable, "this machine has no IPv6 loopback (::1)"))
    func aNodeServesItsAPIOverIPv6() throws {
        let cli = try CLIRunner()
        let data = cli.file("node-data")
        let node = try NodeProcess(runner: cli, data: data, listen: "[::1]:0")
        #expect(node.url.hasPrefix("http://[::1]:"), "\(node.url)")
        let doctor = try cli.run("key", "new", "--out", "doctor.key", "--json").json()["id"] as! String
        #expect(try cli.run("practitioner", "enroll", "--key", data + "/admin.key", "--practitioner", doctor, "--node", node.url, "--json")
            .json()["organisation"] as? String == "local-hospital")
        let refused = try cli.run("node", "--data", cli.file("other"), "--listen", "::1:0")
        #expect(refused.exitCode == 2 && refused.stderr.contains("[::1]:7700"), "\(refused.stderr)")
        #expect(node.stop() == 0)
    }

    @Test func organisationGrantsAndExpiryThroughTheCommandLine() throws {
        let cli = try CLIRunner()
        let data = cli.file("node-data")
        let node = try NodeProcess(runner: cli, data: data)
        let patient = try cli.run("key", "new", "--out", "patient.key", "--json").json()["id"] as! String
        let nurse = try cli.run("key", "new", "--out", "nurse.key", "--json").json()["id"] as! String
        _ = try cli.run("key", "new", "--out", "stranger.key")
        #expect(try cli.run("practitioner", "enroll", "--key", data + "/admin.key", "--practitioner", nurse, "--role", "nurse",
                            "--node", node.url).exitCode == 0)
        try Data(#"{"resourceType":"Condition","subject":{},"code":{"text":"hypertension"}}"#.utf8)
            .write(to: URL(fileURLWithPath: cli.file("condition.json")))
        let put = try cli.run("record", "put", "--key", "patient.key", "--patient", patient, "--file", "condition.json", "--node", node.url, "--json")
        let record = try #require(try put.json()["recordId"] as? String, "\(put.stderr)")

        // An organisation grant admits its enrolled practitioner and no one else.
        #expect(try cli.run("consent", "grant", "--key", "patient.key", "--to", "org:local-hospital", "--actions", "read",
                            "--until", "+3s", "--node", node.url).exitCode == 0)
        #expect(try cli.run("record", "get", "--key", "nurse.key", "--id", record, "--node", node.url).exitCode == 0)
        #expect(try cli.run("record", "get", "--key", "stranger.key", "--id", record, "--node", node.url).exitCode == 3)
        // Once the grant's time has passed in block time, the same read is denied.
        Thread.sleep(forTimeInterval: 3.2)
        let expired = try cli.run("record", "get", "--key", "nurse.key", "--id", record, "--node", node.url)
        #expect(expired.exitCode == 3 && expired.stderr.contains("grantExpired"), "\(expired.stderr)")
        let log = try cli.run("access", "log", "--patient", patient, "--node", node.url, "--json").json()
        #expect((log["accesses"] as? [[String: Any]])?.map { $0["decision"] as? String } == ["allowed", "denied", "denied"])
    }

    @Test func afterKill9EveryAcknowledgedTransactionIsThere() throws {
        let cli = try CLIRunner()
        let data = cli.file("node-data")
        let node = try NodeProcess(runner: cli, data: data)
        let patient = try cli.run("key", "new", "--out", "patient.key", "--json").json()["id"] as! String
        let acknowledged = AcknowledgedGrants()
        nonisolated(unsafe) let runner = cli
        let submitter = Thread {
            for index in 0..<200 {
                guard let result = try? runner.run("consent", "grant", "--key", "patient.key", "--to", "org:local-hospital",
                                                "--actions", "read", "--purpose", index % 2 == 0 ? "TREAT" : "ETREAT",
                                                "--node", node.url, "--json"),
                    result.exitCode == 0, let id = (try? result.json())?["grantId"] as? String
                else { break }
                acknowledged.add(id)
            }
            acknowledged.finish()
        }
        submitter.start()
        while acknowledged.count < 5 { Thread.sleep(forTimeInterval: 0.05) }
        node.stop(SIGKILL)
        acknowledged.waitUntilFinished()

        let restarted = try NodeProcess(runner: cli, data: data)
        let list = try cli.run("consent", "list", "--patient", patient, "--node", restarted.url, "--json").json()
        let stored = Set((list["grants"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        #expect(acknowledged.count >= 5)
        #expect(acknowledged.all.isSubset(of: stored), "acknowledged but lost: \(acknowledged.all.subtracting(stored))")
        #expect(try cli.run("chain", "export", "--out", "chain.hlx", "--node", restarted.url).exitCode == 0)
        #expect(try cli.run("audit", "verify", "chain.hlx", "--genesis", data + "/genesis.json").exitCode == 0)
    }
}

/// Grant ids the node acknowledged, collected from another thread.
private final class AcknowledgedGrants: @unchecked Sendable {
    private let condition = NSCondition()
    private var ids: Set<String> = []
    private var finished = false

    func add(_ id: String) { _ = condition.withLock { ids.insert(id) } }

    func finish() {
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    func waitUntilFinished() { condition.withLock { while !finished { condition.wait() } } }

    var count: Int { condition.withLock { ids.count } }
    var all: Set<String> { condition.withLock { ids } }
}
