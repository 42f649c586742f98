import Foundation
import Ledger
import Storage
import Synchronization
import Transport

/// The HTTP API (docs/API.md, docs/openapi.json): maps requests to `NodeService` calls and results to JSON.
/// Errors are RFC 9457 problem details whose texts name rules and ids, never record content or a request body.
final class Router: Sendable {
    let service: NodeService
    /// Multi-validator consensus, when this node runs it (nil: it certifies alone).
    let consensus: ConsensusEngine?
    /// The server this router answers for, once it exists: its connection counters go out with the metrics.
    let server = Mutex<HTTPServer?>(nil)
    /// How long a request may wait for its block when it asks to (`wait=true`).
    static let defaultWaitMs = 10_000
    static let maxWaitMs = 30_000

    /// Every route: method, path pattern (`{name}` matches one segment), handler. The OpenAPI document
    /// lists exactly these (checked by a test).
    static let routes: [(method: String, pattern: String)] = [
        ("GET", "/health"), ("GET", "/metrics"),
        ("GET", "/v1/chain/head"), ("GET", "/v1/chain/genesis"), ("GET", "/v1/chain/export"), ("GET", "/v1/blocks/{height}"),
        ("POST", "/v1/transactions"), ("POST", "/v1/transactions/batch"), ("GET", "/v1/transactions/{id}"),
        ("POST", "/v1/records"), ("GET", "/v1/records/{id}"), ("POST", "/v1/access"), ("POST", "/v1/diagnose"), ("POST", "/v1/plan"),
        ("GET", "/v1/patients/{patient}/consents"), ("GET", "/v1/patients/{patient}/accesses"),
        ("GET", "/v1/consensus"), ("GET", "/v1/consensus/evidence"),
    ]

    init(service: NodeService, consensus: ConsensusEngine? = nil) {
        self.service = service
        self.consensus = consensus
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let segments = Self.segments(of: request.path)
        if consensus != nil, Self.isBulk(request.method, segments) { ConsensusEngine.lowerThreadPriority() }
        let response = route(request, segments)
        service.metrics.increment("healthledger_http_requests_total", labels: "status=\"\(response.status / 100)xx\"")
        return response
    }

    /// Requests whose work is large and may wait when the processors are short: a batch of transactions,
    /// a diagnosis or plan (the model's inference), a chain export. Their connection's thread runs below the
    /// consensus threads from then on (`ConsensusEngine.lowerThreadPriority`; an unprivileged thread cannot
    /// raise it again). Every other request (one transaction, an access, a read) stays at the consensus
    /// threads' priority: a single transaction admitted at once reaches the next proposer in time for the
    /// next block (measured at half load: blocks built without it fell from 0.5 to 0.2, PERFORMANCE.md).
    static func isBulk(_ method: String, _ segments: [String]) -> Bool {
        switch (method, segments) {
        case ("POST", ["v1", "transactions", "batch"]), ("POST", ["v1", "diagnose"]), ("POST", ["v1", "plan"]),
             ("GET", ["v1", "chain", "export"]): true
        default: false
        }
    }

