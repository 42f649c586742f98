import Crypto
import Ledger
import TestSupport
import Testing

// Named policy scenarios through real blocks (`ChainBuilder` runs the real `BlockExecutor`): each test
// commits the consent it needs, then reads the access outcome the block recorded.

/// Two hospitals (org-0, org-1); Alice has an Observation and a Condition at org-0 and an Observation at
/// org-1; Bob has an Observation at org-0; Dr One works at org-0, Dr Two at org-1.
private struct Clinic {
    var chain = ChainBuilder(seed: 42, organisationCount: 2)
    let alice = TestKeys.key("alice")
    let bob = TestKeys.key("bob")
    let drOne = TestKeys.key("dr-one")
    let drTwo = TestKeys.key("dr-two")
    let stranger = TestKeys.key("stranger")
    let org0 = ChainBuilder.organisation(0)
    let org1 = ChainBuilder.organisation(1)
    private(set) var aliceObservation: RecordID!
    private(set) var aliceCondition: RecordID!
    private(set) var aliceAtOrg1: RecordID!
    private(set) var bobObservation: RecordID!

    static let observation = RecordType("Observation")!
    static let condition = RecordType("Condition")!
    static let research = PurposeCode("HRESCH")!

    init() {
        let enrolments = [(drOne, 0), (drTwo, 1)].map { key, org in
            chain.sign(.enrollPractitioner(EnrollPractitioner(organisation: ChainBuilder.organisation(org), practitioner: key.id,
                                                              role: PractitionerRole("physician")!)), by: chain.adminKey(org))
        }
        commitAll(enrolments)
        aliceObservation = register(for: alice, at: 0, type: Self.observation)
        aliceCondition = register(for: alice, at: 0, type: Self.condition)
        aliceAtOrg1 = register(for: alice, at: 1, type: Self.observation)
        bobObservation = register(for: bob, at: 0, type: Self.observation)
    }

    /// Registers a record written by the patient, signed by the custodian's validator, in its own block.
    mutating func register(for patient: Ed25519.PrivateKey, at org: Int, type: RecordType) -> RecordID {
        let id = chain.newRecordID()
        let body = RegisterRecord(record: id, patient: patient.id, custodian: ChainBuilder.organisation(org), type: type,
                                  commitment: SHA256.hash(id.bytes), author: patient.id)
        commitAll([chain.sign(.registerRecord(body), by: chain.validatorKey(org))])
        return id
    }

    /// Commits a block that must accept every transaction; returns its entries.
    @discardableResult
    mutating func commitAll(_ transactions: [SignedTransaction], advanceMs: UInt64 = 1_000) -> [BlockEntry] {
        let (committed, _, rejected) = chain.commit(transactions, advanceMs: advanceMs)
        #expect(rejected.isEmpty, "unexpected rejections: \(rejected.map(\.1))")
        return committed.block.entries
    }

    /// Commits `terms` granted by `patient` in its own block; returns the grant id.
    mutating func grant(_ terms: GrantConsent, by patient: Ed25519.PrivateKey) -> GrantID {
        let signed = chain.sign(.grantConsent(terms), by: patient)
        commitAll([signed])
        return signed.id
    }

    /// A signed access request, to be committed by the caller (possibly next to other transactions).
    mutating func request(
        by requester: Ed25519.PrivateKey, of patient: Ed25519.PrivateKey, at org: Int = 0, action: AccessAction = .read,
        _ selector: RecordSelector = .all, purpose: PurposeCode = .treatment, grant: GrantID? = nil
    ) -> SignedTransaction {
        let body = RecordAccess(custodian: ChainBuilder.organisation(org), patient: patient.id, action: action,
                                selector: selector, purpose: purpose, grant: grant)
        return chain.sign(.recordAccess(body), by: requester)
    }

    /// Commits one access request alone in a block `advanceMs` after the last; returns the recorded outcome.
    mutating func access(
        by requester: Ed25519.PrivateKey, of patient: Ed25519.PrivateKey, at org: Int = 0, action: AccessAction = .read,
        _ selector: RecordSelector = .all, purpose: PurposeCode = .treatment, grant: GrantID? = nil, advanceMs: UInt64 = 1_000
    ) -> AccessDecision? {
        let signed = request(by: requester, of: patient, at: org, action: action, selector, purpose: purpose, grant: grant)
        return commitAll([signed], advanceMs: advanceMs).first?.outcome
    }

