import Foundation
import Ledger
import Node

/// `healthledger record put`: stores a FHIR resource at the node, as its author.
enum RecordPut {
    static let command = Command(
        path: ["record", "put"],
        abstract: "Store a FHIR R4 resource about a patient (as the patient, or an enrolled practitioner).",
        options: [
            .signingKey("The author's key: the patient's, or a practitioner's enrolled with the node's organisation."),
            .passphraseFile,
            .value("patient", "ID", required: true, help: "The patient's identity (hlk1...)."),
            .value("file", "RESOURCE.json", required: true, help: "The FHIR R4 resource (JSON), at most 1 MiB."),
            .node,
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let key = try Online.signingKey(invocation)
        let patient = try Online.identity(invocation.requiredValue("patient"), option: "patient")
        let resource = try InputFiles.load(invocation.requiredValue("file"), what: "resource file", maximumByteCount: 1 << 20)
        let submission = session.signer.submission(resource: resource, patient: patient, custodian: session.organisation, by: key)
        let answer = try Online.call(session.url) { () throws(ClientError) in
            try session.client.storeRecord(resource: resource, submission: submission)
        }
        let recordID = answer["recordId"] as? String ?? "?"
        return CommandOutput(text: "stored record \(recordID) (\(answer["type"] as? String ?? "?")) at \(session.organisation)",
                             json: Online.json(answer))
    }
}

/// `healthledger record get`: reads a record under a grant; the read is committed before anything is released.
enum RecordGet {
    static let command = Command(
        path: ["record", "get"],
        abstract: "Read a record (released only after the access is committed; exit 3 when denied).",
        options: [
            .signingKey("The requester's key."),
            .passphraseFile,
            .value("id", "RECORD", required: true, help: "The record id (32 hex characters)."),
            .value("purpose", "CODE", help: "HL7 PurposeOfUse code (default: TREAT)."),
            .value("grant", "GRANT", help: "The grant to rely on (default: the patient's first grant that allows it)."),
            .node,
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        var session = try Online.session(invocation)
        let key = try Online.signingKey(invocation)
        let idText = invocation.requiredValue("id")
        guard let id = RecordID(hex: idText) else { throw .badInput("--id '\(idText)' is not a record id", "give the 32 hex characters 'record put' printed") }
        let purpose = try ConsentOptions.purposes(invocation.value("purpose").map { [$0] } ?? [])[0]
        let grant = try invocation.value("grant").map { (text) throws(CLIError) -> GrantID in
            guard let grant = GrantID(hex: text) else { throw .badInput("--grant '\(text)' is not a grant id", "give the 64 hex characters 'consent grant' printed") }
            return grant
        }
        let metadata = try Online.call(session.url) { () throws(ClientError) in try session.client.record(id) }
        guard let patient = (metadata["patient"] as? String).flatMap(Identity.init(text:)),
            let custodian = (metadata["custodian"] as? String).flatMap(OrganisationID.init)
        else { throw .failure("the node's answer about record \(id) is incomplete", "check the node") }
        if custodian != session.organisation {
            // Only the custodian's node holds the record and enforces the gate: send the request there.
            session = try Online.custodianSession(custodian, from: session, about: "record \(id)", invocation: invocation)
        }
        let request = session.signer.transaction(.recordAccess(RecordAccess(
            custodian: custodian, patient: patient, action: .read, selector: .records([id]), purpose: purpose, grant: grant)), by: key)
        let answer = try Online.call(session.url) { () throws(ClientError) in try session.client.access(request) }
        guard let records = answer["records"] as? [[String: Any]], let record = records.first(where: { $0["id"] as? String == id.hex }),
            let resource = record["resource"]
        else {
            throw .failure("access to \(id) was allowed but the node released no content (the record may have been erased)", "ask the custodian")
        }
        return CommandOutput(text: Online.prettyText(resource), json: [
            "recordId": .string(id.hex), "resource": Online.json(resource), "salt": Online.json(record["salt"] ?? ""),
            "transaction": .string(request.id.hex), "height": Online.json(answer["height"] ?? 0), "grant": Online.json(answer["grant"] ?? ""),
        ])
    }
}
