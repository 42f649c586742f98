import Ledger
import TestSupport

/// The clients of a simulated consortium: patients granting and revoking consent, custodian nodes
/// registering records, practitioners reading records (allowed or denied by the policy), and the
/// organisation's admin enrolling the practitioners first. Keys come from TestSupport's named keys and
/// transactions are signed by `ChainBuilder.sign`, with the client's simulated time as creation time.
///
/// Unlike TestSupport's `Workload`, which commits each block itself, these transactions go to nodes and may
/// be lost with them; so the client only builds on what was acknowledged (it revokes only grants whose
/// commit it saw), and every transaction is valid whenever it commits.
struct ClientWorkload {
    private var signer: ChainBuilder
    private let patients: [Ed25519.PrivateKey]
    private let practitioners: [Ed25519.PrivateKey]
    private let organisationCount: Int
    /// Grants the client saw committed, not yet revoked.
    private var liveGrants: [(grant: GrantID, patient: Int)] = []
    private var grantsAwaitingAck: [TransactionID: Int] = [:]

    init(signer: ChainBuilder, organisationCount: Int, patientCount: Int = 12, practitionerCount: Int = 4) {
        self.signer = signer
        self.organisationCount = organisationCount
        patients = (0..<patientCount).map { TestKeys.key("patient-\($0)") }
        practitioners = (0..<practitionerCount).map { TestKeys.key("practitioner-\($0)") }
    }

    /// Organisation 0's admin enrols every practitioner: the first transactions of a run.
    mutating func enrolments(nowMs: UInt64) -> [SignedTransaction] {
        practitioners.map {
            signer.sign(.enrollPractitioner(EnrollPractitioner(organisation: ChainBuilder.organisation(0),
                                                               practitioner: Identity(publicKey: $0.publicKey),
                                                               role: PractitionerRole("physician")!)),
                        by: signer.adminKey(0), createdAtMs: nowMs)
        }
    }

    /// The next generated transaction, created at `nowMs`.
    mutating func next(nowMs: UInt64) -> SignedTransaction {
        let roll = Int.random(in: 0..<100, using: &signer.random)
        let patient = Int.random(in: 0..<patients.count, using: &signer.random)
        let custodian = Int.random(in: 0..<organisationCount, using: &signer.random)
        if roll < 20 { return registerRecord(patient: patient, custodian: custodian, nowMs: nowMs) }
        if roll < 30, !liveGrants.isEmpty { return revoke(nowMs: nowMs) }
        if roll < 55 { return grant(patient: patient, nowMs: nowMs) }
        return access(patient: patient, custodian: custodian, nowMs: nowMs)
    }

    /// A transaction that is valid whatever else committed (a new grant): what the quiet phase submits to
    /// prove progress.
    mutating func probe(nowMs: UInt64) -> SignedTransaction {
        grant(patient: Int.random(in: 0..<patients.count, using: &signer.random), nowMs: nowMs)
    }

    /// Notes that `id` was acknowledged (committed where it was submitted).
    mutating func acknowledged(_ id: TransactionID) {
        if let patient = grantsAwaitingAck.removeValue(forKey: id) { liveGrants.append((id, patient)) }
    }

    private mutating func registerRecord(patient: Int, custodian: Int, nowMs: UInt64) -> SignedTransaction {
        let patientIdentity = Identity(publicKey: patients[patient].publicKey)
        let body = RegisterRecord(record: signer.newRecordID(), patient: patientIdentity, custodian: ChainBuilder.organisation(custodian),
                                  type: RecordType(Bool.random(using: &signer.random) ? "Observation" : "Condition")!,
                                  commitment: SHA256.hash(signer.random.bytes(32)), author: patientIdentity)
        return signer.sign(.registerRecord(body), by: signer.validatorKey(custodian), createdAtMs: nowMs)
    }

    private mutating func grant(patient: Int, nowMs: UInt64) -> SignedTransaction {
        let grantee: Grantee = Bool.random(using: &signer.random)
            ? .organisation(ChainBuilder.organisation(0))
            : .practitioner(Identity(publicKey: practitioners.randomElement(using: &signer.random)!.publicKey))
        let terms = GrantConsent(grantee: grantee, actions: AccessActions([.read, .diagnose]), notAfterMs: nowMs + 24 * 3_600_000)
        let transaction = signer.sign(.grantConsent(terms), by: patients[patient], createdAtMs: nowMs)
        grantsAwaitingAck[transaction.id] = patient
        return transaction
    }

    private mutating func revoke(nowMs: UInt64) -> SignedTransaction {
        let (grant, patient) = liveGrants.remove(at: Int.random(in: 0..<liveGrants.count, using: &signer.random))
        return signer.sign(.revokeConsent(RevokeConsent(grant: grant)), by: patients[patient], createdAtMs: nowMs)
    }

    private mutating func access(patient: Int, custodian: Int, nowMs: UInt64) -> SignedTransaction {
        let request = RecordAccess(custodian: ChainBuilder.organisation(custodian), patient: Identity(publicKey: patients[patient].publicKey),
                                   action: .read, selector: .all)
        return signer.sign(.recordAccess(request), by: practitioners.randomElement(using: &signer.random)!, createdAtMs: nowMs)
    }
}