    /// Alice's org-0 records, sorted as a release lists them.
    var aliceOrg0Records: [RecordID] { [aliceObservation, aliceCondition].sorted() }
}

private extension Ed25519.PrivateKey {
    var id: Identity { Identity(publicKey: publicKey) }
}

private func readFor(_ grantee: Grantee, _ actions: [AccessAction] = [.read], scope: RecordSelector = .all,
                     purposes: [PurposeCode] = [.treatment], notBeforeMs: UInt64? = nil, notAfterMs: UInt64? = nil) -> GrantConsent {
    GrantConsent(grantee: grantee, actions: AccessActions(actions), scope: scope, purposes: purposes,
                 notBeforeMs: notBeforeMs, notAfterMs: notAfterMs)
}

/// The outcome recorded for `signed` in `entries`.
private func outcome(of signed: SignedTransaction, in entries: [BlockEntry]) -> AccessDecision? {
    entries.first { $0.transaction.id == signed.id }?.outcome
}

@Suite("Access policy scenarios")
struct PolicyTests {
    @Test("a revocation stops an access earlier in the same block")
    func revocationStopsEarlierAccessInSameBlock() {
        var clinic = Clinic()
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id)), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, grant: grant) == .allowed(grant: grant, records: clinic.aliceOrg0Records))

        // Access first in block order, revocation second: the access is still decided after the revocation.
        let before = clinic.request(by: clinic.drOne, of: clinic.alice, grant: grant)
        let revoke = clinic.chain.sign(.revokeConsent(RevokeConsent(grant: grant)), by: clinic.alice)
        let after = clinic.request(by: clinic.drOne, of: clinic.alice)
        let entries = clinic.commitAll([before, revoke, after])
        #expect(entries.map(\.transaction.id) == [before.id, revoke.id, after.id], "the block keeps the proposed order")
        #expect(outcome(of: before, in: entries) == .denied(.grantRevoked))
        #expect(outcome(of: after, in: entries) == .denied(.grantRevoked))
        // And in every later block.
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, grant: grant) == .denied(.grantRevoked))
    }

    @Test("a grant expires at notAfter exactly: one ms before it allows, at it denies")
    func grantExpiresAtNotAfter() {
        var clinic = Clinic()
        let notAfter = clinic.chain.timeMs + 10_000
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id), notAfterMs: notAfter), by: clinic.alice)
        let lastAllowedAdvance = notAfter - 1 - clinic.chain.timeMs
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, advanceMs: lastAllowedAdvance)
            == .allowed(grant: grant, records: clinic.aliceOrg0Records))
        #expect(clinic.chain.timeMs == notAfter - 1)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, advanceMs: 1) == .denied(.grantExpired))
        #expect(clinic.chain.timeMs == notAfter)
    }

    @Test("a grant is not in force before notBefore, and is from notBefore exactly")
    func grantNotYetValidBeforeNotBefore() {
        var clinic = Clinic()
        let notBefore = clinic.chain.timeMs + 10_000
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id), notBeforeMs: notBefore), by: clinic.alice)
        let justBefore = notBefore - 1 - clinic.chain.timeMs
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, advanceMs: justBefore) == .denied(.grantNotYetValid))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, advanceMs: 1) == .allowed(grant: grant, records: clinic.aliceOrg0Records))
    }

    @Test("an organisation grant admits its enrolled practitioners and no one else")
    func organisationGrantAdmitsOnlyItsPractitioners() {
        var clinic = Clinic()
        let grant = clinic.grant(readFor(.organisation(clinic.org0)), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice) == .allowed(grant: grant, records: clinic.aliceOrg0Records))
        // Dr Two is a practitioner, but enrolled at org-1.
        #expect(clinic.access(by: clinic.drTwo, of: clinic.alice) == .denied(.noMatchingGrant))
        #expect(clinic.access(by: clinic.drTwo, of: clinic.alice, grant: grant) == .denied(.granteeMismatch))
        #expect(clinic.access(by: clinic.stranger, of: clinic.alice) == .denied(.noMatchingGrant))
        #expect(clinic.access(by: clinic.stranger, of: clinic.alice, grant: grant) == .denied(.granteeMismatch))
    }

    @Test("a read grant does not allow diagnose, and a diagnose grant does not allow read")
    func actionsAreNotInterchangeable() {
        var clinic = Clinic()
        let read = clinic.grant(readFor(.practitioner(clinic.drOne.id), [.read]), by: clinic.alice)
        let diagnose = clinic.grant(readFor(.practitioner(clinic.drOne.id), [.diagnose]), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, action: .diagnose, grant: read) == .denied(.actionNotGranted))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, action: .read, grant: diagnose) == .denied(.actionNotGranted))
        // Without a named grant, each action finds its own grant.
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, action: .diagnose)
            == .allowed(grant: diagnose, records: clinic.aliceOrg0Records))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, action: .read) == .allowed(grant: read, records: clinic.aliceOrg0Records))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, action: .plan) == .denied(.actionNotGranted))
    }

    @Test("a purpose the grant does not list is denied")
    func purposeNotGranted() {
        var clinic = Clinic()
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id), purposes: [.treatment]), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, purpose: Clinic.research) == .denied(.purposeNotGranted))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, purpose: .treatment) == .allowed(grant: grant, records: clinic.aliceOrg0Records))
    }

    @Test("a type-scoped grant releases only records of its types")
    func typeScopedGrant() {
        var clinic = Clinic()
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id), scope: .types([Clinic.observation])), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, .records([clinic.aliceCondition])) == .denied(.recordOutOfScope))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, .types([Clinic.condition])) == .denied(.recordOutOfScope))
        // Asking for everything releases the in-scope part only.
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice) == .allowed(grant: grant, records: [clinic.aliceObservation]))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, .records([clinic.aliceObservation]))
            == .allowed(grant: grant, records: [clinic.aliceObservation]))
    }

    @Test("naming another patient's grant is denied")
    func namedGrantOfAnotherPatient() {
        var clinic = Clinic()
        let bobsGrant = clinic.grant(readFor(.practitioner(clinic.drOne.id)), by: clinic.bob)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, grant: bobsGrant) == .denied(.grantForOtherPatient))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice) == .denied(.noMatchingGrant))
    }

    @Test("a named grant that does not exist is denied")
    func unknownNamedGrant() {
        var clinic = Clinic()
        _ = clinic.grant(readFor(.practitioner(clinic.drOne.id)), by: clinic.alice)
        let unknown = GrantID(digest: SHA256.hash(Array("no such grant".utf8)))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, grant: unknown) == .denied(.grantNotFound))
    }

    @Test("patients access their own records without a grant")
    func patientSelfAccess() {
        var clinic = Clinic()
        #expect(clinic.access(by: clinic.alice, of: clinic.alice) == .allowed(grant: nil, records: clinic.aliceOrg0Records))
        #expect(clinic.access(by: clinic.alice, of: clinic.alice, at: 1) == .allowed(grant: nil, records: [clinic.aliceAtOrg1]))
        // Self-access is still limited to the patient's own records.
        #expect(clinic.access(by: clinic.alice, of: clinic.alice, .records([clinic.bobObservation])) == .denied(.recordOfOtherPatient))
    }

    @Test("a record of another patient cannot be named")
    func recordOfAnotherPatient() {
        var clinic = Clinic()
        _ = clinic.grant(readFor(.practitioner(clinic.drOne.id)), by: clinic.alice)
        let selection = RecordSelector.records(canonicalising: [clinic.aliceObservation, clinic.bobObservation])!
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, selection) == .denied(.recordOfOtherPatient))
    }

    @Test("a record held by another custodian cannot be named")
    func recordAtAnotherCustodian() {
        var clinic = Clinic()
        let grant = clinic.grant(readFor(.practitioner(clinic.drOne.id)), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, at: 0, .records([clinic.aliceAtOrg1])) == .denied(.recordAtOtherCustodian))
        // Asked at its custodian, the same record is covered by the same grant.
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, at: 1, .records([clinic.aliceAtOrg1]))
            == .allowed(grant: grant, records: [clinic.aliceAtOrg1]))
    }

    @Test("candidate grants are tried oldest first; when all fail, the oldest one's reason is given")
    func candidateOrder() {
        var clinic = Clinic()
        let start = clinic.chain.timeMs
        let expiring = clinic.grant(readFor(.practitioner(clinic.drOne.id), notAfterMs: start + 5_000), by: clinic.alice)
        let researchOnly = clinic.grant(readFor(.practitioner(clinic.drOne.id), purposes: [Clinic.research]), by: clinic.alice)
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice) == .allowed(grant: expiring, records: clinic.aliceOrg0Records))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, advanceMs: 10_000) == .denied(.grantExpired))
        #expect(clinic.access(by: clinic.drOne, of: clinic.alice, purpose: Clinic.research)
            == .allowed(grant: researchOnly, records: clinic.aliceOrg0Records))
    }
}
