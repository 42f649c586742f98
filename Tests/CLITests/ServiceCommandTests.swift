import Foundation
import Ledger
import Testing
import TestSupport

/// `healthledger diagnose` and `healthledger plan` through the real binary against a real node process: the
/// records stored with `record put`, the exit codes (0 result, 3 denied, 2 too few inputs), the text and the
/// `--json` output, the check of the released bytes against the ledger's hash, and `access log` naming results.
@Suite(.serialized) struct ServiceCommandTests {
    /// A node, a patient and an enrolled clinician, and the patient's records stored by the clinician.
    struct Story {
        let cli: CLIRunner
        let node: NodeProcess
        let patient: String
        let doctor: String

        init(records: [[UInt8]]) throws {
            cli = try CLIRunner()
            let data = cli.file("node-data")
            node = try NodeProcess(runner: cli, data: data)
            patient = try cli.run("key", "new", "--out", "patient.key", "--json").json()["id"] as! String
            doctor = try cli.run("key", "new", "--out", "doctor.key", "--json").json()["id"] as! String
            #expect(try cli.run("practitioner", "enroll", "--key", data + "/admin.key", "--practitioner", doctor, "--node", node.url).exitCode == 0)
            for (index, resource) in records.enumerated() {
                try Data(resource).write(to: URL(fileURLWithPath: cli.file("resource-\(index).json")))
                let put = try cli.run("record", "put", "--key", "doctor.key", "--patient", patient, "--file", "resource-\(index).json",
                                      "--node", node.url)
                #expect(put.exitCode == 0, "\(put.stderr)")
            }
        }

        func run(_ words: String...) throws -> CLIRunner.Result { try cli.run(words + ["--node", node.url]) }

        func grant(_ actions: String) throws -> String {
            let grant = try run("consent", "grant", "--key", "patient.key", "--to", doctor, "--actions", actions, "--json")
            return try #require(try grant.json()["grantId"] as? String, "\(grant.stderr)")
        }
    }

    @Test func aDiagnosisAndACarePlanUnderTheirGrants() throws {
        let story = try Story(records: ClinicalPatients.heart(seed: 4) + ClinicalPatients.diabetes(seed: 4).dropFirst())

        let none = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient)
        #expect(none.exitCode == 3 && none.stderr.contains("noMatchingGrant") && none.stdout.isEmpty, "\(none.stderr)")
        _ = try story.grant("read")
        let readOnly = try story.run("plan", "--key", "doctor.key", "--patient", story.patient, "--json")
        #expect(readOnly.exitCode == 3 && readOnly.stderr.contains("actionNotGranted"))
        #expect(try readOnly.jsonError().contains("access denied"))
        let grant = try story.grant("diagnose,plan")

