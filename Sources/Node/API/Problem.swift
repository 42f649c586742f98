import Foundation
import Ledger
import Transport

/// An RFC 9457 problem to answer with. `code` is a stable machine-readable name (docs/API.md).
struct Problem: Error {
    let status: Int
    let title: String
    let detail: String
    let code: String
    var extra: [String: String] = [:]

    init(_ status: Int, _ title: String, _ detail: String, code: String, extra: [String: String] = [:]) {
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.extra = extra
    }

    static func badRequest(_ detail: String) -> Problem { Problem(400, "Bad request", detail, code: "bad-request") }

    var response: HTTPResponse {
        var members = extra
        members["code"] = code
        var response = HTTPResponse.problem(status, title: title, detail: detail, extra: members)
        if status == 503 { response.headers.append((name: "retry-after", value: "1")) }
        return response
    }

    init(admission error: AdmissionError) {
        switch error {
        case .malformed: self.init(400, "Malformed transaction", error.description, code: "malformed")
        case .badSignature: self.init(400, "Bad signature", error.description, code: "bad-signature")
        case let .refused(rejection):
            switch rejection {
            case .alreadyCommitted, .duplicateInBlock: self.init(409, "Already committed", error.description, code: "replayed")
            case .wrongChain: self.init(400, "Wrong chain", error.description, code: "wrong-chain")
            default: self.init(422, "Refused", error.description, code: "refused")
            }
        case .alreadyPending: self.init(409, "Already pending", error.description, code: "duplicate")
        case .busy: self.init(503, "Busy", error.description, code: "busy")
        case .stateUnavailable: self.init(500, "Internal error", error.description, code: "internal")
        }
    }

    init(gateway error: GatewayError) {
        switch error {
        case let .admission(admission): self.init(admission: admission)
        case .malformed, .resourceHashMismatch, .unsupportedAction, .stale:
            self.init(400, "Bad request", error.description, code: "bad-request")
        case .badSignature: self.init(400, "Bad signature", error.description, code: "bad-signature")
        case .wrongChain: self.init(400, "Wrong chain", error.description, code: "wrong-chain")
        case let .notCustodian(custodian):
            self.init(421, "Not the custodian", error.description, code: "not-custodian", extra: ["custodian": custodian.value])
        case .replayed: self.init(409, "Request already used", error.description, code: "replayed")
        case .authorNotPermitted: self.init(403, "Not permitted", error.description, code: "author-not-permitted")
        case .invalidResource: self.init(422, "Invalid FHIR resource", error.description, code: "invalid-resource")
        case .notCommitted: self.init(504, "Not committed in time", error.description, code: "not-committed")
        case let .denied(reason, transaction, height):
            self.init(403, "Access denied", error.description, code: "access-denied",
                      extra: ["reason": LedgerJSON.reasonCode(reason), "transaction": transaction.hex, "height": String(height)])
        case .vault, .node: self.init(500, "Internal error", error.description, code: "internal")
        }
    }
}

/// A JSON request body: an object with only the allowed members.
struct JSONBody {
    let object: [String: Any]

    init(_ request: HTTPRequest, allowed: Set<String>) throws {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(request.body)), let object = parsed as? [String: Any] else {
            throw Problem.badRequest("the body must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem.badRequest("unknown member \"\(unknown)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        self.object = object
    }

    func hex(_ name: String) throws -> [UInt8] {
        guard let text = object[name] as? String, let bytes = Hex.decode(text) else {
            throw Problem.badRequest("\(name) must be the hex of the signed canonical bytes")
        }
        return bytes
    }
}
