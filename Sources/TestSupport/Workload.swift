import Ledger

/// Generates a realistic stream of ledger events on a `ChainBuilder`: practitioners enrolled by their
/// organisation, records registered by custodian nodes, patients granting and revoking consent, and mostly
/// record accesses (some allowed, some denied), as in a hospital's day. Deterministic for a seed.
public struct Workload {
    public var builder: ChainBuilder
    private let patients: [Ed25519.PrivateKey]
    private let practitioners: [Ed25519.PrivateKey]
    private var recordsByPatient: [[RecordID]]
    private var liveGrants: [(id: GrantID, patient: Int)] = []

    /// Event mix in percent; accesses take the rest.
    public var registerPercent = 10
    public var grantPercent = 10
    public var revokePercent = 2

    public init(builder: ChainBuilder, patientCount: Int = 1_000, practitionerCount: Int = 50) {
        self.builder = builder
        patients = (0..<patientCount).map { TestKeys.key("patient-\($0)") }
        practitioners = (0..<practitionerCount).map { TestKeys.key("practitioner-\($0)") }
        recordsByPatient = Array(repeating: [], count: patientCount)
    }

    /// Block 1: the organisation's admin enrols every practitioner.
    public mutating func enrolPractitioners() -> (block: CommittedBlock, changes: StateChanges) {
        let admin = builder.adminKey(0)
        let enrolments = practitioners.map {
            builder.sign(.enrollPractitioner(EnrollPractitioner(
                organisation: ChainBuilder.organisation(0), practitioner: Identity(publicKey: $0.publicKey),
                role: PractitionerRole("physician")!)), by: admin)
        }
        let result = builder.commit(enrolments)
        precondition(result.rejected.isEmpty, "enrolment rejected: \(result.rejected.map(\.1))")
        return (result.block, result.changes)
    }

    /// The next block of `count` generated events.
    public mutating func nextBlock(count: Int, advanceMs: UInt64 = 1_000) -> (block: CommittedBlock, changes: StateChanges) {
        var candidates: [SignedTransaction] = []
        candidates.reserveCapacity(count)
        for _ in 0..<count { candidates.append(nextEvent()) }
        let result = builder.commit(candidates, advanceMs: advanceMs)
        precondition(result.rejected.isEmpty, "generated event rejected: \(result.rejected.map(\.1))")
        return (result.block, result.changes)
    }

    private mutating func nextEvent() -> SignedTransaction {
        let roll = Int.random(in: 0..<100, using: &builder.random)
        let patientIndex = Int.random(in: 0..<patients.count, using: &builder.random)
        if roll < registerPercent { return registerRecord(for: patientIndex) }
        if roll < registerPercent + grantPercent { return grant(from: patientIndex) }
        if roll < registerPercent + grantPercent + revokePercent, !liveGrants.isEmpty { return revoke() }
        return access(to: patientIndex)
    }

    private mutating func registerRecord(for patientIndex: Int) -> SignedTransaction {
        let record = builder.newRecordID()
        recordsByPatient[patientIndex].append(record)
        let patient = Identity(publicKey: patients[patientIndex].publicKey)
        let author = Bool.random(using: &builder.random) ? patient : Identity(publicKey: randomPractitioner().publicKey)
        let body = RegisterRecord(record: record, patient: patient, custodian: ChainBuilder.organisation(0),
                                  type: RecordType(Bool.random(using: &builder.random) ? "Observation" : "Condition")!,
                                  commitment: SHA256.hash(builder.random.bytes(32)), author: author)
        return builder.sign(.registerRecord(body), by: builder.validatorKey(0))
    }

    private mutating func grant(from patientIndex: Int) -> SignedTransaction {
        let grantee: Grantee = Int.random(in: 0..<4, using: &builder.random) == 0
            ? .organisation(ChainBuilder.organisation(0)) : .practitioner(Identity(publicKey: randomPractitioner().publicKey))
        let terms = GrantConsent(grantee: grantee, actions: AccessActions([.read, .diagnose]),
                                 notAfterMs: builder.timeMs + 30 * 24 * 3_600_000)
        let transaction = builder.sign(.grantConsent(terms), by: patients[patientIndex])
        liveGrants.append((transaction.id, patientIndex))
        return transaction
    }

    private mutating func revoke() -> SignedTransaction {
        let (grant, patientIndex) = liveGrants.remove(at: Int.random(in: 0..<liveGrants.count, using: &builder.random))
        return builder.sign(.revokeConsent(RevokeConsent(grant: grant)), by: patients[patientIndex])
    }

    private mutating func access(to patientIndex: Int) -> SignedTransaction {
        let records = recordsByPatient[patientIndex]
        let selector: RecordSelector = records.isEmpty || Bool.random(using: &builder.random)
            ? .all : .records([records.randomElement(using: &builder.random)!])
        let request = RecordAccess(custodian: ChainBuilder.organisation(0), patient: Identity(publicKey: patients[patientIndex].publicKey),
                                   action: .read, selector: selector)
        return builder.sign(.recordAccess(request), by: randomPractitioner())
    }

    private mutating func randomPractitioner() -> Ed25519.PrivateKey {
        practitioners.randomElement(using: &builder.random)!
    }
}