        // --json: the receipt and the result verbatim; its bytes hash to the output hash the ledger holds.
        let diagnosis = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient, "--json")
        #expect(diagnosis.exitCode == 0, "\(diagnosis.stderr); node log: \(story.node.log.suffix(3_000))")
        let answer = try diagnosis.json()
        #expect(answer["grant"] as? String == grant && answer["action"] as? String == "diagnose")
        let content = try #require(Data(base64Encoded: answer["content"] as? String ?? ""))
        #expect(SHA256.hash(Array(content)).hex == answer["outputHash"] as? String)
        let result = try #require(answer["result"] as? [String: Any])
        #expect(result["format"] as? String == "healthledger-diagnosis/1" && result["probability"] is Double)
        #expect(diagnosis.stdout.contains(#""result":\#(String(decoding: content, as: UTF8.self))}"#), "the result is the canonical text itself")
        #expect((answer["model"] as? [String: String])?["id"] == "heart-v1")

        // Text: probability, band, contributions, disclaimer, and the ledger events.
        let text = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient)
        #expect(text.exitCode == 0 && text.stderr.isEmpty)
        for expected in ["Coronary heart disease risk: ", ", band ", "Largest contributions", "Decision support, not a diagnosis",
                         "model heart-v1 (sha256 ", "access ", "result "] {
            #expect(text.stdout.contains(expected), "missing \(expected) in: \(text.stdout)")
        }
        let plan = try story.run("plan", "--key", "doctor.key", "--patient", story.patient)
        #expect(plan.exitCode == 0, "\(plan.stderr); node log: \(story.node.log.suffix(3_000))")
        for expected in ["Type 2 diabetes care plan", "Model risk: ", "Decision path:", "glycaemic-status: ", "Items:", "rule ", "guideline ",
                         "model diabetes-v1 (sha256 "] {
            #expect(plan.stdout.contains(expected), "missing \(expected) in: \(plan.stdout)")
        }

        // The accounting of disclosures: every call, the results named on the allowed service calls.
        let log = try story.run("access", "log", "--patient", story.patient)
        let lines = log.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(log.stdout)")
        #expect(lines.filter { $0.contains("allowed") && $0.contains("result ") }.count == 3)
        #expect(lines.contains { $0.contains("allowed  diagnose") && $0.contains("(heart-v1, output hash \(answer["outputHash"] as! String))") })
        let logJSON = try story.run("access", "log", "--patient", story.patient, "--json").json()
        #expect((logJSON["accesses"] as? [[String: Any]])?.map { $0["result"] != nil } == [false, false, true, true, true])
        #expect(!story.node.log.contains("probability"), "a result in the node's log")
    }

    @Test func tooFewInputsExitWithCodeTwoAndTheMissingInputs() throws {
        let story = try Story(records: ClinicalPatients.sparse())
        _ = try story.grant("diagnose")
        let refused = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient)
        #expect(refused.exitCode == 2, "\(refused.stderr)")
        #expect(refused.stderr.hasPrefix("error: too few measured inputs") && refused.stderr.contains("cp"))
        #expect(refused.stdout.contains("Missing inputs:") && refused.stdout.contains("The refusal is on the ledger"))

        let json = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient, "--json")
        #expect(json.exitCode == 2)
        let message = try json.jsonError()
        #expect(message.contains("too few measured inputs"))
        let object = try json.json()
        #expect(object["code"] as? String == "insufficient-inputs")
        #expect((object["missing"] as? [[String: Any]])?.contains { $0["name"] as? String == "thal" } == true)
        let refusal = try #require(object["refusal"] as? [String: Any])
        #expect(refusal["format"] as? String == "healthledger-service-refusal/1")
        let content = try #require(Data(base64Encoded: object["content"] as? String ?? ""))
        #expect(SHA256.hash(Array(content)).hex == object["outputHash"] as? String)
        let log = try story.run("access", "log", "--patient", story.patient, "--json").json()
        #expect((log["accesses"] as? [[String: Any]])?.compactMap { ($0["result"] as? [String: Any])?["outputHash"] as? String }.count == 2)
    }

    /// `--until` and `consent revoke` end what a diagnose grant allows, from the block on; every call, allowed or
    /// denied, is in the access log, and the export of the whole history verifies offline.
    @Test func expiryAndRevocationEndADiagnoseGrant() throws {
        let story = try Story(records: ClinicalPatients.heart(seed: 9))
        let expiring = try story.run("consent", "grant", "--key", "patient.key", "--to", story.doctor, "--actions", "diagnose",
                                     "--until", "+3s", "--json")
        let expiringID = try #require(try expiring.json()["grantId"] as? String, "\(expiring.stderr)")
        #expect(try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient).exitCode == 0)
        Thread.sleep(forTimeInterval: 3.2)
        let expired = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient)
        #expect(expired.exitCode == 3 && expired.stderr.contains("grantExpired"), "\(expired.stderr)")

        let revoked = try story.grant("diagnose")
        #expect(try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient, "--grant", revoked).exitCode == 0)
        #expect(try story.run("consent", "revoke", "--key", "patient.key", "--grant", revoked).exitCode == 0)
        let afterRevocation = try story.run("diagnose", "--key", "doctor.key", "--patient", story.patient, "--grant", revoked)
        #expect(afterRevocation.exitCode == 3 && afterRevocation.stderr.contains("grantRevoked"), "\(afterRevocation.stderr)")

        let log = try story.run("access", "log", "--patient", story.patient, "--json").json()
        let accesses = try #require(log["accesses"] as? [[String: Any]])
        #expect(accesses.map { $0["decision"] as? String ?? "?" } == ["allowed", "denied", "allowed", "denied"])
        #expect(accesses.map { $0["result"] != nil } == [true, false, true, false])
        #expect(accesses.map { $0["reason"] as? String ?? "-" } == ["-", "grantExpired", "-", "grantRevoked"])
        #expect(accesses[0]["grant"] as? String == expiringID)
        #expect(try story.run("chain", "export", "--out", "chain.hlx").exitCode == 0)
        let audit = try story.cli.run("audit", "verify", "chain.hlx", "--genesis", story.cli.file("node-data") + "/genesis.json", "--json")
        #expect(audit.exitCode == 0, "\(audit.stderr)")
        #expect(try audit.json()["valid"] as? Bool == true)
    }

    @Test func badArgumentsAreUsageErrors() throws {
        let cli = try CLIRunner()
        let missing = try cli.run("diagnose", "--key", "doctor.key")
        #expect(missing.exitCode == 2 && missing.stderr.contains("--patient"))
        let patient = try cli.run("key", "new", "--out", "patient.key", "--json").json()["id"] as! String
        let badPatient = try cli.run("plan", "--key", "patient.key", "--patient", "hlk1x", "--node", "http://127.0.0.1:1")
        #expect(badPatient.exitCode == 2 && badPatient.stderr.contains("--patient"), "checked before the node is called")
        let badGrant = try cli.run("plan", "--key", "patient.key", "--patient", patient, "--grant", "zz", "--node", "http://127.0.0.1:1")
        #expect(badGrant.exitCode == 2 && badGrant.stderr.contains("--grant"))
        let noNode = try cli.run("plan", "--key", "patient.key", "--patient", patient, "--node", "http://127.0.0.1:1")
        #expect(noNode.exitCode == 1 && noNode.stderr.contains("cannot reach the node"))
        let help = try cli.run("diagnose", "--help")
        #expect(help.exitCode == 0 && help.stdout.contains("Exit codes: 0 with the result; 3 when no grant allows it"))
    }
}
