import Foundation
import Ledger
import Transport

/// An error answer from a node, or a failure to reach it. Safe to print.
public enum ClientError: Error, CustomStringConvertible {
    case transport(TransportError)
    /// The node answered with an RFC 9457 problem; `members` holds its other members, strings as they are and
    /// other values as JSON text.
    case problem(status: Int, code: String, title: String, detail: String, members: [String: String])
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case let .transport(error): return error.description
        case let .problem(status, _, title, detail, _): return "\(title) (HTTP \(status)): \(detail)"
        case let .unexpectedResponse(detail): return "unexpected answer from the node: \(detail)"
        }
    }

    /// The problem's stable code (`access-denied`, `replayed`, ...), if the node answered with one.
    public var code: String? {
        if case let .problem(_, code, _, _, _) = self { return code }
        return nil
    }
}

/// A client of one node's HTTP API (docs/API.md), used by the `healthledger` command. It signs nothing
/// itself: callers pass signed transactions and submissions (see `RequestSigner`).
public final class NodeClient: @unchecked Sendable {
    private let http: HTTPClient

    public init(url: String, timeoutMs: Int = 60_000) throws(ClientError) {
        do {
            http = try HTTPClient(baseURL: url, timeoutMs: timeoutMs)
        } catch {
            throw .transport(error)
        }
    }

    /// The chain head and this node's identity: `chainId`, `height`, `hash`, `organisation`, `node`, ...
    public func head() throws(ClientError) -> [String: Any] { try json("GET", "/v1/chain/head") }

    public func genesis() throws(ClientError) -> Genesis {
        let response = try send("GET", "/v1/chain/genesis")
        do {
            return try Genesis(jsonBytes: response.body)
        } catch {
            throw .unexpectedResponse("the node's genesis does not parse: \(error)")
        }
    }

    /// Submits a signed transaction; with `wait`, returns once it is committed (or the node stops waiting).
    public func submit(_ transaction: SignedTransaction, wait: Bool = true) throws(ClientError) -> [String: Any] {
        try json("POST", "/v1/transactions" + (wait ? "?wait=true" : ""),
                 body: LedgerJSONBody.encode(["transaction": Hex.encode(transaction.canonicalBytes)]))
    }

    /// Submits up to 1,000 signed transactions in one request, without waiting; returns one answer per
    /// transaction, in order (`{"id","status":"pending"}` or `{"status":"refused","code","detail"}`).
    public func submitBatch(_ transactions: [SignedTransaction]) throws(ClientError) -> [[String: Any]] {
        var body: [UInt8] = []
        for transaction in transactions {
            let bytes = transaction.canonicalBytes
            body += withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
        }
        let answer = try json("POST", "/v1/transactions/batch", headers: [(name: "content-type", value: "application/octet-stream")], body: body)
        return answer["results"] as? [[String: Any]] ?? []
    }

    /// Stores a FHIR resource at the node, with its author's signed submission.
    public func storeRecord(resource: [UInt8], submission: SignedRecordSubmission) throws(ClientError) -> [String: Any] {
        try json("POST", "/v1/records?wait=true", headers: [
            (name: "content-type", value: "application/fhir+json"),
            (name: "healthledger-submission", value: Hex.encode(submission.canonicalBytes)),
        ], body: resource)
    }

    /// Sends a signed `RecordAccess` read request; returns the released records, or throws the denial.
    public func access(_ transaction: SignedTransaction) throws(ClientError) -> [String: Any] {
        try json("POST", "/v1/access", body: LedgerJSONBody.encode(["transaction": Hex.encode(transaction.canonicalBytes)]))
    }

    /// Sends a signed `RecordAccess` with action `diagnose` or `plan` to `POST /v1/diagnose` or `/v1/plan`;
    /// returns the receipt with the result, or throws the denial or the service's refusal (`insufficient-inputs`,
    /// `service-refused`: a 422 problem whose members include the committed receipt).
    public func service(_ transaction: SignedTransaction) throws(ClientError) -> [String: Any] {
        guard case let .recordAccess(request) = transaction.transaction.body, request.action != .read else {
            preconditionFailure("service(_:) takes a diagnose or plan RecordAccess")
        }
        return try json("POST", "/v1/\(request.action.name)",
                        body: LedgerJSONBody.encode(["transaction": Hex.encode(transaction.canonicalBytes)]))
    }

