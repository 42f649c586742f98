import Ledger

/// Generates a realistic stream of ledger events on a `ChainBuilder`: practitioners enrolled by their
/// organisation, records registered by custodian nodes, patients granting and revoking consent, and mostly
/// record accesses (some allowed, some denied), as in a hospital's day. With `servicePercent` above zero,
/// some accesses ask for a diagnosis or a plan, and the custodian's node answers each allowed one with a
/// `ServiceResult` at the start of the next block. Deterministic for a seed.
public struct Workload {
    public var builder: ChainBuilder
    private let patients: [Ed25519.PrivateKey]
    private let practitioners: [Ed25519.PrivateKey]
    private var recordsByPatient: [[RecordID]]
    private var liveGrants: [(id: GrantID, patient: Int)] = []
    /// Allowed diagnose/plan accesses not yet answered, with their block times.
    private var unanswered: [(access: TransactionID, blockTimeMs: UInt64)] = []

    /// Event mix in percent; accesses take the rest.
    public var registerPercent = 10
    public var grantPercent = 10
    public var revokePercent = 2
    /// Percent of accesses that ask for `diagnose` or `plan` instead of `read` (0: none, the default, which
    /// keeps the generated chains of earlier versions unchanged).
    public var servicePercent = 0

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

    /// The next block of `count` events: first the results of the allowed diagnose/plan accesses still
    /// unanswered (those the replay window allows), then generated events.
    public mutating func nextBlock(count: Int, advanceMs: UInt64 = 1_000) -> (block: CommittedBlock, changes: StateChanges) {
        var candidates: [SignedTransaction] = []
        candidates.reserveCapacity(count)
        let blockTimeMs = builder.timeMs + advanceMs
        unanswered.removeAll { blockTimeMs - $0.blockTimeMs > builder.genesis.consensus.transactionMaxAgeMs }
        let answering = unanswered.prefix(count)
        unanswered.removeFirst(answering.count)
        for pending in answering { candidates.append(builder.serviceResult(answering: pending.access)) }
        while candidates.count < count { candidates.append(nextEvent()) }
        let result = builder.commit(candidates, advanceMs: advanceMs)
        precondition(result.rejected.isEmpty, "generated event rejected: \(result.rejected.map(\.1))")
        unanswered += result.changes.serviceAccesses.map { ($0.id, $0.blockTimeMs) }
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
        let actions: [AccessAction] = servicePercent > 0 ? [.read, .diagnose, .plan] : [.read, .diagnose]
        let terms = GrantConsent(grantee: grantee, actions: AccessActions(actions),
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
        var action = AccessAction.read
        if servicePercent > 0, Int.random(in: 0..<100, using: &builder.random) < servicePercent {
            action = Bool.random(using: &builder.random) ? .diagnose : .plan
        }
        let request = RecordAccess(custodian: ChainBuilder.organisation(0), patient: Identity(publicKey: patients[patientIndex].publicKey),
                                   action: action, selector: selector)
        return builder.sign(.recordAccess(request), by: randomPractitioner())
    }

    private mutating func randomPractitioner() -> Ed25519.PrivateKey {
        practitioners.randomElement(using: &builder.random)!
    }
}
