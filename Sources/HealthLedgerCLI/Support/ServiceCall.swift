import Clinical
import Foundation
import Ledger
import Node

/// What `diagnose` and `plan` share: their options, the signed request (custodian: the node's organisation,
/// all the patient's records), the call, the check that the released bytes are the ones the ledger's
/// `ServiceResult` names, and the refusal when the records hold too few inputs.
enum ServiceCall {
    static func options(_ action: AccessAction) -> [Option] {
        [
            .signingKey("The requester's key (a practitioner with a '\(action.name)' grant, or the patient)."),
            .passphraseFile,
            .value("patient", "ID", required: true, help: "The patient's identity (hlk1...)."),
            .value("purpose", "CODE", help: "HL7 PurposeOfUse code (default: TREAT)."),
            .value("grant", "GRANT", help: "The grant to rely on (default: the patient's first grant that allows it)."),
            .node,
        ]
    }

    /// The exit codes in the commands' help.
    static let exitCodes = """
        Exit codes: 0 with the result; 3 when no grant allows it (the denied attempt is on the ledger); 2 when the
        patient's records hold too few measured inputs (the missing ones are listed; the refusal has its receipt on
        the ledger too); 4 when the released bytes do not match the hash the ledger holds.
        """

    /// A released service output whose bytes match the output hash on the ledger.
    struct Released {
        let answer: [String: Any]
        /// The canonical output bytes (`content`), checked against `outputHash`.
        let content: [UInt8]
        /// The same, parsed.
        let document: Clinical.JSONValue
    }

    /// What a call gave: the result, or the service's refusal.
    enum Outcome {
        case released(Released)
        case refused(CLIRefusal)
    }

    /// Signs the request, calls the node and checks what it released. Throws the CLI error for a denial
    /// (exit 3); returns the refusal (exit 2) when the service could not run.
    static func run(_ action: AccessAction, _ invocation: Invocation) throws(CLIError) -> Outcome {
        let patient = try Online.identity(invocation.requiredValue("patient"), option: "patient")
        let purpose = try ConsentOptions.purposes(invocation.value("purpose").map { [$0] } ?? [])[0]
        let grant = try invocation.value("grant").map { (text) throws(CLIError) -> GrantID in
            guard let grant = GrantID(hex: text) else { throw .badInput("--grant '\(text)' is not a grant id", "give the 64 hex characters 'consent grant' printed") }
            return grant
        }
        let key = try Online.signingKey(invocation)
        let session = try Online.session(invocation)
        let request = session.signer.transaction(.recordAccess(RecordAccess(
            custodian: session.organisation, patient: patient, action: action, selector: .all, purpose: purpose, grant: grant)), by: key)
        do {
            let answer = try session.client.service(request)
            return .released(try released(answer, session))
        } catch let error as ClientError {
            guard case let .problem(422, code, _, detail, members) = error, ["insufficient-inputs", "service-refused"].contains(code) else {
                throw Online.cliError(error, url: session.url)
            }
            return .refused(try CLIRefusal(code: code, detail: detail, members: members, session: session))
        } catch let error as CLIError {
            throw error
        } catch {
            throw .failure("\(error)", "check the node")
        }
    }

    /// Checks that `content` hashes to `outputHash`, that the committed `ServiceResult` the answer names holds
    /// that hash for this access, and parses it.
    static func released(_ answer: [String: Any], _ session: Online.Session) throws(CLIError) -> Released {
        guard let content = (answer["content"] as? String).flatMap({ Data(base64Encoded: $0) }).map(Array.init),
            let outputHash = answer["outputHash"] as? String
        else { throw .failure("the node's answer has no content or output hash", "check the node's version") }
        guard SHA256.hash(content).hex == outputHash else {
            throw CLIError(exitCode: .verificationFailed, problem: "the released result does not match its output hash \(outputHash)",
                           remedy: "do not use it; report it to the custodian's operator")
        }
        try checkCommitted(answer, outputHash: outputHash, session)
        do {
            return Released(answer: answer, content: content, document: try JSONParser.parse(content, limits: .record))
        } catch {
            throw .failure("the released result is not JSON: \(error)", "report it to the custodian's operator")
        }
    }

    /// The `ServiceResult` the answer names, read from its committed block, must answer this access with
    /// `outputHash`: the bytes shown are then the ones the ledger holds the hash of.
    static func checkCommitted(_ answer: [String: Any], outputHash: String, _ session: Online.Session) throws(CLIError) {
        guard let height = unsigned(answer["resultHeight"]), let id = answer["resultTransaction"] as? String else {
            throw .failure("the node's answer names no result event", "check the node's version")
        }
        let block = try Online.call(session.url) { () throws(ClientError) in try session.client.block(height) }
        let entry = (block["entries"] as? [[String: Any]])?.first { $0["id"] as? String == id }
        let body = entry?["body"] as? [String: Any]
        guard entry?["kind"] as? String == "ServiceResult", body?["access"] as? String == answer["transaction"] as? String,
            body?["outputHash"] as? String == outputHash
        else {
            throw CLIError(exitCode: .verificationFailed,
                           problem: "block \(height) holds no result event \(id) for this access with the released output's hash",
                           remedy: "do not use the result; report it to the custodian's operator")
        }
    }

