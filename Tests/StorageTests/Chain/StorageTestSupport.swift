import Foundation
import Ledger
import Storage
import TestSupport

/// A fresh temporary directory per test, removed when released.
final class ScratchDirectory {
    let url: URL
    var path: String { url.path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The names of the files in the directory, sorted.
    func fileNames() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// True when any file in the directory (database, -wal, -shm, ...) but `excluded` contains `needle`,
    /// read as raw bytes.
    func anyFileContains(_ needle: [UInt8], excluding excluded: String? = nil) throws -> Bool {
        try fileNames().filter { $0 != excluded }.contains { name in
            [UInt8](try Data(contentsOf: url.appendingPathComponent(name))).contains(needle)
        }
    }
}

/// A generated chain: enrolments, then `blocks` blocks of `eventsPerBlock` events; `servicePercent` of the
/// accesses ask for diagnose or plan, and the allowed ones are answered by service results.
func generatedChain(seed: UInt64 = 11, blocks: Int = 8, eventsPerBlock: Int = 30,
                    servicePercent: Int = 0) -> (Genesis, [CommittedBlock], MemoryLedgerState) {
    var workload = Workload(builder: ChainBuilder(seed: seed), patientCount: 25, practitionerCount: 6)
    workload.servicePercent = servicePercent
    var committed = [workload.enrolPractitioners().block]
    for _ in 0..<blocks { committed.append(workload.nextBlock(count: eventsPerBlock).block) }
    return (workload.builder.genesis, committed, workload.builder.state)
}

/// Appends `blocks` to `store`, deriving each block's state changes with the real executor.
func append(_ blocks: [CommittedBlock], to store: ChainStore) throws {
    let executor = BlockExecutor(genesis: store.genesis)
    for block in blocks {
        try store.append(block, changes: try executor.execute(block.block, state: store))
    }
}

/// A small chain with every kind of access a patient's log can show: a patient's record and grant to a
/// doctor (block 1); the doctor's diagnose, read and plan accesses and a stranger's denied plan access
/// (block 2); the custodian's result for the diagnose access (block 3). The plan access stays unanswered.
struct ServiceScenario {
    var builder = ChainBuilder(seed: 5)
    let patient = TestKeys.key("scenario-patient")
    let doctor = TestKeys.key("scenario-doctor")
    let stranger = TestKeys.key("scenario-stranger")
    var blocks: [CommittedBlock] = []
    private(set) var diagnose: SignedTransaction!
    private(set) var read: SignedTransaction!
    private(set) var plan: SignedTransaction!
    private(set) var denied: SignedTransaction!
    private(set) var result: SignedTransaction!

    init() {
        let org = ChainBuilder.organisation(0)
        let patientID = Identity(publicKey: patient.publicKey), doctorID = Identity(publicKey: doctor.publicKey)
        let record = builder.newRecordID()
        commit([
            builder.sign(.enrollPractitioner(EnrollPractitioner(organisation: org, practitioner: doctorID, role: PractitionerRole("physician")!)),
                         by: builder.adminKey(0)),
            builder.sign(.registerRecord(RegisterRecord(record: record, patient: patientID, custodian: org, type: RecordType("Observation")!,
                                                        commitment: SHA256.hash(record.bytes), author: patientID)), by: builder.validatorKey(0)),
            builder.sign(.grantConsent(GrantConsent(grantee: .practitioner(doctorID), actions: AccessActions([.read, .diagnose, .plan]))),
                         by: patient),
        ])
        func request(_ action: AccessAction, by key: Ed25519.PrivateKey) -> SignedTransaction {
            builder.sign(.recordAccess(RecordAccess(custodian: org, patient: patientID, action: action, selector: .all)), by: key)
        }
        diagnose = request(.diagnose, by: doctor)
        read = request(.read, by: doctor)
        plan = request(.plan, by: doctor)
        denied = request(.plan, by: stranger)
        commit([diagnose, read, plan, denied])
        result = builder.serviceResult(answering: diagnose.id)
        commit([result])
    }

    private mutating func commit(_ transactions: [SignedTransaction]) {
        let (block, _, rejected) = builder.commit(transactions)
        precondition(rejected.isEmpty, "scenario transaction rejected: \(rejected.map(\.1))")
        blocks.append(block)
    }

    var resultBody: ServiceResult {
        guard case let .serviceResult(body) = result.transaction.body else { preconditionFailure("not a result") }
        return body
    }
}