    /// The committed block at `height`, as JSON (docs/API.md, GET /v1/blocks/{height}).
    public func block(_ height: UInt64) throws(ClientError) -> [String: Any] { try json("GET", "/v1/blocks/\(height)") }

    /// A record's registration on chain (patient, custodian, type, commitment): public metadata, no content.
    public func record(_ id: RecordID) throws(ClientError) -> [String: Any] { try json("GET", "/v1/records/\(id.hex)") }

    public func consents(of patient: Identity) throws(ClientError) -> [String: Any] {
        try json("GET", "/v1/patients/\(patient.text)/consents")
    }

    public func accesses(of patient: Identity, after cursor: String? = nil) throws(ClientError) -> [String: Any] {
        try json("GET", "/v1/patients/\(patient.text)/accesses" + (cursor.map { "?after=\($0)" } ?? ""))
    }

    /// Streams the chain export into `path` (written to `path.partial`, renamed when complete). Returns its size.
    public func export(to path: String) throws(ClientError) -> UInt64 {
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw .unexpectedResponse("cannot create \(partial)")
        }
        var written: UInt64 = 0
        do {
            let response = try http.stream("GET", "/v1/chain/export") { chunk in
                try handle.write(contentsOf: chunk)
                written += UInt64(chunk.count)
            }
            try handle.synchronize()
            try handle.close()
            guard response.status == 200 else { throw ClientError.unexpectedResponse("export answered HTTP \(response.status)") }
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
            if let error = error as? TransportError { throw .transport(error) }
            if let error = error as? ClientError { throw error }
            throw .unexpectedResponse("cannot write \(path): \(error.localizedDescription)")
        }
        return written
    }

    // MARK: Plumbing

    private func send(_ method: String, _ path: String, headers: [(name: String, value: String)] = [],
                      body: [UInt8] = []) throws(ClientError) -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try http.request(method, path, headers: headers, body: body)
        } catch {
            throw .transport(error)
        }
        guard (200..<300).contains(response.status) else { throw Self.problem(response) }
        return response
    }

    func json(_ method: String, _ path: String, headers: [(name: String, value: String)] = [],
                      body: [UInt8] = []) throws(ClientError) -> [String: Any] {
        let response = try send(method, path, headers: headers, body: body)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
            throw .unexpectedResponse("\(path) did not answer with a JSON object")
        }
        return object
    }

    private static func problem(_ response: HTTPClientResponse) -> ClientError {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        var members: [String: String] = [:]
        for (key, value) in object where !["type", "title", "status", "detail", "code"].contains(key) {
            members[key] = value as? String ?? jsonText(value)
        }
        return .problem(status: response.status, code: object["code"] as? String ?? "http-\(response.status)",
                        title: object["title"] as? String ?? "HTTP \(response.status)",
                        detail: object["detail"] as? String ?? "no detail", members: members)
    }
}

/// A member of a problem that is not a string (a number, a list, an object), as JSON text.
private func jsonText(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) else {
        return "\(value)"
    }
    return String(decoding: data, as: UTF8.self)
}

enum LedgerJSONBody {
    static func encode(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}

/// Makes signed requests for a chain: fresh random nonces and the current time, at the edge where both belong.
public struct RequestSigner: Sendable {
    public let chainID: ChainID
    public let clock: any Clock

    public init(chainID: ChainID, clock: any Clock = SystemClock()) {
        self.chainID = chainID
        self.clock = clock
    }

    public func transaction(_ body: TransactionBody, by key: Ed25519.PrivateKey) -> SignedTransaction {
        Transaction(chainID: chainID, signer: Identity(publicKey: key.publicKey), nonce: SecureRandom.bytes(count: Transaction.nonceByteCount),
                    createdAtMs: clock.nowMs(), body: body).signed(with: key)
    }

    public func submission(resource: [UInt8], patient: Identity, custodian: OrganisationID, by key: Ed25519.PrivateKey) -> SignedRecordSubmission {
        RecordSubmission(chainID: chainID, author: Identity(publicKey: key.publicKey), patient: patient, custodian: custodian,
                         resourceHash: SHA256.hash(resource), nonce: SecureRandom.bytes(count: Transaction.nonceByteCount),
                         createdAtMs: clock.nowMs()).signed(with: key)
    }
}
