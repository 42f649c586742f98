import Foundation
import Ledger
import Node

/// Parsing of the consent options shared by `consent grant` and `record get`.
enum ConsentOptions {
    static func purposes(_ texts: [String]) throws(CLIError) -> [PurposeCode] {
        guard !texts.isEmpty else { return [.treatment] }
        var codes: [PurposeCode] = []
        for text in texts.flatMap({ $0.split(separator: ",").map(String.init) }) {
            guard let code = PurposeCode(text) else {
                throw .badInput("--purpose '\(text)' is not a purpose code", "use an HL7 PurposeOfUse code such as TREAT, ETREAT or HRESCH")
            }
            codes.append(code)
        }
        return codes
    }

    static func actions(_ text: String) throws(CLIError) -> AccessActions {
        var actions: [AccessAction] = []
        for name in text.split(separator: ",") {
            guard let action = AccessAction(name: String(name)) else {
                throw .badInput("--actions: '\(name)' is not an action", "use read, diagnose and plan, separated by commas")
            }
            actions.append(action)
        }
        guard !actions.isEmpty else { throw .badInput("--actions is empty", "use read, diagnose and plan, separated by commas") }
        return AccessActions(actions)
    }

    /// `all`, or `type:TYPE` and `record:ID` values (one kind only).
    static func scope(_ texts: [String]) throws(CLIError) -> RecordSelector {
        if texts.isEmpty || texts == ["all"] { return .all }
        var types: [RecordType] = []
        var records: [RecordID] = []
        for text in texts.flatMap({ $0.split(separator: ",").map(String.init) }) {
            if text.hasPrefix("type:"), let type = RecordType(String(text.dropFirst(5))) {
                types.append(type)
            } else if text.hasPrefix("record:"), let record = RecordID(hex: String(text.dropFirst(7))) {
                records.append(record)
            } else {
                throw .badInput("--scope '\(text)' is not all, type:TYPE or record:ID", "for example --scope type:Observation")
            }
        }
        guard types.isEmpty || records.isEmpty else {
            throw .badInput("--scope mixes types and records", "grant them separately")
        }
        let selector = types.isEmpty ? RecordSelector.records(canonicalising: records) : RecordSelector.types(canonicalising: types)
        guard let selector else { throw .badInput("--scope names too many types or records", "at most 32 types or 256 records") }
        return selector
    }

    /// A UTC time (2026-12-31T00:00:00Z) or a duration from now (+30d, +12h, +90m, +45s, +45s).
    static func time(_ text: String, option: String, nowMs: UInt64) throws(CLIError) -> UInt64 {
        if text.hasPrefix("+"), let amount = UInt64(text.dropFirst().dropLast()), let unit = text.last {
            let unitMs: UInt64? = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000][String(unit)]
            if let unitMs { return nowMs + amount * unitMs }
        }
        guard let ms = Timestamp.parse(text) else {
            throw .badInput("--\(option) '\(text)' is not a time", "give a UTC time like 2026-12-31T00:00:00Z, or +30d, +12h, +90m, +45s")
        }
        return ms
    }
}

