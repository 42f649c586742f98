import Clinical
import Foundation
import Testing
import Ledger
import Node
import Storage
import TestSupport

/// The diagnosis and care-plan services through a real node over real HTTP, with FHIR records stored through
/// the API: a `diagnose` or `plan` grant yields the service's result, computed from the records as of the
/// access's block time and released only after the `ServiceResult` naming its hashes is committed; never
/// the records. Every call, allowed, denied or refused, shows in the patient's accounting of disclosures.
@Suite(.serialized) struct ClinicalServiceTests {
    static let marker = "MARKER-clinical-note-5c2e"

    /// The shipped model `name`, loaded as the node loads it.
    static func model(_ name: String) throws -> ClinicalModelFile { try ShippedModels.load(named: name) { SHA256.hash($0).hex } }

    /// The records as the service reads them: the vault's normalised resources, by record id.
    static func vaultRecords(_ ids: [RecordID], _ node: TestNode) throws -> [ClinicalRecord] {
        try ids.map { ClinicalRecord(id: $0.hex, json: try node.runtime.service.vault.get($0).resource) }
    }

    /// The committed `ServiceResult` a receipt names, after checking where it stands.
    static func committedResult(_ answer: [String: Any], _ node: TestNode) throws -> (body: ServiceResult, signer: Identity, height: UInt64) {
        let id = try #require(TransactionID(hex: answer["resultTransaction"] as? String ?? ""))
        let committed = try #require(try node.runtime.service.committedEntry(id), "the result event is not committed")
        guard case let .serviceResult(body) = committed.entry.transaction.transaction.body else {
            throw TestFailure("\(id.hex) is not a ServiceResult")
        }
        #expect(answer["resultHeight"] as? Int == Int(committed.height))
        return (body, committed.entry.transaction.transaction.signer, committed.height)
    }

    static func content(_ answer: [String: Any]) throws -> [UInt8] {
        try #require(Data(base64Encoded: answer["content"] as? String ?? "").map(Array.init), "no content")
    }

