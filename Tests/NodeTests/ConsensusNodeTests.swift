import Consensus
import Foundation
import Ledger
import Node
import Storage
import Testing
import TestSupport
import Transport

/// Four validators in this process, each a real `NodeRuntime` (SQLite files, TLS peer links, HTTP API),
/// running Tendermint through `ConsensusDriver`: transactions sent to any node commit on all with the same
/// blocks and certificates of more than 2/3; a stopped node replays its log and catches up; the status and
/// evidence routes; the custodian redirect. (Separate processes, kill -9 and partitions:
/// ConsortiumProcessTests.)
@Suite(.serialized) struct ConsensusNodeTests {
    @Test func transactionsSentToDifferentNodesCommitEverywhereWithTheSameBlocks() throws {
        let consortium = try InProcessConsortium()
        var ids: [TransactionID] = []
        for node in 0..<4 {
            let practitioner = fixedKey(UInt8(50 + node))
            let answer = try consortium.enrol(practitioner, organisation: node, through: (node + 1) % 4)
            #expect(answer["status"] as? String == "committed", "\(answer)")
            ids.append(try #require(TransactionID(hex: answer["id"] as? String ?? "")))
        }
        let patients = (0..<8).map { fixedKey(UInt8(200 + $0)) }
        for (number, patient) in patients.enumerated() {
            let grant = consortium.signer.transaction(.grantConsent(GrantConsent(
                grantee: .organisation(consortium.organisations[number % 4]), actions: AccessActions([.read]))), by: patient)
            _ = try consortium.client(number % 4).submit(grant, wait: false)
            ids.append(grant.id)
        }
        // Every transaction commits on every node, whichever node it was sent to.
        let committedEverywhere = try eventually(timeoutMs: 30_000) {
            try consortium.running.allSatisfy { node in try ids.allSatisfy { try consortium.store(node).location(of: $0) != nil } }
        }
        #expect(committedEverywhere)
        let height = consortium.running.map { consortium.store($0).headHeight }.min()!
        let reference = try consortium.blockHashes(0, through: height)
        for node in 1..<4 { #expect(try consortium.blockHashes(node, through: height) == reference, "node \(node + 1) differs") }

        // The chain verifies offline from the genesis alone, with certificates of more than 2/3.
        var verifier = ChainVerifier(genesis: consortium.genesis, state: MemoryLedgerState(transactionMaxAgeMs: consortium.genesis.consensus.transactionMaxAgeMs))
        let blocks = try (1...height).map { try #require(try consortium.store(2).block(at: $0)) }
        #expect(verifier.verifySequentially(blocks) == nil)
        #expect(blocks.allSatisfy { $0.certificate.signatures.count >= 3 })
        #expect(Set(blocks.map(\.block.header.proposer)).count > 1, "proposers rotate")
    }

    /// A batch sent to one node is gossiped in chunks (`NodeService.relayChunk`) to every other, each of which
    /// admits every transaction from gossip; all commit everywhere.
    @Test func aBatchSentToOneNodeIsGossipedToEveryOther() throws {
        let consortium = try InProcessConsortium()
        let grants = (0..<70).map { number in
            consortium.signer.transaction(.grantConsent(GrantConsent(
                grantee: .organisation(consortium.organisations[number % 4]), actions: AccessActions([.read]))), by: fixedKey(UInt8(100 + number)))
        }
        let results = try consortium.client(2).submitBatch(grants)
        #expect(results.map { $0["status"] as? String } == Array(repeating: "pending", count: 70))
        #expect(try consortium.metric(2, "healthledger_transactions_gossiped_total{direction=\"out\"}") == 70)
        let committedEverywhere = try eventually(timeoutMs: 30_000) {
            try consortium.running.allSatisfy { node in try grants.allSatisfy { try consortium.store(node).location(of: $0.id) != nil } }
        }
        #expect(committedEverywhere)
        for node in [0, 1, 3] {
            let gossipedIn = try consortium.metric(node, "healthledger_transactions_gossiped_total{direction=\"in\"}")
            #expect(gossipedIn > 0, "node \(node + 1) admitted \(gossipedIn) from gossip")
        }
    }

    @Test(.enabled(if: ipv6LoopbackAvailable, "this machine has no IPv6 loopback (::1)"))
    func validatorsLinkedOverIPv6CommitTheSameBlocks() throws {
        let consortium = try InProcessConsortium(peerHost: "::1")
        #expect(consortium.genesis.validators.allSatisfy { $0.address.hasPrefix("[::1]:") })
        for node in 0..<4 {
            let answer = try consortium.enrol(fixedKey(UInt8(60 + node)), organisation: node, through: node)
            #expect(answer["status"] as? String == "committed", "\(answer)")
        }
        let height = consortium.running.map { consortium.store($0).headHeight }.min()!
        let reference = try consortium.blockHashes(0, through: height)
        for node in 1..<4 { #expect(try consortium.blockHashes(node, through: height) == reference, "node \(node + 1) differs") }
    }

    @Test func statusRouteShowsPeersTheirURLsAndTheHeight() throws {
        let consortium = try InProcessConsortium()
        #expect(consortium.waitForHeight(2))
        let allAnnounced = try eventually(timeoutMs: 15_000) {
            let status = try consortium.client(0).consensus()
            let validators = status["validators"] as? [[String: Any]] ?? []
            return status["peersLinked"] as? Int == 3 && validators.compactMap { $0["apiUrl"] as? String }.count == 4
        }
        #expect(allAnnounced)
        let status = try consortium.client(0).consensus()
        #expect(status["mode"] as? String == "consensus")
        let validators = try #require(status["validators"] as? [[String: Any]])
        #expect(validators.map { $0["name"] as? String } == ["node-1", "node-2", "node-3", "node-4"])
        #expect(validators.map { $0["self"] as? Bool } == [true, false, false, false])
        for node in 0..<4 { #expect(validators[node]["apiUrl"] as? String == consortium.runtime(node).url) }
        #expect(try consortium.client(0).nodeURL(of: consortium.organisations[2]) == consortium.runtime(2).url)
        let metrics = String(decoding: try HTTPClient(baseURL: consortium.runtime(1).url).request("GET", "/metrics").body, as: UTF8.self)
        for name in ["healthledger_consensus_height", "healthledger_consensus_round", "healthledger_consensus_peers_linked 3",
                     "healthledger_consensus_evidence_total 0"] {
            #expect(metrics.contains(name), "metric \(name) missing")
        }
        let evidence = try HTTPClient(baseURL: consortium.runtime(1).url).request("GET", "/v1/consensus/evidence")
        #expect(evidence.status == 200 && String(decoding: evidence.body, as: UTF8.self).contains("\"count\":0"))
    }

    @Test func aStoppedNodeReplaysItsLogAndCatchesUp() throws {
        let consortium = try InProcessConsortium()
        #expect(consortium.waitForHeight(3))
        consortium.stop(3)
        let stoppedAt = consortium.dataDirectory(3)
        let before = try ChainStore(path: stoppedAt.ledgerDatabase, genesis: consortium.genesis).headHeight
        // The other three keep committing without it (3 of 4 is more than 2/3).
        let practitioner = fixedKey(60)
        let answer = try consortium.enrol(practitioner, organisation: 0, through: 1)
        #expect(answer["status"] as? String == "committed")
        #expect(consortium.waitForHeight(before + 5))
        try consortium.start(3)
        let target = consortium.store(0).headHeight
        #expect(consortium.waitForHeight(target + 2))
        let height = consortium.store(3).headHeight
        #expect(try consortium.blockHashes(3, through: height) == consortium.blockHashes(0, through: height))
        #expect(consortium.logs[3].all.contains { $0.contains("\"source\":\"sync\"") }, "the restarted node caught up by block sync")
        #expect(try consortium.store(3).location(of: TransactionID(hex: answer["id"] as! String)!) != nil)
    }

    @Test func aRecordRequestAtAnotherOrganisationsNodeIsSentToTheCustodian() throws {
        let consortium = try InProcessConsortium()
        let doctor = fixedKey(70)
        try consortium.enrol(doctor, organisation: 0, through: 0)
        #expect(try eventually(timeoutMs: 15_000) { try consortium.client(1).nodeURL(of: consortium.organisations[0]) != nil })
        let patientKey = fixedKey(71)
        let patient = Identity(publicKey: patientKey.publicKey)
        let resource = Array(#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]"}}"#.utf8)
        let stored = try consortium.client(0).storeRecord(
            resource: resource, submission: consortium.signer.submission(resource: resource, patient: patient, custodian: consortium.organisations[0], by: doctor))
        let record = try #require(RecordID(hex: stored["recordId"] as? String ?? ""))
        _ = try consortium.client(2).submit(consortium.signer.transaction(.grantConsent(GrantConsent(
            grantee: .practitioner(Identity(publicKey: doctor.publicKey)), actions: AccessActions([.read]))), by: patientKey))
        // A read for hospital-1's record sent to hospital-2's node: 421 with hospital-1's node URL.
        let read = consortium.signer.transaction(.recordAccess(RecordAccess(
            custodian: consortium.organisations[0], patient: patient, action: .read, selector: .records([record]))), by: doctor)
        let response = try HTTPClient(baseURL: consortium.runtime(1).url).request(
            "POST", "/v1/access", headers: [(name: "content-type", value: "application/json")],
            body: Array("{\"transaction\":\"\(Hex.encode(read.canonicalBytes))\"}".utf8))
        #expect(response.status == 421)
        #expect(response.header("location") == consortium.runtime(0).url)
        let problem = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(problem["code"] as? String == "not-custodian" && problem["custodian"] as? String == "hospital-1")
        #expect(problem["location"] as? String == consortium.runtime(0).url)
        // Nothing was admitted at the wrong node, and its vault holds nothing.
        #expect(try consortium.runtime(1).service.status(of: read.id) == .unknown)
        #expect(try consortium.runtime(1).service.vault.records(ofPatient: patient).isEmpty)
        #expect(try consortium.runtime(0).service.vault.records(ofPatient: patient) == [record])
        // Sent where the answer says, the request is served by the custodian.
        let released = try NodeClient(url: try #require(response.header("location"))).access(read)
        #expect(released["decision"] as? String == "allowed")
        #expect((released["records"] as? [[String: Any]])?.first?["id"] as? String == record.hex)
    }

    @Test func aNodeRestartedMidHeightReplaysItsLogAndDoesNotEquivocate() throws {
        // Two of four cannot decide height 1: they sign their prevotes and wait for more than 2/3.
        let consortium = try InProcessConsortium(running: [0, 1])
        let prevoted = eventually(timeoutMs: 15_000) {
            guard let status = try? consortium.client(0).consensus(), status["height"] as? Int == 1 else { return false }
            return status["step"] as? String != "propose" || status["round"] as? Int != 0
        }
        #expect(prevoted)
        Thread.sleep(forTimeInterval: 0.3)
        consortium.stop(0)
        try consortium.start(0)
        #expect(eventually(timeoutMs: 5_000) { consortium.logs[0].all.contains { $0.contains("consensus.replayed") } }, "the log of height 1 was replayed")
        // With the other two, the four decide, and nobody saw two different signatures from one validator.
        try consortium.start(2)
        try consortium.start(3)
        #expect(consortium.waitForHeight(3))
        for node in 0..<4 {
            #expect(try consortium.metric(node, "healthledger_consensus_evidence_total") == 0)
            #expect(!consortium.logs[node].all.contains { $0.contains("consensus.sign.refused") || $0.contains("consensus.halted") })
        }
        #expect(try consortium.blockHashes(0, through: 3) == consortium.blockHashes(3, through: 3))
    }

    @Test func anEquivocatingValidatorIsReportedWithCheckableEvidence() throws {
        let consortium = try InProcessConsortium(running: [0, 1, 2])
        let byzantine = try consortium.impostor(3)
        defer { byzantine.stop() }
        #expect(consortium.waitForHeight(1))
        // Validator 4 signs two different prevotes for the same height and round, again each try until seen.
        let reported = try eventually(timeoutMs: 20_000) {
            let height = consortium.store(0).headHeight + 1
            for blockHash in [SHA256.hash(Array("block A \(height)".utf8)), SHA256.hash(Array("block B \(height)".utf8))] {
                let vote = Vote(chainID: consortium.genesis.chainID, type: .prevote, height: height, round: 0, blockHash: blockHash)
                try byzantine.broadcast(PeerMessage.vote(consortium.signedVote(vote, by: 3)).canonicalBytes)
            }
            Thread.sleep(forTimeInterval: 0.2)
            return try consortium.metric(0, "healthledger_consensus_evidence_total") >= 1
        }
        #expect(reported)
        let answer = try HTTPClient(baseURL: consortium.runtime(0).url).request("GET", "/v1/consensus/evidence")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        let pieces = try #require(object["evidence"] as? [[String: Any]])
        #expect(pieces.first?["validator"] as? String == "node-4" && pieces.first?["kind"] as? String == "conflicting-votes")
        let evidence = try Evidence(canonicalBytes: try #require(Hex.decode(pieces.first?["evidence"] as? String ?? "")))
        #expect(evidence.isValid(in: consortium.genesis) && evidence.validatorIndex == 3)
        // Kept across a restart (evidence.log), and the chain went on.
        consortium.stop(0)
        try consortium.start(0)
        #expect(try consortium.metric(0, "healthledger_consensus_evidence_total") >= 1)
        let height = consortium.store(1).headHeight
        #expect(consortium.waitForHeight(height + 2))
    }

    /// A vote after its step's quorum is left unverified, but a second, different one of the same validator
    /// is verified with it and both make evidence (LateVotes). Deterministic: validator 1 runs alone, so it
    /// prevotes nil at height 1, round 0 (whose proposer, validator 2, is absent) and stays in that height;
    /// the test, holding every validator's key, completes the nil quorum there and then equivocates as 4.
    @Test func twoDifferentLateVotesOfOneValidatorAreVerifiedAndMakeEvidence() throws {
        let consortium = try InProcessConsortium(running: [0])
        let byzantine = try consortium.impostor(3)
        defer { byzantine.stop() }
        let node = consortium.nodeKeys[0].publicKey
        func step() -> String? {
            guard let status = try? consortium.client(0).consensus(), status["height"] as? Int == 1, status["round"] as? Int == 0 else { return nil }
            return status["step"] as? String
        }
        func prevote(_ value: String?, by index: Int) -> [UInt8] {
            let vote = Vote(chainID: consortium.genesis.chainID, type: .prevote, height: 1, round: 0, blockHash: value.map { SHA256.hash(Array($0.utf8)) })
            return PeerMessage.vote(consortium.signedVote(vote, by: index)).canonicalBytes
        }
        func metric(_ name: String) -> Double { (try? consortium.metric(0, name)) ?? 0 }
        let late = "healthledger_consensus_messages_dropped_total{reason=\"late_vote\"}"
        #expect(eventually(timeoutMs: 20_000) { step() == "prevote" }, "validator 1 prevoted nil and waits")
        // Validators 2 and 3 prevote nil too: with validator 1's own vote, the step has its quorum.
        let polka = eventually(timeoutMs: 20_000) {
            for index in [1, 2] { try? byzantine.send(prevote(nil, by: index), to: node) }
            Thread.sleep(forTimeInterval: 0.1)
            return step() == "precommit"
        }
        #expect(polka, "validator 1 saw the nil quorum and precommitted nil")
        #expect(metric(late) == 0, "no vote was late before")
        // Validator 4's prevote changes nothing now: dropped unverified, no evidence from it alone.
        #expect(eventually(timeoutMs: 20_000) {
            try? byzantine.send(prevote("block A", by: 3), to: node)
            Thread.sleep(forTimeInterval: 0.1)
            return metric(late) >= 1
        })
        #expect(metric("healthledger_consensus_evidence_total") == 0)
        // A different prevote of validator 4 in the same step: both are verified and handed on, and make evidence.
        #expect(eventually(timeoutMs: 20_000) {
            try? byzantine.send(prevote("block B", by: 3), to: node)
            Thread.sleep(forTimeInterval: 0.1)
            return metric("healthledger_consensus_evidence_total") >= 1
        })
        let answer = try HTTPClient(baseURL: consortium.runtime(0).url).request("GET", "/v1/consensus/evidence")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        let pieces = try #require(object["evidence"] as? [[String: Any]])
        #expect(pieces.count == 1 && pieces.first?["validator"] as? String == "node-4" && pieces.first?["kind"] as? String == "conflicting-votes")
        let evidence = try Evidence(canonicalBytes: try #require(Hex.decode(pieces.first?["evidence"] as? String ?? "")))
        #expect(evidence.isValid(in: consortium.genesis) && evidence.validatorIndex == 3)
        #expect(metric(late) == 1, "the pair was verified, not counted late again")
    }

    @Test func hostilePeerMessagesAreDroppedAndTheNodeKeepsCommitting() throws {
        let consortium = try InProcessConsortium(running: [0, 1, 2])
        let hostile = try consortium.impostor(3)
        defer { hostile.stop() }
        let stranger = try consortium.impostor(3, key: fixedKey(77))
        defer { stranger.stop() }
        #expect(consortium.waitForHeight(1))
        let chain = consortium.genesis.chainID
        let sent = try eventually(timeoutMs: 20_000) {
            let height = consortium.store(0).headHeight + 1
            let vote = Vote(chainID: chain, type: .prevote, height: height, round: 0, blockHash: nil)
            // Garbage, a forged signature, another chain, a proposal from a validator whose turn it is not.
            try hostile.broadcast(Array("not a peer message at all".utf8))
            let genuine = consortium.signedVote(vote, by: 3)
            var forged = genuine.signature
            forged[7] ^= 0x40
            try hostile.broadcast(PeerMessage.vote(SignedVote(vote: vote, validatorIndex: 3, signature: forged)).canonicalBytes)
            var otherChain = vote
            otherChain.chainID = ChainID("another-chain")!
            try hostile.broadcast(PeerMessage.vote(consortium.signedVote(otherChain, by: 3)).canonicalBytes)
            let round: UInt32 = ConsensusConfiguration.proposer(height: height, round: 0, validatorCount: 4) == 3 ? 1 : 0
            let block = Block(header: BlockHeader(chainID: chain, height: height, timeMs: SystemClock().nowMs(), previousHash: consortium.store(0).headHash,
                                                  entriesRoot: MerkleTree.root(leafHashes: []), entryCount: 0,
                                                  proposer: Identity(publicKey: consortium.nodeKeys[3].publicKey),
                                                  validatorSetHash: consortium.genesis.validatorSetHash), entries: [])
            let proposal = Proposal(chainID: chain, height: height, round: round, validRound: nil, blockHash: block.header.hash)
            try hostile.broadcast(PeerMessage.proposal(SignedProposal(proposal: proposal, validatorIndex: 3,
                                                                      signature: consortium.nodeKeys[3].signature(for: proposal.canonicalBytes),
                                                                      block: block)).canonicalBytes)
            Thread.sleep(forTimeInterval: 0.2)
            return try ["malformed", "bad_signature", "wrong_chain", "wrong_proposer"].allSatisfy {
                try consortium.metric(0, "healthledger_consensus_messages_dropped_total{reason=\"\($0)\"}") >= 1
            }
        }
        #expect(sent, "every kind of bad message was counted as dropped")
        // The stranger's key is not in the genesis: refused at the TLS handshake.
        #expect(eventually(timeoutMs: 10_000) { consortium.logs[0].all.contains { $0.contains("tls_key_not_pinned") } })
        // The three honest validators keep committing, and a client's transaction still commits.
        let answer = try consortium.enrol(fixedKey(78), organisation: 1, through: 0)
        #expect(answer["status"] as? String == "committed")
        #expect(try consortium.metric(0, "healthledger_consensus_evidence_total") == 0)
    }

    @Test func aFloodOfGarbageConnectionsIsCountedWhileItsLogLinesStayBounded() throws {
        let consortium = try InProcessConsortium()
        #expect(consortium.waitForHeight(1))
        let floodSize = 120
        for _ in 0..<floodSize { try sendGarbage(toPort: consortium.peerPorts[0]) }
        func refusedTotal() throws -> Double {
            let text = String(decoding: try HTTPClient(baseURL: consortium.runtime(0).url).request("GET", "/metrics").body, as: UTF8.self)
            return text.split(separator: "\n").filter { $0.hasPrefix("healthledger_peer_connections_refused_total{") }
                .reduce(0) { $0 + (Double($1.split(separator: " ").last!) ?? 0) }
        }
        #expect(try eventually(timeoutMs: 20_000) { try refusedTotal() >= Double(floodSize) }, "every refused connection is counted")
        func refusedLines() -> [String] { consortium.logs[0].all.filter { $0.contains("\"peer.connection.refused\"") } }
        #expect((20..<floodSize / 2).contains(refusedLines().count), "a burst of 20 and 5 a second: \(refusedLines().count) lines")
        // Once the bucket has refilled, the next refused connection says how many were left out before it.
        Thread.sleep(forTimeInterval: 0.5)
        try sendGarbage(toPort: consortium.peerPorts[0])
        #expect(eventually(timeoutMs: 10_000) { refusedLines().last?.contains("suppressed_before") == true }, "\(refusedLines().last ?? "")")
        // The validators keep committing.
        #expect(try consortium.enrol(fixedKey(79), organisation: 1, through: 0)["status"] as? String == "committed")
    }

    /// Connects to `port` on loopback, writes bytes that are not a TLS handshake, and closes.
    private func sendGarbage(toPort port: UInt16) throws {
        try RawConnection(port: port).send(Array("GET / HTTP/1.1\r\nnot a TLS handshake at all\r\n\r\n".utf8))
    }

    @Test func aValidatorAskingForBlocksOverAndOverIsAnsweredWithinItsBudget() throws {
        let consortium = try InProcessConsortium(running: [1, 2])
        // A budget of 4 KiB a second and 16 KiB at once: about two answers of 16 small blocks, then one every
        // few seconds.
        try consortium.start(0) { settings in
            settings.syncAnswerBytesPerSecond = 4_096
            settings.syncAnswerBurstBytes = 16_384
        }
        let hostile = try consortium.impostor(3)
        defer { hostile.stop() }
        #expect(consortium.waitForHeight(20))
        let node0 = consortium.genesis.validators[0].key.publicKey
        let request = PeerMessage.syncRequest(SyncRequest(fromHeight: 1, maxCount: UInt16(SyncResponse.maxBlocks))).canonicalBytes
        let linked = eventually(timeoutMs: 20_000) {
            try? hostile.send(request, to: node0)
            Thread.sleep(forTimeInterval: 0.1)
            return ((try? consortium.metric(0, "healthledger_consensus_sync_answers_total")) ?? 0) >= 1
        }
        #expect(linked, "the first request is answered")
        for _ in 0..<100 { try hostile.send(request, to: node0) }
        let answers = { try consortium.metric(0, "healthledger_consensus_sync_answers_total") }
        let refused = { try consortium.metric(0, "healthledger_consensus_messages_dropped_total{reason=\"sync_over_budget\"}") }
        #expect(try eventually(timeoutMs: 20_000) { try answers() + refused() >= 100 }, "every request was answered or refused")
        #expect(try answers() <= 12, "at most the burst and the refill were answered")
        #expect(try refused() >= 85)
        // The honest validators keep committing with node 0, and a client's transaction still commits there.
        let answer = try consortium.enrol(fixedKey(79), organisation: 1, through: 0)
        #expect(answer["status"] as? String == "committed")
    }

    /// The log records what a validator signed for the height in progress: one whose log was deleted does
    /// not sign at that height (the others decide it), then takes part again.
    @Test func aValidatorWhoseLogWasDeletedSitsOutTheHeightInProgress() throws {
        let consortium = try InProcessConsortium()
        #expect(consortium.waitForHeight(2))
        consortium.stop(2)
        try FileManager.default.removeItem(atPath: consortium.dataDirectory(2).consensusLogFile)
        try consortium.start(2)
        let head = consortium.store(2).headHeight
        #expect(consortium.logs[2].all.contains { $0.contains("consensus.log.missing") && $0.contains("\"notSigningAtHeight\":\(head + 1)") })
        #expect(consortium.waitForHeight(head + 3))
        for node in 0..<4 { #expect(try consortium.metric(node, "healthledger_consensus_evidence_total") == 0) }
        #expect(try consortium.blockHashes(2, through: head + 3) == consortium.blockHashes(0, through: head + 3))
    }

    /// Only one append in `heightsPerDurableAppend` is synced, so a crash of the machine may take the chain
    /// store's last blocks, never the consensus log's heights since its last synced append: a validator
    /// started on a store that lost them (rebuilt here with the blocks before the log's first height, as it
    /// was on disk then) stores them again from its log, with the same hashes, and goes on committing.
    @Test func blocksTheStoreLostAreStoredAgainFromTheLog() throws {
        let consortium = try InProcessConsortium(running: [0, 1, 2])
        #expect(consortium.waitForHeight(2))
        try consortium.start(3) { $0.heightsPerDurableAppend = 1_000 }
        let joined = consortium.store(3).headHeight
        #expect(eventually(timeoutMs: 30_000) { consortium.store(3).headHeight >= joined + 6 })
        let stopped = consortium.store(3)
        consortium.stop(3)
        let decidedThrough = stopped.headHeight
        let firstRecord = try WriteAheadLog(path: consortium.dataDirectory(3).consensusLogFile).recovered.first
        guard let firstRecord, case let .startHeight(logStart, _) = try ConsensusInput(canonicalBytes: firstRecord) else {
            Issue.record("the log does not start a height")
            return
        }
        try #require(logStart + 1 <= decidedThrough, "the log holds decided heights \(logStart)...\(decidedThrough)")

        let ledger = consortium.dataDirectory(3).ledgerDatabase
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger + suffix) }
        do {
            let rebuilt = try ChainStore(path: ledger, genesis: consortium.genesis)
            let executor = BlockExecutor(genesis: consortium.genesis)
            for height in 1..<logStart {
                let block = try #require(try consortium.store(0).block(at: height))
                try rebuilt.append(block, changes: try executor.execute(block.block, state: rebuilt))
            }
        }
        try consortium.start(3) { $0.heightsPerDurableAppend = 1_000 }
        #expect(eventually(timeoutMs: 15_000) { consortium.logs[3].all.contains { $0.contains("consensus.replayed") } })
        let replayed = consortium.logs[3].all.last { $0.contains("consensus.replayed") } ?? ""
        #expect(!replayed.contains("\"restored\":0"), "\(replayed)")
        #expect(consortium.logs[3].all.contains { $0.contains("block.committed") && $0.contains("\"source\":\"log\"") })
        #expect(consortium.waitForHeight(decidedThrough + 2))
        #expect(try consortium.blockHashes(3, through: decidedThrough + 2) == consortium.blockHashes(0, through: decidedThrough + 2))
    }

    /// The signer state file of an earlier version, in its first format: magic, u32 length, the first 8
    /// bytes of SHA-256(state), state.
    private func writeEarlierSignerState(_ state: LastSigned, to path: String, damaged: Bool = false) throws {
        let bytes = state.canonicalBytes
        var contents = Array("healthledger-signer-state/1\n".utf8) + withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init)
            + SHA256.hash(bytes).bytes.prefix(8) + bytes
        if damaged { contents[contents.count - 1] ^= 1 }
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    /// What an earlier version saved in its signer state file is honoured (the node refuses to sign before
    /// it); the file is removed on a start where the chain has committed its height; a damaged one stops the
    /// start rather than risk a double signature.
    @Test func aSignerStateFileOfAnEarlierVersionIsHonouredThenRemoved() throws {
        let consortium = try InProcessConsortium(running: [0, 1, 2])
        #expect(consortium.waitForHeight(1))
        consortium.stop(2)
        let path = consortium.dataDirectory(2).signerStateFile
        let signature = [UInt8](repeating: 7, count: 64)
        try writeEarlierSignerState(LastSigned(height: 1_000, round: 0, step: .prevote, signedBytesHash: SHA256.hash([1]), signature: signature),
                                    to: path)
        try consortium.start(2)
        #expect(eventually(timeoutMs: 15_000) {
            consortium.logs[2].all.contains { $0.contains("consensus.sign.refused") && $0.contains("before the last signature at 1000/0/prevote") }
        })
        #expect(FileManager.default.fileExists(atPath: path))
        consortium.stop(2)

        try writeEarlierSignerState(LastSigned(height: 1, round: 0, step: .precommit, signedBytesHash: SHA256.hash([1]), signature: signature),
                                    to: path)
        try consortium.start(2)
        #expect(!FileManager.default.fileExists(atPath: path), "height 1 is committed: the file is obsolete")
        let height = consortium.store(2).headHeight
        #expect(consortium.waitForHeight(height + 2), "it signs again")
        consortium.stop(2)

        try writeEarlierSignerState(LastSigned(height: 1_000, round: 0, step: .prevote, signedBytesHash: SHA256.hash([1]), signature: signature),
                                    to: path, damaged: true)
        do {
            try consortium.start(2)
            Issue.record("a node with a damaged signer state started")
        } catch {
            #expect("\(error)".contains("signer.state is damaged") && "\(error)".contains("refusing to sign"), "\(error)")
        }
    }
}