    /// A path's segments, empty ones (a doubled or trailing slash) left out: what routes are matched on.
    static func segments(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private func route(_ request: HTTPRequest, _ segments: [String]) -> HTTPResponse {
        // A literal segment beats a {parameter}, whatever the method (so /v1/transactions/batch is never a
        // transaction id: GET there is 405, not a look-up of the id "batch").
        let matching = Self.compiledRoutes.filter { $0.matches(segments) }
        let candidates = matching.filter { $0.literalCount == matching.first?.literalCount }
        guard !candidates.isEmpty else {
            return .problem(404, title: "Not found", detail: "no route \(request.path); see docs/API.md", extra: ["code": "not-found"])
        }
        guard let match = candidates.first(where: { $0.method == request.method }) else {
            let allowed = Set(candidates.map(\.method)).sorted().joined(separator: ", ")
            var response = HTTPResponse.problem(405, title: "Method not allowed", detail: "\(request.path) takes \(allowed)",
                                                extra: ["code": "method-not-allowed"])
            response.headers.append((name: "allow", value: allowed))
            return response
        }
        let parameters = match.parameters(segments)
        do {
            return try dispatch(match.pattern, request, parameters)
        } catch let problem as Problem {
            return withCustodianLocation(problem)
        } catch {
            service.log.error("http.internal", ["route": match.pattern, "error": String(describing: error)])
            return .problem(500, title: "Internal error", detail: "the node could not complete the request; see its log", extra: ["code": "internal"])
        }
    }

    private func dispatch(_ pattern: String, _ request: HTTPRequest, _ parameters: [String: String]) throws -> HTTPResponse {
        switch pattern {
        case "/health": return health()
        case "/metrics": return metrics()
        case "/v1/chain/head": return .json(200, LedgerJSON.encode(head()))
        case "/v1/chain/genesis": return .json(200, service.genesis.jsonBytes)
        case "/v1/chain/export": return export()
        case "/v1/blocks/{height}": return try block(parameters["height"]!, format: request.query["format"])
        case "/v1/transactions": return try submit(request)
        case "/v1/transactions/batch": return try submitBatch(request)
        case "/v1/transactions/{id}": return try transactionStatus(parameters["id"]!)
        case "/v1/records": return try storeRecord(request)
        case "/v1/records/{id}": return try recordInfo(parameters["id"]!)
        case "/v1/access": return try access(request)
        case "/v1/diagnose": return try clinicalService(.diagnose, request)
        case "/v1/plan": return try clinicalService(.plan, request)
        case "/v1/patients/{patient}/consents": return try consents(parameters["patient"]!)
        case "/v1/patients/{patient}/accesses": return try accesses(parameters["patient"]!, request.query)
        case "/v1/consensus": return consensusStatus()
        case "/v1/consensus/evidence": return consensusEvidence()
        default: preconditionFailure("route \(pattern) has no handler")
        }
    }

    // MARK: Chain

    private func head() -> [String: Any] {
        let store = service.store
        return ["chainId": service.genesis.chainID.value, "genesisHash": service.genesis.hash.hex, "height": store.headHeight,
                "hash": store.headHash.hex, "time": LedgerJSON.time(store.headTimeMs), "timeMs": store.headTimeMs,
                "organisation": service.organisation.value, "node": service.identity.text]
    }

    private func metrics() -> HTTPResponse {
        if let statistics = server.withLock({ $0?.statistics }) {
            let metrics = service.metrics
            metrics.set("healthledger_http_connections_open", Double(statistics.openConnections))
            metrics.set("healthledger_http_connections_rejected_total", Double(statistics.rejectedConnections))
            metrics.set("healthledger_http_connections_reclaimed_total", Double(statistics.reclaimedConnections))
            metrics.set("healthledger_http_protocol_errors_total", Double(statistics.protocolErrors))
        }
        return .text(200, service.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    private func health() -> HTTPResponse {
        var object = head()
        object["status"] = "ok"
        object["mempool"] = service.mempool.count
        return .json(200, LedgerJSON.encode(object))
    }

    private func export() -> HTTPResponse {
        let store = service.store
        let height = store.headHeight
        return HTTPResponse(status: 200, headers: [
            (name: "content-type", value: "application/octet-stream"),
            (name: "content-disposition", value: "attachment; filename=\"\(service.genesis.chainID.value)-\(height).hlx\""),
        ], body: .stream { writer in try store.streamExport(upTo: height) { try writer.write($0) } })
    }

    private func block(_ heightText: String, format: String?) throws -> HTTPResponse {
        guard [nil, "json", "binary"].contains(format) else { throw Problem.badRequest("format is json (the default) or binary") }
        guard let height = Self.wholeNumber(heightText).map(UInt64.init), height >= 1 else {
            throw Problem.badRequest("block height must be a whole number >= 1")
        }
        guard let stored = try service.store.storedBlock(at: height) else {
            throw Problem(404, "Not found", "no block at height \(height) (head is \(service.store.headHeight))", code: "no-such-block")
        }
        if format == "binary" { return HTTPResponse(status: 200, headers: [(name: "content-type", value: "application/octet-stream")], body: .bytes(stored.bytes)) }
        return .json(200, LedgerJSON.encode(LedgerJSON.block(try CommittedBlock(canonicalBytes: stored.bytes))))
    }

    // MARK: Transactions

    private func submit(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONBody(request, allowed: ["transaction"])
        let bytes = try body.hex("transaction")
        let waitMs = try Self.waitMs(request.query)
        let transaction: SignedTransaction
        do {
            transaction = try service.admit(encoded: bytes)
        } catch {
            throw Problem(admission: error)
        }
        guard waitMs > 0 else { return try statusResponse(transaction.id, .pending) }
        let early = request.earlyAnswer
        let status = try service.waitForCommit(transaction.id, timeoutMs: waitMs) { [service] committed in
            // Answered by the thread that appended the block: the client need not wait for this one to run.
            let response = Self.committedResponse(transaction.id, height: committed.height, position: committed.position,
                                                  entry: committed.entry)
            guard let early, early.send(response) else { return }
            service.metrics.increment("healthledger_commit_waits_answered_early_total")
        }
        if early?.hasAnswered == true { return .json(200, []) }  // not sent: the early answer was the answer
        return try statusResponse(transaction.id, status)
    }

    /// The largest batch accepted.
    static let maxBatchTransactions = 1_000

    /// Admits many signed transactions in one request, each on its own: the body is a sequence of records,
    /// u32 length then the canonical signed bytes (docs/API.md). Answers each in order with its id and
    /// `pending`, or why it was refused. When the mempool has no room for the whole batch, nothing is
    /// admitted and the answer is 503.
    private func submitBatch(_ request: HTTPRequest) throws -> HTTPResponse {
        let transactions = try Self.batchRecords(request.body)
        guard service.mempool.count + transactions.count <= service.mempool.capacity else {
            throw Problem(admission: .busy)
        }
        let results = service.admitBatch(encoded: transactions).map { result in
            switch result {
            case let .success(transaction):
                return "{\"id\":\"\(transaction.id.hex)\",\"status\":\"pending\"}"
            case let .failure(error):
                let problem = Problem(admission: error)
                return String(decoding: LedgerJSON.encode(["status": "refused", "code": problem.code, "detail": problem.detail]), as: UTF8.self)
            }
        }
        return .json(200, Array("{\"results\":[\(results.joined(separator: ","))]}".utf8))
    }

    static func batchRecords(_ body: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < body.count {
            guard body.count - offset >= 4 else { throw Problem.badRequest("the batch ends inside a length prefix") }
            let length = body[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length > 0, length <= Transaction.maxEncodedBytes, body.count - offset >= length else {
                throw Problem.badRequest("batch record \(records.count) has an impossible length \(length)")
            }
            records.append(Array(body[offset..<offset + length]))
            offset += length
            guard records.count <= maxBatchTransactions else {
                throw Problem.badRequest("a batch holds at most \(maxBatchTransactions) transactions")
            }
        }
        guard !records.isEmpty else { throw Problem.badRequest("the batch is empty") }
        return records
    }

    private func transactionStatus(_ idText: String) throws -> HTTPResponse {
        guard let id = TransactionID(hex: idText) else { throw Problem.badRequest("a transaction id is 64 hex characters") }
        let status = try service.status(of: id)
        if status == .unknown { throw Problem(404, "Not found", "no transaction \(id.hex) is known to this node", code: "no-such-transaction") }
        return try statusResponse(id, status)
    }

    private func statusResponse(_ id: TransactionID, _ status: TransactionStatus) throws -> HTTPResponse {
        switch status {
        case .pending, .unknown:
            // The hot answer at saturation: written directly rather than through JSONSerialization.
            return .json(202, Array("{\"id\":\"\(id.hex)\",\"status\":\"pending\"}".utf8))
        case let .refused(rejection):
            throw Problem(422, "Refused in block", "the transaction could not be committed: \(rejection)", code: "refused")
        case let .committed(height, position):
            let entry = try service.store.entry(height: height, position: position)?.entry
            return Self.committedResponse(id, height: height, position: position, entry: entry)
        }
    }

    /// The answer for a committed transaction: where it is, and its kind and outcome when its entry is known.
    private static func committedResponse(_ id: TransactionID, height: UInt64, position: Int, entry: BlockEntry?) -> HTTPResponse {
        var object: [String: Any] = ["id": id.hex, "status": "committed", "height": height, "position": position]
        if let entry {
            object["kind"] = entry.transaction.transaction.kind.description
            object["outcome"] = entry.outcome.map(LedgerJSON.outcome)
        }
        return .json(200, LedgerJSON.encode(object))
    }

    static func waitMs(_ query: [String: String]) throws -> Int {
        switch query["wait"] {
        case nil, "false", "0": return 0
        case "true": return defaultWaitMs
        case let text?:
            guard let ms = wholeNumber(text), ms <= maxWaitMs else {
                throw Problem.badRequest("wait is true, false, or milliseconds up to \(maxWaitMs)")
            }
            return ms
        }
    }

    // MARK: Records

    private func storeRecord(_ request: HTTPRequest) throws -> HTTPResponse {
        guard let submissionHex = request.header("healthledger-submission"), let submission = Hex.decode(submissionHex) else {
            throw Problem.badRequest("send the author's signed submission as hex in the HealthLedger-Submission header")
        }
        let waitMs = max(try Self.waitMs(request.query), 1_000)
        let stored: StoredRecord
        do {
            stored = try service.storeRecord(submission: submission, resource: request.body, waitMs: waitMs)
        } catch {
            throw Problem(gateway: error)
        }
        var object: [String: Any] = ["recordId": stored.receipt.record.hex, "type": stored.receipt.type.value,
                                     "patient": stored.receipt.patient.text, "commitment": stored.receipt.commitment.hex,
                                     "transaction": stored.transaction.hex]
        switch stored.status {
        case let .committed(height, _):
            object["status"] = "committed"
            object["height"] = height
            return .json(201, LedgerJSON.encode(object))
        case let .refused(rejection):
            throw Problem(422, "Refused in block", "the record could not be registered: \(rejection)", code: "refused")
        case .pending, .unknown:
            object["status"] = "pending"
            return .json(202, LedgerJSON.encode(object))
        }
    }

    private func recordInfo(_ idText: String) throws -> HTTPResponse {
        guard let id = RecordID(hex: idText) else { throw Problem.badRequest("a record id is 32 hex characters") }
        guard let record = try service.store.record(id) else {
            throw Problem(404, "Not found", "no record \(id.hex) is registered on this chain", code: "no-such-record")
        }
        return .json(200, LedgerJSON.encode(LedgerJSON.record(record)))
    }

    private func access(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONBody(request, allowed: ["transaction"])
        let bytes = try body.hex("transaction")
        let waitMs = max(try Self.waitMs(request.query), Self.defaultWaitMs)
        let release: AccessRelease
        do {
            release = try service.access(encoded: bytes, waitMs: waitMs)
        } catch {
            throw Problem(gateway: error)
        }
        var records: [[String: Any]] = []
        for record in release.records {
            guard let resource = try? JSONSerialization.jsonObject(with: Data(record.resource)) else {
                throw Problem(500, "Internal error", "a stored record is not JSON", code: "internal")
            }
            // `content` is the exact normalised bytes the commitment covers: SHA-256(salt || content).
            records.append(["id": record.id.hex, "type": record.type.value, "resource": resource, "salt": Hex.encode(record.salt),
                            "content": Data(record.resource).base64EncodedString()])
        }
        var object: [String: Any] = ["transaction": release.transaction.hex, "height": release.height, "position": release.position,
                                     "decision": "allowed", "records": records]
        object["grant"] = release.grant?.hex
        return .json(200, LedgerJSON.encode(object))
    }

    // MARK: Clinical services

    /// `POST /v1/diagnose` and `POST /v1/plan`: like `/v1/access`, but the answer is the service's output,
    /// released once its `ServiceResult` is committed; never the records.
    private func clinicalService(_ action: AccessAction, _ request: HTTPRequest) throws -> HTTPResponse {
        let body = try JSONBody(request, allowed: ["transaction"])
        let bytes = try body.hex("transaction")
        let waitMs = max(try Self.waitMs(request.query), Self.defaultWaitMs)
        let answer: ServiceAnswer
        do {
            answer = try service.serve(action, encoded: bytes, waitMs: waitMs)
        } catch {
            throw Problem(gateway: error)
        }
        if let refusal = answer.refusal { return ServiceJSON.refusal(answer, refusal) }
        return ServiceJSON.result(answer)
    }

    // MARK: Patients

    private func patient(_ text: String) throws -> Identity {
        guard let identity = Identity(text: text) else { throw Problem.badRequest("a patient is an identity: hlk1 and 58 more characters") }
        return identity
    }

    private func consents(_ patientText: String) throws -> HTTPResponse {
        let patient = try patient(patientText)
        let now = service.store.headTimeMs
        let grants = try service.store.grants(ofPatient: patient).map { LedgerJSON.grant($0, nowMs: now) }
        return .json(200, LedgerJSON.encode(["patient": patient.text, "asOfHeight": service.store.headHeight, "grants": grants]))
    }

    private func accesses(_ patientText: String, _ query: [String: String]) throws -> HTTPResponse {
        let patient = try patient(patientText)
        guard let limit = Self.wholeNumber(query["limit"] ?? "1000"), (1...10_000).contains(limit) else {
            throw Problem.badRequest("limit is a number from 1 to 10000")
        }
        var after: (height: UInt64, position: Int)?
        if let cursor = query["after"] {
            let parts = cursor.split(separator: ".")
            guard parts.count == 2, let height = Self.wholeNumber(String(parts[0])), let position = Self.wholeNumber(String(parts[1])),
                height < 1 << 40,
                (0..<(1 << 20)).contains(position)
            else {
                throw Problem.badRequest("after is HEIGHT.POSITION of the last entry of the previous page")
            }
            after = (UInt64(height), position)
        }
        let entries = try service.store.accessLog(patient: patient, after: after, limit: limit)
        var object: [String: Any] = ["patient": patient.text, "accesses": entries.map(LedgerJSON.access)]
        if entries.count == limit, let last = entries.last { object["next"] = "\(last.height).\(last.position)" }
        return .json(200, LedgerJSON.encode(object))
    }

    // MARK: Matching

    /// `text` as a whole number when it is nothing but ASCII digits (at most 18: no overflow), else nil.
    /// (`Int("+5")` and `Int("-0")` parse; API.md promises digits.)
    static func wholeNumber(_ text: String) -> Int? {
        let utf8 = text.utf8
        guard (1...18).contains(utf8.count), utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }

    /// `routes` with their patterns split once, the most literal segments first: every request is matched
    /// against them (splitting the patterns per request was a twentieth of a single submission's thread).
    private static let compiledRoutes: [CompiledRoute] = routes.map { CompiledRoute(method: $0.method, pattern: $0.pattern) }
        .sorted { $0.literalCount > $1.literalCount }

    private struct CompiledRoute: Sendable {
        let method: String
        let pattern: String
        /// One per segment: the literal text, or nil for a `{parameter}`.
        let literals: [String?]
        /// The parameters' names by segment index.
        let parameterNames: [(index: Int, name: String)]
        var literalCount: Int { literals.count - parameterNames.count }

        init(method: String, pattern: String) {
            self.method = method
            self.pattern = pattern
            let parts = pattern.split(separator: "/").map(String.init)
            literals = parts.map { $0.hasPrefix("{") ? nil : $0 }
            parameterNames = parts.enumerated().filter { $0.element.hasPrefix("{") }.map { ($0.offset, String($0.element.dropFirst().dropLast())) }
        }

        func matches(_ segments: [String]) -> Bool {
            literals.count == segments.count && zip(literals, segments).allSatisfy { $0 == nil || $0 == $1 }
        }

        func parameters(_ segments: [String]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: parameterNames.map { ($0.name, segments[$0.index]) })
        }
    }
}