    @Test func aDiagnoseGrantGivesTheResultTheRecordsAndTheBlockTimeDetermine() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        let records = try node.storeRecords(ClinicalPatients.heart(seed: 7, note: Self.marker), about: patient, by: doctor)
        let grant = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose])

        let request = node.serviceRequest(.diagnose, of: patient, by: doctor)
        let answer = try node.client.service(request)
        #expect(answer["transaction"] as? String == request.id.hex && answer["grant"] as? String == grant.hex)
        #expect(answer["decision"] as? String == "allowed" && answer["action"] as? String == "diagnose")
        #expect(Set(answer["records"] as? [String] ?? []) == Set(records.map(\.hex)))

        // The result is what DiagnosisService computes from the same records as of the access's block time.
        let access = try #require(try node.runtime.service.committedEntry(request.id))
        #expect(answer["asOfMs"] as? Int == Int(access.blockTimeMs) && answer["height"] as? Int == Int(access.height))
        let expected = try DiagnosisService(model: try Self.model("heart"))
            .diagnose(try Self.vaultRecords(records, node), asOfMs: Int64(access.blockTimeMs), patient: patient.text)
        let content = try Self.content(answer)
        #expect(content == expected.canonicalJSON())
        let result = try #require(answer["result"] as? [String: Any])
        #expect(result["format"] as? String == DiagnosisResult.format)
        #expect((result["model"] as? [String: Any])?["id"] as? String == "heart-v1")
        #expect(result["probability"] as? Double == Double(CanonicalNumber.format(expected.probability)), "as the canonical text has it")
        #expect((result["explanation"] as? [String: Any])?["contributions"] as? [Any] != nil)
        #expect(result["disclaimer"] as? String == ClinicalDisclaimer.text)

        // On chain: the node's ServiceResult, in a later block, naming the model and the hashes of exactly
        // the released bytes and of the inputs.
        let (body, signer, resultHeight) = try Self.committedResult(answer, node)
        #expect(body.access == request.id && signer == node.runtime.service.identity && resultHeight > access.height)
        #expect(body.outputHash == SHA256.hash(content) && body.inputHash == SHA256.hash(expected.inputsCanonicalJSON()))
        #expect(body.model.id.value == "heart-v1" && body.model.hash.hex == expected.model.contentHash)
        #expect((answer["model"] as? [String: String]) == ["id": "heart-v1", "hash": body.model.hash.hex])
        #expect(answer["outputHash"] as? String == body.outputHash.hex && answer["inputHash"] as? String == body.inputHash.hex)

        // The accounting of disclosures shows the call with its result.
        let log = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect(log.count == 1 && log[0]["action"] as? String == "diagnose" && log[0]["decision"] as? String == "allowed")
        let shown = try #require(log[0]["result"] as? [String: Any])
        #expect(shown["transaction"] as? String == answer["resultTransaction"] as? String)
        #expect(shown["outputHash"] as? String == body.outputHash.hex)

        // The node's log names the call but holds neither the records nor the result.
        let probability = CanonicalNumber.format(expected.probability)
        try #require(probability.count >= 6, "a probability text long enough not to occur by chance: \(probability)")
        let lines = node.logLines.all
        #expect(lines.contains { $0.contains("service.answered") && $0.contains(request.id.hex) })
        #expect(!lines.contains { $0.contains(Self.marker) || $0.contains(probability) || $0.contains("probability") })
    }

    @Test func aPlanGrantGivesTheCarePlanAndNeitherRecordsNorADiagnosis() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        let records = try node.storeRecords(ClinicalPatients.diabetes(seed: 3), about: patient, by: doctor)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.plan])

        let request = node.serviceRequest(.plan, of: patient, by: doctor)
        let answer = try node.client.service(request)
        let access = try #require(try node.runtime.service.committedEntry(request.id))
        let expected = try DiabetesCarePlanner(model: try Self.model("diabetes"))
            .plan(try Self.vaultRecords(records, node), asOfMs: Int64(access.blockTimeMs), patient: patient.text)
        #expect(expected.risk != nil && !expected.items.isEmpty, "the fixture gives a full plan")
        let content = try Self.content(answer)
        #expect(content == expected.canonicalJSON())
        let result = try #require(answer["result"] as? [String: Any])
        #expect(result["format"] as? String == CarePlan.format && (result["items"] as? [Any])?.count == expected.items.count)
        let (body, _, _) = try Self.committedResult(answer, node)
        #expect(body.outputHash == SHA256.hash(content) && body.inputHash == SHA256.hash(expected.inputsCanonicalJSON()))
        #expect(body.model.id.value == "diabetes-v1")

        // The plan grant allows neither reading the records nor a diagnosis.
        for (attempt, route) in [(node.readRequest(records[0], of: patient, by: doctor), "read"),
                                 (node.serviceRequest(.diagnose, of: patient, by: doctor), "diagnose")] {
            do {
                _ = route == "read" ? try node.client.access(attempt) : try node.client.service(attempt)
                Issue.record("a plan grant allowed \(route)")
            } catch {
                #expect(problem(error)?.status == 403 && problem(error)?.members["reason"] == "actionNotGranted", "\(route): \(error)")
            }
        }
    }

    @Test func aDiagnoseGrantNeverReleasesRecordsNorAllowsAPlan() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        let records = try node.storeRecords(ClinicalPatients.heart(seed: 11, note: Self.marker), about: patient, by: patientKey)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose])

        // A read under it is committed as denied; so is a plan.
        do {
            _ = try node.client.access(node.readRequest(records[1], of: patient, by: doctor))
            Issue.record("a diagnose grant released a record")
        } catch {
            #expect(problem(error)?.status == 403 && problem(error)?.members["reason"] == "actionNotGranted")
            #expect(!"\(error)".contains(Self.marker))
        }
        do {
            _ = try node.client.service(node.serviceRequest(.plan, of: patient, by: doctor))
            Issue.record("a diagnose grant allowed a plan")
        } catch {
            #expect(problem(error)?.members["reason"] == "actionNotGranted")
        }

        // A diagnose request sent to /v1/access (or a read to /v1/diagnose) is refused before it is admitted.
        let misplaced = node.serviceRequest(.diagnose, of: patient, by: doctor)
        let http = try HTTPTestClient(node.runtime.url)
        let atAccess = try http.post("/v1/access", body: Array(#"{"transaction":"\#(Hex.encode(misplaced.canonicalBytes))"}"#.utf8))
        #expect(atAccess.status == 400 && String(decoding: atAccess.body, as: UTF8.self).contains("/v1/diagnose"))
        let read = node.readRequest(records[0], of: patient, by: doctor)
        let atDiagnose = try http.post("/v1/diagnose", body: Array(#"{"transaction":"\#(Hex.encode(read.canonicalBytes))"}"#.utf8))
        #expect(atDiagnose.status == 400 && String(decoding: atDiagnose.body, as: UTF8.self).contains("/v1/access"))
        let planAtDiagnose = node.serviceRequest(.plan, of: patient, by: doctor)
        #expect(try http.post("/v1/diagnose", body: Array(#"{"transaction":"\#(Hex.encode(planAtDiagnose.canonicalBytes))"}"#.utf8)).status == 400)
        for id in [misplaced.id, read.id, planAtDiagnose.id] {
            #expect(try node.runtime.service.status(of: id) == .unknown, "a misrouted request was admitted")
        }

        // The diagnosis itself is allowed.
        #expect(try node.client.service(node.serviceRequest(.diagnose, of: patient, by: doctor))["decision"] as? String == "allowed")
        let log = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect(log.map { "\($0["action"] ?? "?") \($0["decision"] ?? "?") \($0["result"] != nil)" }
            == ["read denied false", "plan denied false", "diagnose allowed true"])
    }

    @Test func withoutTheRightGrantEveryCallIsDeniedAndLogged() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        _ = try node.storeRecords(ClinicalPatients.heart(seed: 5), about: patient, by: patientKey)
        let resultsBefore = node.runtime.service.metrics.value("healthledger_service_calls_total", labels: #"action="diagnose",outcome="result""#)

        func expectDenied(_ reason: String, _ comment: String) {
            do {
                _ = try node.client.service(node.serviceRequest(.diagnose, of: patient, by: doctor))
                Issue.record("diagnose allowed \(comment)")
            } catch {
                let found = problem(error)
                #expect(found?.status == 403 && found?.code == "access-denied" && found?.members["reason"] == reason, "\(comment): \(error)")
                #expect(found?.members["resultTransaction"] == nil, "\(comment): a denied call has no result")
            }
        }
        expectDenied("noMatchingGrant", "with no grant")
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.read])
        expectDenied("actionNotGranted", "with only a read grant")
        let revoked = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose])
        #expect(try node.client.service(node.serviceRequest(.diagnose, of: patient, by: doctor))["decision"] as? String == "allowed")
        try node.commit(.revokeConsent(RevokeConsent(grant: revoked)), by: patientKey)
        expectDenied("actionNotGranted", "after revocation (the read grant comes first)")
        let expiring = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose],
                                      notAfterMs: SystemClock().nowMs() + 1_500)
        #expect(try node.client.service(node.serviceRequest(.diagnose, of: patient, by: doctor))["grant"] as? String == expiring.hex)
        Thread.sleep(forTimeInterval: 1.6)
        expectDenied("actionNotGranted", "after expiry")

        // Naming the grant shows the reason for that grant.
        for (grant, reason) in [(revoked, "grantRevoked"), (expiring, "grantExpired")] {
            let named = node.signer.transaction(.recordAccess(RecordAccess(custodian: node.organisation, patient: patient, action: .diagnose,
                                                                           selector: .all, grant: grant)), by: doctor)
            do {
                _ = try node.client.service(named)
                Issue.record("a \(reason) grant allowed a diagnosis")
            } catch { #expect(problem(error)?.members["reason"] == reason) }
        }

        let log = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect(log.map { $0["decision"] as? String ?? "?" } == ["denied", "denied", "allowed", "denied", "allowed", "denied", "denied", "denied"])
        #expect(log.map { $0["reason"] as? String ?? "-" } == ["noMatchingGrant", "actionNotGranted", "-", "actionNotGranted", "-",
                                                               "actionNotGranted", "grantRevoked", "grantExpired"])
        #expect(log.map { $0["result"] != nil } == [false, false, true, false, true, false, false, false], "results only for allowed calls")
        let results = node.runtime.service.metrics.value("healthledger_service_calls_total", labels: #"action="diagnose",outcome="result""#)
        #expect(results - resultsBefore == 2)
    }

    @Test func tooFewInputsGiveA422WithTheMissingListAndACommittedReceipt() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        let records = try node.storeRecords(ClinicalPatients.sparse(note: Self.marker), about: patient, by: patientKey)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.diagnose, .plan])

        let request = node.serviceRequest(.diagnose, of: patient, by: doctor)
        let refusal: (status: Int, code: String, members: [String: String])
        do {
            _ = try node.client.service(request)
            Issue.record("a diagnosis from a birth date, a sex and a blood pressure")
            return
        } catch {
            refusal = try #require(problem(error))
        }
        #expect(refusal.status == 422 && refusal.code == "insufficient-inputs")
        #expect(refusal.members["transaction"] == request.id.hex && refusal.members["decision"] == "allowed")
        let missing = try #require(try JSONSerialization.jsonObject(with: Data((refusal.members["missing"] ?? "").utf8)) as? [[String: Any]])
        #expect(missing.contains { $0["name"] as? String == "cp" && $0["reason"] as? String != nil && $0["detail"] as? String != nil })
        #expect(!missing.contains { $0["name"] as? String == "age" || $0["name"] as? String == "trestbps" }, "measured inputs are not missing")
        #expect(refusal.members["essential"] == #"["cp"]"#)
        #expect(refusal.members["measured"] == "3" && refusal.members["required"] == "9")

        // The refusal has its receipt: a committed ServiceResult over the refusal document.
        var receipt: [String: Any] = [:]
        for (name, value) in refusal.members { receipt[name] = Int(value) ?? value as Any }
        let (body, _, _) = try Self.committedResult(receipt, node)
        let content = try Self.content(receipt)
        #expect(body.outputHash == SHA256.hash(content) && body.access == request.id)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(content)) as? [String: Any])
        #expect(document["format"] as? String == "healthledger-service-refusal/1" && document["reason"] as? String == "insufficient-inputs")
        let access = try #require(try node.runtime.service.committedEntry(request.id))
        let snapshot = try DiagnosisService(model: try Self.model("heart")).extractor
            .extract(try Self.vaultRecords(records, node), asOfMs: Int64(access.blockTimeMs), patient: patient.text)
        let inputs = TaskFeatureMap.heart.inputs(from: snapshot).canonicalValue(format: DiagnosisResult.inputsFormat)
        #expect(body.inputHash == SHA256.hash(CanonicalJSON.encode(inputs)))
        let log = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect((log.last?["result"] as? [String: Any])?["outputHash"] as? String == body.outputHash.hex)

        // The care plan needs only the age: it runs on the same records, without the model's risk.
        let plan = try node.client.service(node.serviceRequest(.plan, of: patient, by: doctor))
        let planResult = try #require(plan["result"] as? [String: Any])
        #expect(planResult["risk"] is NSNull && planResult["risk_not_computed"] as? String != nil)
        #expect(!node.logLines.all.contains { $0.contains(Self.marker) })
    }

    @Test func aPlanWithoutABirthDateIsRefusedWithItsReceipt() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        _ = try node.storeRecords(ClinicalPatients.withoutBirthDate(), about: patient, by: patientKey)
        do {
            // Patients may run the services over their own records, like reading them.
            _ = try node.client.service(node.serviceRequest(.plan, of: patient, by: patientKey))
            Issue.record("a care plan without an age")
        } catch {
            let found = try #require(problem(error))
            #expect(found.status == 422 && found.code == "insufficient-inputs" && found.members["essential"] == #"["Age"]"#)
            #expect(found.members["resultTransaction"] != nil)
        }
        let exportPath = node.directory + "/export.hlx"
        _ = try node.client.export(to: exportPath)
        #expect(try ChainAudit.verify(exportAt: exportPath, genesis: node.runtime.service.genesis).valid)
    }

    /// What one call reads is bounded: past the record count the extractor refuses the batch, past the byte
    /// limit the node stops decrypting. Either way the call is refused with a committed receipt whose inputs are
    /// the record ids (`healthledger-service-records/1`).
    @Test func aCallOverTheReadLimitsIsRefusedWithItsReceipt() throws {
        for (limits, reason) in [(ExtractionLimits(maxRecords: 5, maxTotalBytes: 64 << 20, record: .record), "too-many-records"),
                                 (ExtractionLimits(maxRecords: 10_000, maxTotalBytes: 1_000, record: .record), "records-too-large")] {
            let node = try TestNode { $0.serviceLimits = limits }
            let patientKey = Ed25519.PrivateKey()
            let patient = identity(patientKey)
            let records = try node.storeRecords(ClinicalPatients.heart(seed: 2), about: patient, by: patientKey)
            let request = node.serviceRequest(.diagnose, of: patient, by: patientKey)
            do {
                _ = try node.client.service(request)
                Issue.record("\(reason): a result")
            } catch {
                let found = try #require(problem(error), "\(error)")
                #expect(found.status == 422 && found.code == "service-refused" && found.members["reason"] == reason)
                #expect(found.members["missing"] == "[]" && found.members["measured"] == nil)
                var receipt: [String: Any] = [:]
                for (name, value) in found.members { receipt[name] = Int(value) ?? value as Any }
                let (body, _, _) = try Self.committedResult(receipt, node)
                #expect(body.outputHash == SHA256.hash(try Self.content(receipt)))
                let access = try #require(try node.runtime.service.committedEntry(request.id))
                let inputs = #"{"as_of_ms":\#(access.blockTimeMs),"format":"healthledger-service-records/1","records":["#
                    + records.map { "\"\($0.hex)\"" }.sorted().joined(separator: ",") + "]}"
                #expect(body.inputHash == SHA256.hash(Array(inputs.utf8)))
            }
        }
    }

    @Test func aRequestForAnotherCustodianIsNotAdmitted() throws {
        let node = try TestNode()
        let doctor = Ed25519.PrivateKey()
        let request = node.serviceRequest(.diagnose, of: identity(Ed25519.PrivateKey()), by: doctor, custodian: OrganisationID("other-hospital")!)
        do {
            _ = try node.client.service(request)
            Issue.record("a request for another custodian was served")
        } catch {
            #expect(problem(error)?.status == 421 && problem(error)?.code == "not-custodian")
        }
        #expect(try node.runtime.service.status(of: request.id) == .unknown)
    }

    /// Many calls, a revocation between them, and the export of the whole history verifies offline.
    @Test func theExportOfAChainWithServiceResultsVerifies() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        try node.enrol(doctor)
        _ = try node.storeRecords(ClinicalPatients.heart(seed: 21) + ClinicalPatients.diabetes(seed: 21).dropFirst(), about: patient, by: doctor)
        let grant = try node.grant(from: patientKey, to: .organisation(node.organisation), actions: [.diagnose, .plan])
        for action in [AccessAction.diagnose, .plan, .diagnose] {
            #expect(try node.client.service(node.serviceRequest(action, of: patient, by: doctor))["decision"] as? String == "allowed")
        }
        try node.commit(.revokeConsent(RevokeConsent(grant: grant)), by: patientKey)
        #expect(throws: ClientError.self) { try node.client.service(node.serviceRequest(.plan, of: patient, by: doctor)) }
        let exportPath = node.directory + "/export.hlx"
        _ = try node.client.export(to: exportPath)
        let report = try ChainAudit.verify(exportAt: exportPath, genesis: node.runtime.service.genesis)
        #expect(report.valid && report.height == node.runtime.service.store.headHeight)
        let log = try #require(try node.client.accesses(of: patient)["accesses"] as? [[String: Any]])
        #expect(log.map { $0["result"] != nil } == [true, true, true, false])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
