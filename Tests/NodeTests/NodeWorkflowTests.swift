import Foundation
import Testing
import Ledger
import Node
import Storage
import TestSupport
import Transport

/// The users' jobs against a real node over real HTTP: a hospital enrols a clinician, a record is stored,
/// a patient grants and revokes, the clinician reads, the patient sees who accessed what, an auditor
/// verifies the export. Every release happens only after the committed access event allows it.
@Suite(.serialized) struct NodeWorkflowTests {
    @Test func theWholeStory() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        let record = try node.storeObservation(about: patient, by: doctor, note: "MARKER-do-not-leak-41b7")

        // No grant yet: denied, and the denial is committed.
        #expect(throws: ClientError.self) { try node.client.access(node.readRequest(record, of: patient, by: doctor)) }
        let grant = try node.grant(from: patientKey, to: .practitioner(identity(doctor)))
        let released = try node.client.access(node.readRequest(record, of: patient, by: doctor))
        #expect(released["decision"] as? String == "allowed")
        #expect(released["grant"] as? String == grant.hex)
        let records = try #require(released["records"] as? [[String: Any]])
        #expect(records.count == 1 && records[0]["id"] as? String == record.hex)
        let resource = try #require(records[0]["resource"] as? [String: Any])
        #expect((resource["subject"] as? [String: Any]) != nil, "the vault filled in the patient")

        // Revocation takes effect on the next read.
        try node.commit(.revokeConsent(RevokeConsent(grant: grant)), by: patientKey)
        do {
            _ = try node.client.access(node.readRequest(record, of: patient, by: doctor))
            Issue.record("read after revocation was allowed")
        } catch let error {
            #expect(error.code == "access-denied")
            guard case let .problem(status, _, _, _, members) = error else { return }
            #expect(status == 403 && members["reason"] == "grantRevoked")
        }

        // The patient's accounting of disclosures lists all three attempts, in order.
        let log = try node.client.accesses(of: patient)
        let decisions = (log["accesses"] as? [[String: Any]] ?? []).map { $0["decision"] as? String ?? "?" }
        #expect(decisions == ["denied", "allowed", "denied"])
        let consents = try #require(try node.client.consents(of: patient)["grants"] as? [[String: Any]])
        #expect(consents.count == 1 && consents[0]["status"] as? String == "revoked")