    /// A whole number in a node answer (a JSON number, or its text in a problem member).
    static func unsigned(_ value: Any?) -> UInt64? {
        switch value {
        case let number as NSNumber: return number.uint64Value
        case let text as String: return UInt64(text)
        default: return nil
        }
    }

    /// The receipt members of an answer (the access and the result event), for `--json`.
    static func receipt(_ answer: [String: Any]) -> [JSONValue.Member] {
        ["action", "transaction", "height", "grant", "records", "asOf", "resultTransaction", "resultHeight", "model", "inputHash", "outputHash", "content"]
            .compactMap { name in answer[name].map { JSONValue.Member(name: name, value: Online.json($0)) } }
    }

    /// The last lines of the text output: which events on the ledger stand for this call.
    static func receiptText(_ answer: [String: Any]) -> String {
        let model = answer["model"] as? [String: Any] ?? [:]
        let grant = (answer["grant"] as? String).map { ", grant \($0)" } ?? ", the patient's own records"
        return """
            model \(model["id"] as? String ?? "?") (sha256 \(model["hash"] as? String ?? "?"))
            access \(answer["transaction"] as? String ?? "?") (block \(Online.json(answer["height"] ?? 0).encoded)\(grant))
            result \(answer["resultTransaction"] as? String ?? "?") (block \(Online.json(answer["resultHeight"] ?? 0).encoded)), \
            output hash \(answer["outputHash"] as? String ?? "?")
            """
    }

    /// The command's output for a refusal: the missing inputs, and exit code 2.
    static func output(_ refusal: CLIRefusal) -> CommandOutput {
        CommandOutput(text: refusal.text, json: refusal.json, failure: refusal.error)
    }
}

/// The service ran under an allowed access but could not compute a result (too few measured inputs, a
/// patient outside the model's population); the node committed the refusal's receipt.
struct CLIRefusal {
    let code: String
    let detail: String
    let missing: [(name: String, reason: String, detail: String)]
    /// The missing inputs the rule requires, and the measured and required counts (too few inputs only).
    let essential: [String]
    let measured: String?
    let required: String?
    let receipt: Released?
    typealias Released = ServiceCall.Released

    init(code: String, detail: String, members: [String: String], session: Online.Session) throws(CLIError) {
        self.code = code
        self.detail = detail
        essential = (try? JSONSerialization.jsonObject(with: Data((members["essential"] ?? "[]").utf8))) as? [String] ?? []
        (measured, required) = (members["measured"], members["required"])
        let list = (try? JSONSerialization.jsonObject(with: Data((members["missing"] ?? "[]").utf8))) as? [[String: Any]] ?? []
        missing = list.map { ($0["name"] as? String ?? "?", $0["reason"] as? String ?? "?", $0["detail"] as? String ?? "") }
        var answer: [String: Any] = [:]
        for (name, value) in members { answer[name] = value }
        for name in ["height", "resultHeight", "asOfMs", "position"] { answer[name] = members[name].flatMap { UInt64($0) }.map { NSNumber(value: $0) } }
        answer["model"] = (try? JSONSerialization.jsonObject(with: Data((members["model"] ?? "{}").utf8))) as? [String: Any]
        answer["records"] = (try? JSONSerialization.jsonObject(with: Data((members["records"] ?? "[]").utf8))) as? [String]
        receipt = members["content"] == nil ? nil : try ServiceCall.released(answer, session)
    }

    var error: CLIError {
        let names = missing.map(\.name).joined(separator: ", ")
        return code == "insufficient-inputs"
            ? .badInput("too few measured inputs in the patient's records (missing: \(names))",
                        "record the missing measurements (see docs/CLINICAL-FEATURES.md for their codes and units), then ask again")
            : .badInput("the service cannot run on the patient's records: \(detail)", "see docs/CLINICAL-FEATURES.md")
    }

    var text: String {
        var lines: [String] = []
        if let measured, let required {
            let essentials = essential.isEmpty ? "" : "; missing and essential: \(essential.joined(separator: ", "))"
            lines.append("No result: too few measured inputs (\(measured) measured, at least \(required) needed\(essentials))")
            lines.append("Missing inputs:")
            lines.append(TextTable.render(missing.map { [$0.name, $0.detail] }))
        } else {
            lines.append("No result: \(detail)")
        }
        if let receipt { lines.append("The refusal is on the ledger:\n" + ServiceCall.receiptText(receipt.answer)) }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        var members: [JSONValue.Member] = [
            .init(name: "error", value: .string(error.message)), .init(name: "exitCode", value: .number(UInt64(error.exitCode.rawValue))),
            .init(name: "code", value: .string(code)), .init(name: "detail", value: .string(detail)),
            .init(name: "missing", value: .array(missing.map { ["name": .string($0.name), "reason": .string($0.reason), "detail": .string($0.detail)] })),
            .init(name: "essential", value: .array(essential.map { .string($0) })),
        ]
        if let receipt {
            members += ServiceCall.receipt(receipt.answer)
            members.append(.init(name: "refusal", value: .verbatim(String(decoding: receipt.content, as: UTF8.self))))
        }
        return .object(members)
    }
}
