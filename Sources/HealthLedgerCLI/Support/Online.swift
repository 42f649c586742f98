import Foundation
import Ledger
import Node
import Transport

extension Option {
    /// `--node URL` on every command that talks to a node.
    static let node = Option.value("node", "URL", help: "The node's API address (default: $HEALTHLEDGER_NODE, else \(Online.defaultNodeURL)).")

    /// `--key FILE`: the key that signs the request.
    static func signingKey(_ help: String) -> Option { .value("key", "FILE", required: true, help: help) }
}

/// What the online commands share: reaching the node, loading the signing key, signing requests for the
/// node's chain, and turning the node's answers into exit codes.
enum Online {
    static let defaultNodeURL = "http://127.0.0.1:7700"

    /// A connection to the node, the chain's request signer, and the node's organisation.
    struct Session {
        let client: NodeClient
        let signer: RequestSigner
        let organisation: OrganisationID
        let url: String
    }

    static func session(_ invocation: Invocation) throws(CLIError) -> Session {
        let url = invocation.value(Option.node.name) ?? ProcessInfo.processInfo.environment["HEALTHLEDGER_NODE"] ?? defaultNodeURL
        let client: NodeClient
        do {
            client = try NodeClient(url: url)
        } catch {
            throw .badInput("\(error)", "give --node as http://HOST:PORT")
        }
        let head = try call(url) { () throws(ClientError) in try client.head() }
        guard let chain = (head["chainId"] as? String).flatMap(ChainID.init), let organisation = (head["organisation"] as? String).flatMap(OrganisationID.init)
        else { throw .failure("the node at \(url) did not say which chain it serves", "check that --node names a HealthLedger node") }
        return Session(client: client, signer: RequestSigner(chainID: chain), organisation: organisation, url: url)
    }

    /// A session with `custodian`'s node, found through the node of `session`, which knows every validator's
    /// API URL from its peers (`GET /v1/consensus`). Says on stderr where the request goes; when the URL is
    /// unknown, fails naming the organisation and its validators, so the user knows which `--node` to give.
    static func custodianSession(_ custodian: OrganisationID, from session: Session, about subject: String,
                                 invocation: Invocation) throws(CLIError) -> Session {
        let known = try? session.client.nodeURL(of: custodian)
        guard let url = known ?? nil else {
            throw .badInput("\(subject) is held by \(custodian), not by the node at \(session.url), which does not know \(custodian)'s node URL",
                            "give --node the URL of \(custodian)'s node ('healthledger genesis show' lists its validators)")
        }
        invocation.console.writeError("note: \(subject) is held by \(custodian); sending the request to its node at \(url)\n")
        let client: NodeClient
        do {
            client = try NodeClient(url: url)
        } catch {
            throw .failure("\(custodian)'s node URL \(url) is not usable: \(error)", "give --node the URL of \(custodian)'s node")
        }
        let head = try call(url) { () throws(ClientError) in try client.head() }
        guard head["chainId"] as? String == session.signer.chainID.value, head["organisation"] as? String == custodian.value else {
            throw .failure("the node at \(url) is not \(custodian)'s node on chain \(session.signer.chainID)",
                           "give --node the URL of \(custodian)'s node")
        }
        return Session(client: client, signer: session.signer, organisation: custodian, url: url)
    }

    /// Loads the `--key` file (with `--passphrase-file` when given).
    static func signingKey(_ invocation: Invocation) throws(CLIError) -> Ed25519.PrivateKey {
        let path = invocation.requiredValue("key")
        var passphrase = try invocation.passphrase()
        defer { passphrase?.zeroize() }
        do {
            return try KeyFile.load(from: path, passphrase: passphrase)
        } catch {
            throw .keyFile(error, path: path)
        }
    }

    /// An identity given on the command line.
    static func identity(_ text: String, option: String) throws(CLIError) -> Identity {
        guard let identity = Identity(text: text) else {
            throw .badInput("--\(option): '\(text)' is not an identity (hlk1 and 58 more characters)", "copy it from 'healthledger key show'")
        }
        return identity
    }

    /// Runs a node call, turning its errors into exit codes: 3 for an access denial, 2 for a request the
    /// node found invalid, 1 when the node cannot be reached or fails.
    static func call<T>(_ url: String, _ body: () throws(ClientError) -> T) throws(CLIError) -> T {
        do {
            return try body()
        } catch {
            throw cliError(error, url: url)
        }
    }

    static func cliError(_ error: ClientError, url: String) -> CLIError {
        switch error {
        case .transport(.cannotConnect):
            return .failure("cannot reach the node at \(url)", "start it with 'healthledger node', or give --node")
        case let .problem(status, code, _, detail, members):
            if code == "access-denied" {
                // The node's detail reads "access denied: <why>"; the reason code is for scripts.
                let reason = members["reason"].map { " [\($0)]" } ?? ""
                return CLIError(exitCode: .accessDenied, problem: "\(detail)\(reason)",
                                remedy: "ask the patient for a grant that covers this request ('healthledger consent grant')")
            }
            if (400..<500).contains(status) {
                return .badInput("the node refused the request: \(detail)", "check the arguments; see 'healthledger --help'")
            }
            return .failure("the node failed: \(detail)", "check the node's log")
        default:
            return .failure("\(error)", "check that the node is running and reachable")
        }
    }

    /// The block height a node answer names (0 when it names none).
    static func height(of answer: [String: Any]) -> UInt64 { (answer["height"] as? NSNumber)?.uint64Value ?? 0 }

    /// A node answer (Foundation JSON) as an ordered JSON value (members sorted by name).
    static func json(_ value: Any) -> JSONValue {
        switch value {
        case let text as String: return .string(text)
        case let number as NSNumber where String(cString: number.objCType) == "c": return .bool(number.boolValue)
        case let number as NSNumber: return .number(number.uint64Value)
        case let items as [Any]: return .array(items.map(json))
        case let object as [String: Any]:
            return .object(object.keys.sorted().map { JSONValue.Member(name: $0, value: json(object[$0]!)) })
        default: return .string("\(value)")
        }
    }

    /// Pretty-printed JSON text of a node answer, for the text output.
    static func prettyText(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return "\(value)"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
