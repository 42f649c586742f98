import Consensus
import Foundation
import Ledger
import Node
import Testing
import Transport

/// Four validators as real `healthledger node` processes on loopback (issue 4, "Real processes"):
/// transactions sent to different nodes commit everywhere with identical chains; kill -9 one and the other
/// three keep committing; restart it and it catches up; stop two and commits halt without a fork; bring one
/// back and commits resume; every node's export verifies with the genesis alone. Along the way: a record is
/// read through another organisation's node (the CLI follows it to the custodian), and hostile peers
/// (an unpinned key, forged and foreign votes, garbage) are refused while the nodes keep committing.
@Suite(.serialized) struct ConsortiumProcessTests {
    static func parameters() -> ConsensusParameters {
        var consensus = ConsensusParameters()
        consensus.blockIntervalMs = 200
        consensus.timeoutProposeMs = 800
        consensus.timeoutVoteMs = 400
        consensus.timeoutDeltaMs = 200
        return consensus
    }

    @Test func fourNodeProcessesThroughCrashesRestartsAndAQuorumLoss() throws {
        let consortium = try ProcessConsortium.loopback(count: 4, consensus: Self.parameters())
        for node in 0..<4 { try consortium.start(node) }
        #expect(consortium.waitHealthy(linked: 3), "all four linked and committing")

        // Transactions sent to each node commit on all four.
        var committed: [TransactionID] = []
        for node in 0..<4 {
            let enrolment = consortium.enrolment(fixedKey(UInt8(40 + node)), organisation: node)
            let answer = try consortium.submit(enrolment, to: (node + 2) % 4)
            #expect(answer["status"] as? String == "committed", "\(answer)")
            committed.append(enrolment.id)
        }
        try expectSameChain(consortium, nodes: [0, 1, 2, 3])
        // With all four voting, the last prevote and precommit of a height come after its quorum: left unverified.
        let lateVotes = eventually(timeoutMs: 10_000) {
            (0..<4).reduce(0.0) { $0 + ((try? metric(consortium.url($1), "healthledger_consensus_messages_dropped_total{reason=\"late_vote\"}")) ?? 0) } >= 1
        }
        #expect(lateVotes, "votes after a quorum are counted as late, not verified")

        // A record of hospital-1, read through hospital-3's node: the CLI follows it to hospital-1's node.
        try readThroughAnotherOrganisation(consortium)

        // kill -9 one node: the other three keep committing.
        consortium.kill(3)
        for node in 0..<3 {
            let answer = try consortium.submit(consortium.enrolment(fixedKey(UInt8(50 + node)), organisation: node), to: node)
            #expect(answer["status"] as? String == "committed", "with one node down: \(answer)")
        }
        try hostilePeersAreRefused(consortium, playing: 3)

        // Restart it: it catches up to the same head.
        try consortium.start(3)
        let target = try consortium.height(0)
        #expect(consortium.waitForHeight(target), "the restarted node catches up")
        try expectSameChain(consortium, nodes: [0, 1, 2, 3])

        // Stop two: no quorum, no new height, nothing differs.
        consortium.terminate(2)
        consortium.kill(3)
        let pending = consortium.enrolment(fixedKey(60), organisation: 0)
        _ = try consortium.submit(pending, to: 0, wait: false)
        // A survivor may still fetch the last block the other committed (catch-up, not a new decision).
        #expect(eventually(timeoutMs: 10_000) { (try? consortium.height(0)) == (try? consortium.height(1)) })
        let halted = try (0...1).map { try consortium.height($0) }
        Thread.sleep(forTimeInterval: 3)
        #expect(try (0...1).map { try consortium.height($0) } == halted, "no height is committed by two of four")
        #expect(try consortium.transactionStatus(pending.id, at: 0) == 202, "still pending")
        try expectSameChain(consortium, nodes: [0, 1])

        // One back: commits resume, the pending transaction commits.
        try consortium.start(2)
        let resumed = eventually(timeoutMs: 60_000) { (try? consortium.transactionStatus(pending.id, at: 1)) == 200 }
        #expect(resumed, "commits resume with three of four, and the pending transaction commits")
        try consortium.start(3)
        let final = try consortium.height(0)
        #expect(consortium.waitForHeight(final, nodes: [0, 1, 2, 3]))
        try expectSameChain(consortium, nodes: [0, 1, 2, 3])
        for id in committed + [pending.id] { #expect(try consortium.transactionStatus(id, at: 3) == 200) }

        // Every node's export verifies offline with the genesis alone.
        for node in 0..<4 {
            let export = consortium.directory + "/export-\(node + 1).hlx"
            _ = try consortium.client(node).export(to: export)
            let audit = try consortium.cli("audit", "verify", export, "--genesis", consortium.genesisFile, "--json")
            #expect(audit.exitCode == 0, "node \(node + 1)'s export: \(audit.stdout) \(audit.stderr)")
        }
        for node in 0..<4 { #expect(!consortium.log(node).contains("consensus.halted"), "node \(node + 1) halted: \(consortium.log(node).suffix(2_000))") }
    }

    /// Every node in `nodes` serves the same block hash at every height up to the lowest head among them.
    private func expectSameChain(_ consortium: ProcessConsortium, nodes: [Int]) throws {
        let height = try nodes.map { try consortium.height($0) }.min()!
        let reference = try consortium.blockHashes(nodes[0], through: height)
        #expect(!reference.contains(nil))
        for node in nodes.dropFirst() {
            #expect(try consortium.blockHashes(node, through: height) == reference, "node \(node + 1) differs from node \(nodes[0] + 1)")
        }
    }

    private func readThroughAnotherOrganisation(_ consortium: ProcessConsortium) throws {
        let doctor = fixedKey(80)
        try Data(ClinicalFixture.observation.utf8).write(to: URL(fileURLWithPath: consortium.directory + "/observation.json"))
        try KeyFile.save(doctor, to: consortium.directory + "/doctor.key", passphrase: nil)
        try KeyFile.save(fixedKey(81), to: consortium.directory + "/patient.key", passphrase: nil)
        let patient = Identity(publicKey: fixedKey(81).publicKey).text
        _ = try consortium.submit(consortium.enrolment(doctor, organisation: 0), to: 0)
        let put = try consortium.cli("record", "put", "--key", "doctor.key", "--patient", patient, "--file", "observation.json",
                                     "--node", consortium.url(0), "--json")
        #expect(put.exitCode == 0, "\(put.stderr)")
        let record = try #require((try JSONSerialization.jsonObject(with: Data(put.stdout.utf8)) as? [String: Any])?["recordId"] as? String)
        let grant = try consortium.cli("consent", "grant", "--key", "patient.key", "--to", Identity(publicKey: doctor.publicKey).text,
                                       "--actions", "read", "--node", consortium.url(1))
        #expect(grant.exitCode == 0, "\(grant.stderr)")
        #expect(eventually(timeoutMs: 10_000) { (try? consortium.client(2).nodeURL(of: consortium.organisations[0])) == consortium.url(0) })
        let read = try consortium.cli("record", "get", "--key", "doctor.key", "--id", record, "--node", consortium.url(2))
        #expect(read.exitCode == 0 && read.stdout.contains(ClinicalFixture.marker), "\(read.stderr)")
        #expect(read.stderr.contains("sending the request to its node at \(consortium.url(0))"))
        // Only the custodian's vault holds it; the node the client first asked never saw the content.
        #expect(!consortium.log(2).contains(ClinicalFixture.marker))
    }

    /// While validator `index` is down, plays it with its genuine key (forged, foreign and garbage
    /// messages) and a stranger with an unpinned key: each is refused and counted, and commits go on.
    private func hostilePeersAreRefused(_ consortium: ProcessConsortium, playing index: Int) throws {
        let endpoints = try consortium.genesis.validators.map { try PeerEndpoint(key: $0.key.publicKey, address: $0.address) }
        var genuine = PeerNetworkConfiguration(privateKey: consortium.nodeKeys[index], chainID: consortium.genesis.chainID.value,
                                               validators: endpoints, jitterSeed: 7)
        genuine.reconnectMaxDelayMs = 300
        let hostile = try PeerNetwork(configuration: genuine, onFrame: { _, _ in })
        try hostile.start()
        defer { hostile.stop() }
        var strangerConfiguration = PeerNetworkConfiguration(privateKey: fixedKey(99), chainID: consortium.genesis.chainID.value,
                                                             validators: endpoints, jitterSeed: 8)
        strangerConfiguration.listenHost = "127.0.0.1"
        let stranger = try PeerNetwork(configuration: strangerConfiguration, onFrame: { _, _ in })
        try stranger.start()
        defer { stranger.stop() }
        let chain = consortium.genesis.chainID
        let key = consortium.nodeKeys[index]
        let counted = eventually(timeoutMs: 20_000) {
            guard let height = try? consortium.height(0) else { return false }
            let vote = Vote(chainID: chain, type: .prevote, height: height + 1, round: 0, blockHash: nil)
            var forged = key.signature(for: vote.canonicalBytes)
            forged[3] ^= 1
            var foreign = vote
            foreign.chainID = ChainID("someone-elses-chain")!
            try? hostile.broadcast(Array(repeating: 0xA5, count: 64))
            try? hostile.broadcast(PeerMessage.vote(SignedVote(vote: vote, validatorIndex: UInt16(index), signature: forged)).canonicalBytes)
            try? hostile.broadcast(PeerMessage.vote(SignedVote(vote: foreign, validatorIndex: UInt16(index),
                                                               signature: key.signature(for: foreign.canonicalBytes))).canonicalBytes)
            Thread.sleep(forTimeInterval: 0.2)
            return ["malformed", "bad_signature", "wrong_chain"].allSatisfy { reason in
                ((try? metric(consortium.url(0), "healthledger_consensus_messages_dropped_total{reason=\"\(reason)\"}")) ?? 0) >= 1
            }
        }
        #expect(counted, "garbage, forged and foreign votes are counted as dropped")
        #expect(eventually(timeoutMs: 10_000) { consortium.log(0).contains("tls_key_not_pinned") }, "the stranger is refused")
        let answer = try consortium.submit(consortium.enrolment(fixedKey(90), organisation: 1), to: 1)
        #expect(answer["status"] as? String == "committed", "commits go on: \(answer)")
        #expect(try metric(consortium.url(0), "healthledger_consensus_evidence_total") == 0)
    }

    private func metric(_ url: String, _ name: String) throws -> Double {
        let text = String(decoding: try HTTPClient(baseURL: url).request("GET", "/metrics").body, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
    }
}

/// A FHIR Observation with a marker string that must only ever appear at the custodian.
enum ClinicalFixture {
    static let marker = "CONSORTIUM-MARKER-7f3a"
    static let observation = """
        {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
         "valueQuantity":{"value":131,"unit":"mm[Hg]"},"note":[{"text":"\(marker)"}]}
        """
}

/// `scripts/consortium up`, `stop`, `start` and `down` (README, OPERATIONS.md section 9) with the debug binary:
/// four healthy nodes, the files it promises, a transaction through one node committed at another, a node
/// crashed and restarted that catches up, and every process gone after `down`.
@Suite(.serialized) struct ConsortiumScriptTests {
    static let script = ProcessConsortium.packageRoot.appendingPathComponent("scripts/consortium").path

    @Test func upStartsAHealthyConsortiumAndDownStopsIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-script-\(UUID().uuidString)").path
        defer {
            // Whatever happened, no node is left running.
            _ = try? Self.run(["down", "--dir", directory])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let up = try Self.run(["up", "--nodes", "4", "--dir", directory])
        #expect(up.status == 0, "scripts/consortium up: \(up.output)")
        let nodes = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/nodes.json")))
            as? [String: Any])
        let entries = try Self.nodeEntries(directory)
        #expect(entries.map { $0["name"] as? String } == ["node-1", "node-2", "node-3", "node-4"])
        let genesis = try Genesis(jsonBytes: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/genesis.json"))))
        #expect(genesis.validators.count == 4 && nodes["chainId"] as? String == genesis.chainID.value)
        let urls = entries.compactMap { $0["url"] as? String }
        let pids = entries.compactMap { ($0["pid"] as? NSNumber)?.int32Value }
        #expect(urls.count == 4 && pids.count == 4)
        for entry in entries { #expect(FileManager.default.fileExists(atPath: (entry["data"] as? String ?? "") + "/node.key")) }
        for url in urls {
            let status = try NodeClient(url: url).consensus()
            #expect(status["peersLinked"] as? Int == 3 && (status["committedHeight"] as? NSNumber)?.intValue ?? 0 >= 1)
        }
        // A transaction sent to node 1 commits at node 4.
        let admin = try KeyFile.load(from: (entries[1]["data"] as! String) + "/admin.key", passphrase: nil)
        let enrolment = RequestSigner(chainID: genesis.chainID).transaction(.enrollPractitioner(EnrollPractitioner(
            organisation: genesis.validators[1].organisation, practitioner: Identity(publicKey: fixedKey(33).publicKey),
            role: PractitionerRole("physician")!)), by: admin)
        _ = try NodeClient(url: urls[0]).submit(enrolment, wait: false)
        #expect(eventually(timeoutMs: 20_000) {
            (try? HTTPClient(baseURL: urls[3]).request("GET", "/v1/transactions/\(enrolment.id.hex)").status) == 200
        })
        try crashAndRestartNodeThree(directory, urls: urls, genesis: genesis, admin: admin)
        let restartedPids = try Self.nodeEntries(directory).compactMap { ($0["pid"] as? NSNumber)?.int32Value }
        #expect(restartedPids.count == 4 && restartedPids[2] != pids[2], "nodes.json names the restarted process")
        let down = try Self.run(["down", "--dir", directory])
        #expect(down.status == 0, "scripts/consortium down: \(down.output)")
        for pid in pids + restartedPids { #expect(kill(pid, 0) != 0, "node process \(pid) still runs after down") }
    }

    /// `stop --node 3 --kill` (a crash); a transaction commits without it; `start --node 3` brings it back on
    /// the same URL and returns once it has caught up, so it serves that transaction.
    private func crashAndRestartNodeThree(_ directory: String, urls: [String], genesis: Genesis, admin: Ed25519.PrivateKey) throws {
        let stop = try Self.run(["stop", "--dir", directory, "--node", "3", "--kill"])
        #expect(stop.status == 0, "scripts/consortium stop: \(stop.output)")
        let again = try Self.run(["stop", "--dir", directory, "--node", "3"])
        #expect(again.status == 1 && again.output.contains("not running"), "stopping a stopped node: \(again.output)")
        let down = try Self.run(["status", "--dir", directory])
        #expect(down.status == 1 && down.output.contains("node-3  \(urls[2])  stopped"), "status with a node down: \(down.output)")
        let enrolment = RequestSigner(chainID: genesis.chainID).transaction(.enrollPractitioner(EnrollPractitioner(
            organisation: genesis.validators[1].organisation, practitioner: Identity(publicKey: fixedKey(34).publicKey),
            role: PractitionerRole("physician")!)), by: admin)
        _ = try NodeClient(url: urls[0]).submit(enrolment, wait: true)
        let start = try Self.run(["start", "--dir", directory, "--node", "3"])
        #expect(start.status == 0, "scripts/consortium start: \(start.output)")
        let status = try Self.run(["status", "--dir", directory])
        #expect(status.status == 0 && status.output.contains("node-3  \(urls[2])  height"), "status: \(status.output)")
        #expect(eventually(timeoutMs: 20_000) {
            (try? HTTPClient(baseURL: urls[2]).request("GET", "/v1/transactions/\(enrolment.id.hex)").status) == 200
        }, "the restarted node serves what was committed while it was down")
    }

    static func nodeEntries(_ directory: String) throws -> [[String: Any]] {
        let nodes = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/nodes.json")))
        return try #require((nodes as? [String: Any])?["nodes"] as? [[String: Any]])
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HEALTHLEDGER_BIN"] = ProcessConsortium.binary
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("consortium-script-\(UUID().uuidString).out").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let handle = FileHandle(forWritingAtPath: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }
}