        // The auditor's export verifies, and nothing of the record is in the ledger database or the logs.
        let exportPath = node.directory + "/export.hlx"
        _ = try node.client.export(to: exportPath)
        let report = try ChainAudit.verify(exportAt: exportPath, genesis: node.runtime.service.genesis)
        #expect(report.valid && report.height == node.runtime.service.store.headHeight)
        let marker = Array("MARKER-do-not-leak-41b7".utf8)
        for name in try FileManager.default.contentsOfDirectory(atPath: node.directory) where name.hasPrefix("ledger.sqlite") || name.hasPrefix("vault.sqlite") {
            #expect(![UInt8](try Data(contentsOf: URL(fileURLWithPath: node.directory + "/" + name))).contains(marker), "\(name) holds record content")
        }
        #expect(!node.logLines.all.contains { $0.contains("MARKER-do-not-leak") })
    }

    /// A diagnose access answered by the custodian node's `ServiceResult`: the patient's accounting of
    /// disclosures shows the result's model and hashes next to the access, and the block shows the event.
    @Test func aServiceResultShowsInTheAccessLogAndInItsBlock() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        let record = try node.storeObservation(about: patient, by: doctor)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose])
        let diagnose = node.signer.transaction(.recordAccess(RecordAccess(custodian: node.organisation, patient: patient, action: .diagnose,
                                                                          selector: .records([record]))), by: doctor)
        let committedAccess = try node.client.submit(diagnose)
        #expect((committedAccess["outcome"] as? [String: Any])?["decision"] as? String == "allowed")

        let nodeKey = try KeyFile.load(from: node.dataDirectory.nodeKeyFile, passphrase: nil)
        let model = ModelReference(id: ModelID("heart-v1")!, hash: SHA256.hash(Array("model file".utf8)))
        let body = ServiceResult(access: diagnose.id, model: model, inputHash: SHA256.hash(Array("inputs".utf8)),
                                 outputHash: SHA256.hash(Array("output".utf8)))
        let result = node.signer.transaction(.serviceResult(body), by: nodeKey)
        let committedResult = try node.client.submit(result)
        #expect(committedResult["kind"] as? String == "ServiceResult")
        let resultHeight = try #require(committedResult["height"] as? Int)

        let accesses = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect(accesses.count == 1)
        let shown = try #require(accesses.first?["result"] as? [String: Any])
        #expect(shown["transaction"] as? String == result.id.hex)
        #expect(shown["height"] as? Int == resultHeight)
        #expect(shown["model"] as? [String: String] == ["id": "heart-v1", "hash": model.hash.hex])
        #expect(shown["inputHash"] as? String == body.inputHash.hex && shown["outputHash"] as? String == body.outputHash.hex)

        let block = try HTTPTestClient(node.runtime.url).client.request("GET", "/v1/blocks/\(resultHeight)")
        let blockJSON = try #require(try JSONSerialization.jsonObject(with: Data(block.body)) as? [String: Any])
        let entry = try #require((blockJSON["entries"] as? [[String: Any]])?.first { $0["id"] as? String == result.id.hex })
        #expect(entry["kind"] as? String == "ServiceResult" && entry["outcome"] == nil)
        let entryBody = try #require(entry["body"] as? [String: Any])
        #expect(entryBody["access"] as? String == diagnose.id.hex)
        #expect(entryBody["model"] as? [String: String] == ["id": "heart-v1", "hash": model.hash.hex])

        // A second result for the same access is refused, and the log still shows the first.
        do {
            _ = try node.client.submit(node.signer.transaction(.serviceResult(body), by: nodeKey))
            Issue.record("a second result for one access was accepted")
        } catch {
            #expect(error.code == "refused" && "\(error)".contains("already committed"))
        }
        let again = try node.client.accesses(of: patient)["accesses"] as? [[String: Any]]
        #expect((again?.first?["result"] as? [String: Any])?["transaction"] as? String == result.id.hex)
    }

    @Test func aReplayedOrForeignRequestIsRefused() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        let record = try node.storeObservation(about: identity(patientKey), by: patientKey)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)))
        let request = node.readRequest(record, of: identity(patientKey), by: doctor)
        _ = try node.client.access(request)
        #expect(throws: ClientError.self) { try node.client.access(request) }
        do { _ = try node.client.access(request) } catch { #expect(error.code == "replayed") }
        let foreign = node.readRequest(record, of: identity(patientKey), by: doctor, chain: ChainID("another-chain")!)
        do {
            _ = try node.client.access(foreign)
            Issue.record("a request for another chain was served")
        } catch { #expect(error.code == "wrong-chain") }
    }

    @Test func anOrganisationGrantAdmitsItsEnrolledPractitionersOnly() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let enrolled = Ed25519.PrivateKey()
        let stranger = Ed25519.PrivateKey()
        try node.enrol(enrolled)
        let record = try node.storeObservation(about: identity(patientKey), by: enrolled)
        _ = try node.grant(from: patientKey, to: .organisation(node.organisation))
        #expect(try node.client.access(node.readRequest(record, of: identity(patientKey), by: enrolled))["decision"] as? String == "allowed")
        do {
            _ = try node.client.access(node.readRequest(record, of: identity(patientKey), by: stranger))
            Issue.record("a stranger was admitted by an organisation grant")
        } catch { #expect(error.code == "access-denied") }
    }

    @Test func anExpiredGrantDenies() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let doctor = Ed25519.PrivateKey()
        let record = try node.storeObservation(about: identity(patientKey), by: patientKey)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), notAfterMs: SystemClock().nowMs() + 1_500)
        #expect(try node.client.access(node.readRequest(record, of: identity(patientKey), by: doctor))["decision"] as? String == "allowed")
        Thread.sleep(forTimeInterval: 1.6)
        do {
            _ = try node.client.access(node.readRequest(record, of: identity(patientKey), by: doctor))
            Issue.record("an expired grant still allowed a read")
        } catch {
            guard case let .problem(_, _, _, _, members) = error else { return }
            #expect(members["reason"] == "grantExpired")
        }
    }

    @Test func theChainContinuesAcrossARestart() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let first = try node.storeObservation(about: identity(patientKey), by: patientKey)
        let heightBefore = node.runtime.service.store.headHeight
        try node.restart()
        #expect(node.runtime.service.store.headHeight == heightBefore)
        let second = try node.storeObservation(about: identity(patientKey), by: patientKey)
        #expect(first != second)
        #expect(node.runtime.service.store.headHeight > heightBefore)
        let exportPath = node.directory + "/export.hlx"
        _ = try node.client.export(to: exportPath)
        #expect(try ChainAudit.verify(exportAt: exportPath, genesis: node.runtime.service.genesis).valid)
    }

    @Test func badInputGetsAClearAnswerAndTheNodeKeepsServing() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        // Not hex, not a transaction, unknown members, a bad signature, invalid FHIR.
        for body in [#"{"transaction": "zz"}"#, #"{"transaction": "00"}"#, #"{"transaction": "00", "extra": 1}"#, "[1,2]", "garbage"] {
            let response = try HTTPTestClient(node.runtime.url).post("/v1/transactions", body: Array(body.utf8))
            #expect(response.status == 400, "\(body) → \(response.status)")
        }
        var tampered = node.signer.transaction(.grantConsent(GrantConsent(grantee: .organisation(node.organisation), actions: AccessActions([.read]))),
                                               by: patientKey).canonicalBytes
        tampered[tampered.count - 1] ^= 1
        let badSignature = try HTTPTestClient(node.runtime.url).post("/v1/transactions", body: Array(#"{"transaction": "\#(Hex.encode(tampered))"}"#.utf8))
        #expect(badSignature.status == 400 && String(decoding: badSignature.body, as: UTF8.self).contains("bad-signature"))
        let invalid = Array(#"{"resourceType":"Observation","note":[{"text":"SECRET-NOTE-99"}]}"#.utf8)
        do {
            _ = try node.client.storeRecord(resource: invalid, submission: node.signer.submission(
                resource: invalid, patient: identity(patientKey), custodian: node.organisation, by: patientKey))
            Issue.record("an invalid resource was stored")
        } catch {
            #expect(error.code == "invalid-resource")
            #expect(!"\(error)".contains("SECRET-NOTE-99"))
        }
        // A cursor out of range is refused, never reaches the store (it used to stop the process).
        let http = try HTTPTestClient(node.runtime.url).client
        for cursor in ["1.-1", "99999999999999.0", "1.9999999", "x.y"] {
            let answer = try http.request("GET", "/v1/patients/\(identity(patientKey).text)/accesses?after=\(cursor)")
            #expect(answer.status == 400, "after=\(cursor) → \(answer.status)")
        }
        // A malformed wait is refused before anything is admitted.
        let grant = node.signer.transaction(.grantConsent(GrantConsent(grantee: .organisation(node.organisation), actions: AccessActions([.read]))),
                                            by: patientKey)
        let badWait = try HTTPTestClient(node.runtime.url).post("/v1/transactions?wait=soon",
                                                                body: Array(#"{"transaction": "\#(Hex.encode(grant.canonicalBytes))"}"#.utf8))
        #expect(badWait.status == 400)
        #expect(try http.request("GET", "/v1/transactions/\(grant.id.hex)").status == 404, "the transaction was admitted")
        // Still serving.
        #expect(try node.client.head()["chainId"] as? String == node.signer.chainID.value)
    }
}

/// The batch route admits each transaction on its own and answers each in order.
@Suite struct BatchSubmissionTests {
    @Test func aBatchAdmitsEachTransactionOnItsOwn() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let grants = (0..<20).map { _ in
            node.signer.transaction(.grantConsent(GrantConsent(grantee: .organisation(node.organisation), actions: AccessActions([.read]))),
                                    by: patientKey)
        }
        let foreign = RequestSigner(chainID: ChainID("another-chain")!).transaction(
            .grantConsent(GrantConsent(grantee: .organisation(node.organisation), actions: AccessActions([.read]))), by: patientKey)
        let results = try node.client.submitBatch(grants + [foreign, grants[0]])
        #expect(results.count == 22)
        #expect(results.prefix(20).map { $0["id"] as? String } == grants.map(\.id.hex))
        #expect(results[20]["code"] as? String == "wrong-chain")
        // Pending still (duplicate) or already committed by group commit (replayed): refused either way.
        #expect(["duplicate", "replayed"].contains(results[21]["code"] as? String))
        for grant in grants {
            #expect(try node.runtime.service.waitForCommit(grant.id, timeoutMs: 10_000) != .pending)
        }
        let listed = try node.client.consents(of: identity(patientKey))["grants"] as? [[String: Any]] ?? []
        #expect(listed.count == 20)
        let garbage = try HTTPTestClient(node.runtime.url).post("/v1/transactions/batch", body: [0, 0, 0, 9, 1, 2])
        #expect(garbage.status == 400)
        // The literal segment beats /v1/transactions/{id} for every method: "batch" is never looked up as an id.
        let wrongMethod = try HTTPTestClient(node.runtime.url).client.request("GET", "/v1/transactions/batch")
        #expect(wrongMethod.status == 405 && wrongMethod.headers.first { $0.name == "allow" }?.value == "POST")
    }
}

/// Numbers in paths and queries are ASCII digits only (API.md: a sign, a space or anything else is 400), and
/// `format` is `json` or `binary`.
@Suite struct RequestValueTests {
    @Test func numbersAreDigitsOnlyAndFormatIsOneOfTwo() throws {
        let node = try TestNode()
        let client = try HTTPTestClient(node.runtime.url).client
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey).text
        _ = try node.client.submit(node.signer.transaction(
            .grantConsent(GrantConsent(grantee: .organisation(node.organisation), actions: AccessActions([.read]))), by: patientKey), wait: true)
        let refused = [
            "/v1/blocks/+1", "/v1/blocks/0", "/v1/blocks/%201", "/v1/blocks/99999999999999999999", "/v1/blocks/1?format=xml",
            "/v1/patients/\(patient)/accesses?limit=+5", "/v1/patients/\(patient)/accesses?limit=0",
            "/v1/patients/\(patient)/accesses?after=+1.0", "/v1/patients/\(patient)/accesses?after=1.-0",
        ]
        for path in refused {
            let response = try client.request("GET", path)
            #expect(response.status == 400 && problemCode(response) == "bad-request", "GET \(path): \(response.status)")
        }
        let signedWait = try HTTPTestClient(node.runtime.url).post("/v1/transactions?wait=%2B5", body: Array(#"{"transaction":"00"}"#.utf8))
        #expect(signedWait.status == 400 && String(decoding: signedWait.body, as: UTF8.self).contains("wait is"))
        for path in ["/v1/blocks/1", "/v1/blocks/1?format=json", "/v1/blocks/1?format=binary", "/v1/patients/\(patient)/accesses?limit=5"] {
            #expect(try client.request("GET", path).status == 200, "GET \(path)")
        }
    }

    private func problemCode(_ response: HTTPClientResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["code"] as? String
    }
}
