import Foundation
import Testing
import Ledger
import Node
import Storage
import TestSupport
import Transport

/// A real node on a free loopback port, in a fresh data directory (the embedded default), and the keys of
/// the people in the stories: the hospital's admin (from the data directory), a patient, clinicians.
final class TestNode {
    let directory: String
    let dataDirectory: DataDirectory
    private(set) var runtime: NodeRuntime
    private(set) var client: NodeClient
    let signer: RequestSigner
    let adminKey: Ed25519.PrivateKey
    let organisation: OrganisationID
    let logLines = LogLines()

    private let configure: @Sendable (inout NodeConfiguration) -> Void

    /// `configure` adjusts the node's configuration (the data directory and port are set).
    init(configure: @escaping @Sendable (inout NodeConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-node-\(UUID().uuidString)").path
        dataDirectory = DataDirectory(path: directory)
        self.configure = configure
        _ = try dataDirectory.initialiseEmbeddedDefault(listenAddress: "127.0.0.1:0", nowMs: SystemClock().nowMs())
        runtime = try Self.start(dataDirectory, logLines: logLines, configure: configure)
        client = try NodeClient(url: runtime.url)
        signer = RequestSigner(chainID: runtime.service.genesis.chainID)
        adminKey = try KeyFile.load(from: dataDirectory.adminKeyFile, passphrase: nil)
        organisation = runtime.service.organisation
    }

    private static func start(_ dataDirectory: DataDirectory, logLines: LogLines,
                              configure: (inout NodeConfiguration) -> Void) throws -> NodeRuntime {
        var configuration = NodeConfiguration(dataDirectory: dataDirectory)
        configure(&configuration)
        configuration.listenPort = 0
        return try NodeRuntime.start(configuration, log: Log(clock: SystemClock()) { logLines.append($0) })
    }

    /// Stops and starts the node on the same data directory.
    func restart() throws {
        runtime.stop()
        runtime = try Self.start(dataDirectory, logLines: logLines, configure: configure)
        client = try NodeClient(url: runtime.url)
    }

    deinit {
        runtime.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Submits a transaction signed by `key` and waits for its block.
    @discardableResult
    func commit(_ body: TransactionBody, by key: Ed25519.PrivateKey) throws -> [String: Any] {
        try client.submit(signer.transaction(body, by: key))
    }

    func enrol(_ practitioner: Ed25519.PrivateKey) throws {
        try commit(.enrollPractitioner(EnrollPractitioner(organisation: organisation, practitioner: identity(practitioner),
                                                          role: PractitionerRole("physician")!)), by: adminKey)
    }

    /// Stores an Observation about `patient` written by `author`; returns its record id.
    func storeObservation(about patient: Identity, by author: Ed25519.PrivateKey, note: String = "resting blood pressure") throws -> RecordID {
        let resource = Array("""
            {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
             "valueQuantity":{"value":138,"unit":"mm[Hg]"},"note":[{"text":"\(note)"}]}
            """.utf8)
        let result = try client.storeRecord(resource: resource, submission: signer.submission(resource: resource, patient: patient,
                                                                                               custodian: organisation, by: author))
        return RecordID(hex: result["recordId"] as! String)!
    }

    /// Stores FHIR resources about `patient` written by `author`, in order; returns their record ids.
    func storeRecords(_ resources: [[UInt8]], about patient: Identity, by author: Ed25519.PrivateKey) throws -> [RecordID] {
        try resources.map { resource in
            let result = try client.storeRecord(resource: resource, submission: signer.submission(resource: resource, patient: patient,
                                                                                                   custodian: organisation, by: author))
            return try #require(RecordID(hex: result["recordId"] as? String ?? ""), "stored: \(result)")
        }
    }

    /// A signed `diagnose` or `plan` request for all of the patient's records at this node.
    func serviceRequest(_ action: AccessAction, of patient: Identity, by requester: Ed25519.PrivateKey,
                        custodian: OrganisationID? = nil) -> SignedTransaction {
        signer.transaction(.recordAccess(RecordAccess(custodian: custodian ?? organisation, patient: patient, action: action, selector: .all)),
                           by: requester)
    }

    /// Grants `actions` to `grantee`; returns the grant id.
    func grant(from patient: Ed25519.PrivateKey, to grantee: Grantee, actions: [AccessAction] = [.read],
               notAfterMs: UInt64? = nil) throws -> GrantID {
        let transaction = signer.transaction(.grantConsent(GrantConsent(grantee: grantee, actions: AccessActions(actions), notAfterMs: notAfterMs)),
                                             by: patient)
        _ = try client.submit(transaction)
        return transaction.id
    }

    func readRequest(_ record: RecordID, of patient: Identity, by requester: Ed25519.PrivateKey, chain: ChainID? = nil) -> SignedTransaction {
        let body = TransactionBody.recordAccess(RecordAccess(custodian: organisation, patient: patient, action: .read, selector: .records([record])))
        return RequestSigner(chainID: chain ?? signer.chainID).transaction(body, by: requester)
    }
}

func identity(_ key: Ed25519.PrivateKey) -> Identity { Identity(publicKey: key.publicKey) }

/// The status and members of the problem a client call threw; nil for any other error.
func problem(_ error: any Error) -> (status: Int, code: String, members: [String: String])? {
    guard case let .problem(status, code, _, _, members)? = error as? ClientError else { return nil }
    return (status, code, members)
}

/// Collected log lines, to check what the node logs.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    var all: [String] { lock.withLock { lines } }
}

/// Raw HTTP for requests no well-behaved client would send.
struct HTTPTestClient {
    let client: HTTPClient

    init(_ url: String) throws { client = try HTTPClient(baseURL: url, timeoutMs: 10_000) }

    func post(_ path: String, body: [UInt8]) throws -> HTTPClientResponse {
        try client.request("POST", path, headers: [(name: "content-type", value: "application/json")], body: body)
    }
}
