import Foundation
import Ledger
import Storage
import Transport

/// JSON views of ledger values for the API (docs/API.md). JSON is for people and scripts; nothing here is
/// hashed or signed (the canonical bytes are, and are offered as hex where a client needs them).
enum LedgerJSON {
    static func time(_ ms: UInt64) -> String { Timestamp.format(ms) }

    static func outcome(_ outcome: AccessOutcome) -> [String: Any] {
        switch outcome {
        case let .allowed(grant, records):
            var object: [String: Any] = ["decision": "allowed", "records": records.map(\.hex)]
            object["grant"] = grant?.hex
            return object
        case let .denied(reason):
            return ["decision": "denied", "reason": reasonCode(reason), "detail": reason.description]
        }
    }

    /// A stable machine-readable name for a denial reason.
    static func reasonCode(_ reason: DenialReason) -> String {
        switch reason {
        case .noMatchingGrant: return "noMatchingGrant"
        case .grantNotFound: return "grantNotFound"
        case .grantForOtherPatient: return "grantForOtherPatient"
        case .granteeMismatch: return "granteeMismatch"
        case .grantRevoked: return "grantRevoked"
        case .grantNotYetValid: return "grantNotYetValid"
        case .grantExpired: return "grantExpired"
        case .actionNotGranted: return "actionNotGranted"
        case .purposeNotGranted: return "purposeNotGranted"
        case .recordNotFound: return "recordNotFound"
        case .recordOfOtherPatient: return "recordOfOtherPatient"
        case .recordAtOtherCustodian: return "recordAtOtherCustodian"
        case .recordOutOfScope: return "recordOutOfScope"
        case .selectionTooLarge: return "selectionTooLarge"
        }
    }

    static func selector(_ selector: RecordSelector) -> [String: Any] {
        switch selector {
        case .all: return ["all": true]
        case let .types(types): return ["types": types.map(\.value)]
        case let .records(ids): return ["records": ids.map(\.hex)]
        }
    }

    static func grantee(_ grantee: Grantee) -> [String: Any] {
        switch grantee {
        case let .practitioner(identity): return ["practitioner": identity.text]
        case let .organisation(organisation): return ["organisation": organisation.value]
        }
    }

    static func body(_ body: TransactionBody) -> [String: Any] {
        switch body {
        case let .enrollPractitioner(enrol):
            return ["organisation": enrol.organisation.value, "practitioner": enrol.practitioner.text, "role": enrol.role.value]
        case let .registerRecord(record):
            return ["record": record.record.hex, "patient": record.patient.text, "custodian": record.custodian.value,
                    "type": record.type.value, "commitment": record.commitment.hex, "author": record.author.text]
        case let .grantConsent(grant):
            return grantTerms(grant)
        case let .revokeConsent(revoke):
            return ["grant": revoke.grant.hex]
        case let .recordAccess(access):
            var object: [String: Any] = ["custodian": access.custodian.value, "patient": access.patient.text, "action": access.action.name,
                                         "selector": selector(access.selector), "purpose": access.purpose.value]
            object["grant"] = access.grant?.hex
            return object
        case let .serviceResult(result):
            return ["access": result.access.hex, "model": model(result.model), "inputHash": result.inputHash.hex,
                    "outputHash": result.outputHash.hex]
        }
    }

    static func model(_ model: ModelReference) -> [String: Any] { ["id": model.id.value, "hash": model.hash.hex] }

    /// The service result that answers an access, as the access log shows it.
    static func serviceResult(_ result: ServiceResultEntry) -> [String: Any] {
        ["transaction": result.id.hex, "height": result.height, "model": model(result.model), "inputHash": result.inputHash.hex,
         "outputHash": result.outputHash.hex]
    }

    static func grantTerms(_ terms: GrantConsent) -> [String: Any] {
        var object: [String: Any] = ["grantee": grantee(terms.grantee), "actions": terms.actions.actions.map(\.name),
                                     "scope": selector(terms.scope), "purposes": terms.purposes.map(\.value)]
        object["notBefore"] = terms.notBeforeMs.map(time)
        object["notAfter"] = terms.notAfterMs.map(time)
        return object
    }

    static func entry(_ entry: BlockEntry) -> [String: Any] {
        let transaction = entry.transaction.transaction
        var object: [String: Any] = [
            "id": entry.transaction.id.hex, "kind": transaction.kind.description, "signer": transaction.signer.text,
            "createdAt": time(transaction.createdAtMs), "body": body(transaction.body),
        ]
        object["outcome"] = entry.outcome.map(outcome)
        return object
    }

    static func block(_ committed: CommittedBlock) -> [String: Any] {
        let header = committed.block.header
        return [
            "height": header.height, "hash": header.hash.hex, "time": time(header.timeMs), "timeMs": header.timeMs,
            "previousHash": header.previousHash.hex, "entriesRoot": header.entriesRoot.hex, "entryCount": header.entryCount,
            "proposer": header.proposer.text, "validatorSetHash": header.validatorSetHash.hex,
            "entries": committed.block.entries.map(entry),
            "certificate": [
                "round": committed.certificate.round,
                "signatures": committed.certificate.signatures.map { ["validatorIndex": $0.validatorIndex, "signature": Hex.encode($0.signature)] },
            ] as [String: Any],
        ]
    }

    /// A grant with its state at `nowMs` (active, revoked, expired, not yet valid).
    static func grant(_ grant: Grant, nowMs: UInt64) -> [String: Any] {
        var object = grantTerms(grant.terms)
        object["id"] = grant.id.hex
        object["patient"] = grant.patient.text
        object["grantedAtHeight"] = grant.grantedAtHeight
        object["revokedAtHeight"] = grant.revokedAtHeight
        let status: String
        if grant.revokedAtHeight != nil {
            status = "revoked"
        } else if let notAfter = grant.terms.notAfterMs, nowMs >= notAfter {
            status = "expired"
        } else if let notBefore = grant.terms.notBeforeMs, nowMs < notBefore {
            status = "notYetValid"
        } else {
            status = "active"
        }
        object["status"] = status
        return object
    }

    static func access(_ access: AccessLogEntry) -> [String: Any] {
        var object: [String: Any] = [
            "transaction": access.transactionID.hex, "height": access.height, "position": access.position, "time": time(access.blockTimeMs),
            "requester": access.requester.text, "custodian": access.request.custodian.value, "action": access.request.action.name,
            "purpose": access.request.purpose.value, "selector": selector(access.request.selector),
        ]
        object.merge(outcome(access.outcome)) { _, new in new }
        object["result"] = access.result.map(serviceResult)
        return object
    }

    static func record(_ record: RecordEntry) -> [String: Any] {
        ["id": record.id.hex, "patient": record.patient.text, "custodian": record.custodian.value, "type": record.type.value,
         "commitment": record.commitment.hex, "author": record.author.text, "height": record.registeredAtHeight]
    }

    /// The answer's JSON, keys sorted: written by `JSONWriter` (an answer per request is on the hot path), by
    /// `JSONSerialization` when the object holds what `JSONWriter` leaves out (parsed `NSNumber`s).
    static func encode(_ object: [String: Any]) -> [UInt8] {
        JSONWriter.bytes(object)
            ?? Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}