/// `healthledger consent grant`: a patient grants access.
enum ConsentGrant {
    static let command = Command(
        path: ["consent", "grant"],
        abstract: "Grant a practitioner or an organisation access to your records.",
        options: [
            .signingKey("The patient's key."),
            .passphraseFile,
            .value("to", "ID", required: true, help: "A practitioner's identity (hlk1...), or org:ORGANISATION for its enrolled practitioners."),
            .value("actions", "LIST", required: true, help: "read, diagnose, plan (comma-separated)."),
            .repeated("scope", "SCOPE", help: "all (default), type:TYPE or record:ID; repeatable or comma-separated."),
            .repeated("purpose", "CODE", help: "Allowed HL7 PurposeOfUse codes (default: TREAT)."),
            .value("from", "TIME", help: "In force from this time (UTC time, or +30d, +12h, +90m, +45s)."),
            .value("until", "TIME", help: "In force until this time (UTC time, or +30d, +12h, +90m, +45s)."),
            .node,
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let key = try Online.signingKey(invocation)
        let to = invocation.requiredValue("to")
        let grantee: Grantee
        if to.hasPrefix("org:") {
            guard let organisation = OrganisationID(String(to.dropFirst(4))) else { throw .badInput("--to '\(to)' names no organisation", "write org:ID") }
            grantee = .organisation(organisation)
        } else {
            grantee = .practitioner(try Online.identity(to, option: "to"))
        }
        let now = SystemClock().nowMs()
        let notBefore = try invocation.value("from").map { (text) throws(CLIError) in try ConsentOptions.time(text, option: "from", nowMs: now) }
        let notAfter = try invocation.value("until").map { (text) throws(CLIError) in try ConsentOptions.time(text, option: "until", nowMs: now) }
        if let notBefore, let notAfter, notBefore >= notAfter { throw .badInput("--from is not before --until", "swap them") }
        let terms = GrantConsent(grantee: grantee, actions: try ConsentOptions.actions(invocation.requiredValue("actions")),
                                 scope: try ConsentOptions.scope(invocation.values("scope")),
                                 purposes: Array(Set(try ConsentOptions.purposes(invocation.values("purpose")))).sorted(),
                                 notBeforeMs: notBefore, notAfterMs: notAfter)
        let transaction = session.signer.transaction(.grantConsent(terms), by: key)
        let answer = try Online.call(session.url) { () throws(ClientError) in try session.client.submit(transaction) }
        let height = Online.height(of: answer)
        return CommandOutput(text: "granted \(terms.actions) to \(grantee) as grant \(transaction.id.hex) (block \(height))",
                             json: ["grantId": .string(transaction.id.hex), "height": .number(height)])
    }
}

/// `healthledger consent revoke`: the patient revokes a grant; it stops every access from its block on.
enum ConsentRevoke {
    static let command = Command(
        path: ["consent", "revoke"],
        abstract: "Revoke one of your grants (effective from the block that commits it).",
        options: [
            .signingKey("The patient's key (who made the grant)."),
            .passphraseFile,
            .value("grant", "GRANT", required: true, help: "The grant id 'consent grant' printed (64 hex characters)."),
            .node,
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let key = try Online.signingKey(invocation)
        let text = invocation.requiredValue("grant")
        guard let grant = GrantID(hex: text) else { throw .badInput("--grant '\(text)' is not a grant id", "give the 64 hex characters 'consent grant' printed") }
        let transaction = session.signer.transaction(.revokeConsent(RevokeConsent(grant: grant)), by: key)
        let answer = try Online.call(session.url) { () throws(ClientError) in try session.client.submit(transaction) }
        let height = Online.height(of: answer)
        return CommandOutput(text: "revoked grant \(grant.hex) from block \(height) on",
                             json: ["grantId": .string(grant.hex), "revoked": true, "height": .number(height)])
    }
}

/// `healthledger consent list`: a patient's grants and their state.
enum ConsentList {
    static let command = Command(
        path: ["consent", "list"],
        abstract: "List a patient's grants (active, expired, revoked).",
        options: [.value("patient", "ID", required: true, help: "The patient's identity (hlk1...)."), .node],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let patient = try Online.identity(invocation.requiredValue("patient"), option: "patient")
        let answer = try Online.call(session.url) { () throws(ClientError) in try session.client.consents(of: patient) }
        let grants = answer["grants"] as? [[String: Any]] ?? []
        let lines = grants.map { grant in
            let grantee = (grant["grantee"] as? [String: Any])?.values.first.map { "\($0)" } ?? "?"
            let actions = (grant["actions"] as? [String])?.joined(separator: ",") ?? "?"
            return "\(grant["id"] as? String ?? "?")  \(grant["status"] as? String ?? "?")  \(actions)  to \(grantee)"
        }
        return CommandOutput(text: grants.isEmpty ? "no grants" : lines.joined(separator: "\n"), json: Online.json(answer))
    }
}

/// `healthledger access log`: who accessed a patient's records, when, under which grant, allowed or denied.
enum AccessLog {
    static let command = Command(
        path: ["access", "log"],
        abstract: "Show every access to a patient's records, allowed and denied (accounting of disclosures).",
        options: [.value("patient", "ID", required: true, help: "The patient's identity (hlk1...)."), .node],
        discussion: """
            One line per access: block time, decision, action, requester, and the grant (allowed) or the reason
            (denied). An allowed diagnose or plan access also names its result event: the model and the hash of
            the result the node released (the result itself is never on the ledger).
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let patient = try Online.identity(invocation.requiredValue("patient"), option: "patient")
        var accesses: [[String: Any]] = []
        var cursor: String?
        repeat {
            let page = try Online.call(session.url) { () throws(ClientError) in try session.client.accesses(of: patient, after: cursor) }
            accesses += page["accesses"] as? [[String: Any]] ?? []
            cursor = page["next"] as? String
        } while cursor != nil
        let lines = accesses.map { access in
            let decision = access["decision"] as? String ?? "?"
            let detail = decision == "allowed" ? "grant \(access["grant"] as? String ?? "(own records)")" : "reason \(access["reason"] as? String ?? "?")"
            let line = "\(access["time"] as? String ?? "?")  \(decision)  \(access["action"] as? String ?? "?")  by \(access["requester"] as? String ?? "?")  \(detail)"
            guard let result = access["result"] as? [String: Any] else { return line }
            let model = (result["model"] as? [String: Any])?["id"] as? String ?? "?"
            return line + "  result \(result["transaction"] as? String ?? "?") (\(model), output hash \(result["outputHash"] as? String ?? "?"))"
        }
        return CommandOutput(text: accesses.isEmpty ? "no accesses" : lines.joined(separator: "\n"),
                             json: ["patient": .string(patient.text), "accesses": Online.json(accesses)])
    }
}

/// `healthledger chain export`: the whole chain as an export file, for `audit verify`.
enum ChainExport {
    static let command = Command(
        path: ["chain", "export"],
        abstract: "Export the chain with its certificates to a file (for 'audit verify').",
        options: [.value("out", "FILE", required: true, help: "Where to write the export (replaced when complete)."), .node],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let path = invocation.requiredValue("out")
        let bytes = try Online.call(session.url) { () throws(ClientError) in try session.client.export(to: path) }
        return CommandOutput(text: "exported \(bytes) bytes to \(path)", json: ["file": .string(path), "bytes": .number(bytes)])
    }
}
