import Foundation
import Ledger
import Transport

/// The answers of `POST /v1/diagnose` and `POST /v1/plan` (docs/API.md): the receipt (the committed access
/// and `ServiceResult`, the model, the hashes) with the canonical output twice: as `content`, the base64 of the
/// exact bytes whose SHA-256 is the output hash, and parsed (`result`, or `refusal` in a 422 problem), spliced
/// in as the canonical text itself so that no number is re-formatted on the way.
enum ServiceJSON {
    /// 200 with the receipt and the result.
    static func result(_ answer: ServiceAnswer) -> HTTPResponse {
        .json(200, splice(LedgerJSON.encode(receipt(answer).merging(["result": placeholder]) { $1 }), answer.output))
    }

    /// 422 problem for a call the policy allowed but the service could not compute, sent once its receipt
    /// (the `ServiceResult` naming the refusal document) is committed.
    static func refusal(_ answer: ServiceAnswer, _ refusal: ServiceRefusal) -> HTTPResponse {
        let insufficient = refusal.reason == "insufficient-inputs"
        var object = receipt(answer)
        object["type"] = "about:blank"
        object["title"] = insufficient ? "Insufficient inputs" : "The service could not run on these records"
        object["status"] = 422
        object["detail"] = refusal.detail
        object["code"] = insufficient ? "insufficient-inputs" : "service-refused"
        object["reason"] = refusal.reason
        object["missing"] = refusal.missing.map { ["name": $0.name, "reason": $0.reason.code, "detail": $0.reason.description] }
        object["essential"] = refusal.essential
        object["measured"] = refusal.measured
        object["required"] = refusal.required
        object["refusal"] = placeholder
        var response = HTTPResponse.json(422, splice(LedgerJSON.encode(object), answer.output))
        response.headers = [(name: "content-type", value: "application/problem+json")]
        return response
    }

    static func receipt(_ answer: ServiceAnswer) -> [String: Any] {
        var object: [String: Any] = [
            "action": answer.action.name, "transaction": answer.access.hex, "height": answer.accessHeight, "position": answer.position,
            "decision": "allowed", "records": answer.records.map(\.hex), "asOf": LedgerJSON.time(answer.asOfMs), "asOfMs": answer.asOfMs,
            "resultTransaction": answer.result.hex, "resultHeight": answer.resultHeight, "model": LedgerJSON.model(answer.model),
            "inputHash": answer.inputHash.hex, "outputHash": answer.outputHash.hex, "content": Data(answer.output).base64EncodedString(),
        ]
        object["grant"] = answer.grant?.hex
        return object
    }

    /// Stands for the canonical output until it is spliced in. Every other member is written by this program
    /// (hex, base64, numbers, codes and its own texts) and none is this string, so it occurs once.
    static let placeholder = "@@healthledger-canonical-output@@"

    /// Replaces the quoted placeholder in `encoded` with `raw` (canonical JSON, itself valid JSON text).
    static func splice(_ encoded: [UInt8], _ raw: [UInt8]) -> [UInt8] {
        let quoted = Array("\"\(placeholder)\"".utf8)
        guard let start = (0...(encoded.count - quoted.count)).first(where: { encoded[$0..<$0 + quoted.count].elementsEqual(quoted) }) else {
            preconditionFailure("the placeholder is in the encoded answer")
        }
        return Array(encoded[..<start]) + raw + Array(encoded[(start + quoted.count)...])
    }
}
