import Foundation
import Node

/// `healthledger consensus status`: how a node's consensus stands and the equivocation evidence it keeps, for
/// an operator at a terminal or a monitoring script (exit code 1 when a validator is unlinked or evidence is
/// kept, with the output saying which).
enum ConsensusStatusCommand {
    static let command = Command(
        path: ["consensus", "status"],
        abstract: "Show a node's consensus: height, round, each validator's links and height, and any evidence.",
        options: [.node],
        discussion: """
            From GET /v1/consensus and GET /v1/consensus/evidence (docs/API.md). Exit code 0 when every other
            validator is linked both ways and no evidence is kept; 1 otherwise, after printing the status (a
            validator down, or one that signed two conflicting votes: docs/OPERATIONS.md section 9).
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let status = try Online.call(session.url) { () throws(ClientError) in try session.client.consensus() }
        let evidence = try Online.call(session.url) { () throws(ClientError) in try session.client.evidence() }
        let validators = status["validators"] as? [[String: Any]] ?? []
        let pieces = evidence["evidence"] as? [[String: Any]] ?? []
        let unlinked = validators.filter { $0["self"] as? Bool != true && !isLinked($0) }.map { $0["name"] as? String ?? "?" }
        var problems: [String] = []
        if !unlinked.isEmpty { problems.append("not linked to \(unlinked.joined(separator: ", "))") }
        if !pieces.isEmpty { problems.append("\(pieces.count) piece\(pieces.count == 1 ? "" : "s") of evidence kept") }
        let failure = problems.isEmpty ? nil
            : CLIError.failure("the node at \(session.url) is \(problems.joined(separator: " and "))",
                               "see docs/OPERATIONS.md section 9 (a validator down or unreachable; a validator that equivocated)")
        let json = Online.json(["consensus": status, "evidence": pieces])
        return CommandOutput(text: text(status, validators: validators, evidence: pieces), json: json, failure: failure)
    }

    private static func isLinked(_ validator: [String: Any]) -> Bool {
        validator["outboundLinked"] as? Bool == true && validator["inboundLinked"] as? Bool == true
    }

    private static func text(_ status: [String: Any], validators: [[String: Any]], evidence: [[String: Any]]) -> String {
        func field(_ object: [String: Any], _ name: String) -> String { object[name].map { "\($0)" } ?? "?" }
        var lines = [
            "mode \(field(status, "mode"))  height \(field(status, "height"))  round \(field(status, "round"))  "
                + "step \(field(status, "step"))  committed \(field(status, "committedHeight"))  "
                + "peers linked \(field(status, "peersLinked")) of \(max(0, validators.count - 1))",
        ]
        lines += validators.map { validator in
            let links = validator["self"] as? Bool == true ? "this node" : (isLinked(validator) ? "linked" : "NOT LINKED")
            let url = (validator["apiUrl"] as? String).map { "  \($0)" } ?? ""
            return "  \(field(validator, "name"))  \(field(validator, "organisation"))  \(links)  "
                + "committed \(field(validator, "committedHeight"))\(url)"
        }
        lines.append(evidence.isEmpty ? "no evidence" : "evidence (\(evidence.count)):")
        lines += evidence.map { piece in
            "  \(field(piece, "kind")) by \(field(piece, "validator")) at height \(field(piece, "height")) "
                + "round \(field(piece, "round")) (\(field(piece, "type")))"
        }
        return lines.joined(separator: "\n")
    }
}
