import Crypto
import Ledger
import TestSupport
import Testing

// Property test: random sequences of blocks built by the real executor (through `ChainBuilder`) agree,
// transaction by transaction and access by access, with the naive `ConsentModel` (service results
// included); and no access is ever allowed under a grant at or after the height that revoked it.

/// Everyone who signs in the random sequences. Keys are derived once: derivation dominates signing cost.
private enum Cast {
    static let organisationCount = 2
    static let patients = keys("patient", 4)
    /// Practitioners: the generator enrols some of them, at org-0 or org-1, over the sequence.
    static let practitioners = keys("practitioner", 6)
    /// Never enrolled, never granted on purpose: they should get nothing (except through a direct grant).
    static let strangers = keys("stranger", 2)
    static let admins = (0..<organisationCount).map { TestKeys.key("admin-\($0)") }
    static let validators = (0..<organisationCount).map { TestKeys.key("validator-\($0)") }
    static let organisations = (0..<organisationCount).map { ChainBuilder.organisation($0) }
    /// Not in the genesis.
    static let unknownOrganisation = OrganisationID("org-7")!

    static let recordTypes = ["Observation", "Condition", "MedicationRequest"].map { RecordType($0)! }
    static let purposes = ["TREAT", "ETREAT", "HRESCH"].map { PurposeCode($0)! }

    private static func keys(_ prefix: String, _ count: Int) -> [Ed25519.PrivateKey] {
        (0..<count).map { TestKeys.key("\(prefix)-\($0)") }
    }
}

private extension Ed25519.PrivateKey {
    var identity: Identity { Identity(publicKey: publicKey) }
}

/// A grant as its patient signed it (it may never have been committed).
private struct SignedGrant {
    let id: GrantID
    let patient: Ed25519.PrivateKey
    let terms: GrantConsent
}

/// Draws random transactions for one sequence. It looks at what was signed so far (grant ids, record ids,
/// committed transactions) only to pick plausible targets; whether they are valid is the model's business.
private struct SequenceGenerator {
    var random: SeededRandom
    var builder: ChainBuilder
    /// Every grant transaction signed so far, committed or not, with its patient: targets for revocations
    /// and named grants (an uncommitted one is a "grant not found").
    var signedGrants: [SignedGrant] = []
    /// Every record id used in a registration so far, registered or not.
    var recordIDs: [RecordID] = []
    /// Who each registration was for, to aim requests at records that exist where they are asked for.
    var registrations: [(record: RecordID, patient: Identity, custodian: OrganisationID)] = []
    /// Transactions committed earlier, for replays.
    var committedTransactions: [SignedTransaction] = []
    /// Diagnose and plan accesses committed earlier (allowed or denied), with their custodians: targets for
    /// service results, answered or not, fresh or long past the replay window.
    var committedServiceRequests: [(id: TransactionID, custodian: OrganisationID, allowed: Bool)] = []

    init(seed: UInt64) {
        random = SeededRandom(seed: seed ^ 0x5EED_0F_7E57)
        builder = ChainBuilder(seed: seed, organisationCount: Cast.organisationCount)
    }

    // MARK: Small random helpers

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items.randomElement(using: &random)! }

    /// A non-empty random subset, in the original order.
    mutating func subset<T>(_ items: [T]) -> [T] {
        while true {
            let chosen = items.filter { _ in chance(50) }
            if !chosen.isEmpty { return chosen }
        }
    }

    mutating func anyone() -> Ed25519.PrivateKey {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<3: return pick(Cast.patients)
        case 3..<8: return pick(Cast.practitioners)
        default: return pick(Cast.strangers)
        }
    }

    mutating func someOrganisation() -> OrganisationID {
        chance(5) ? Cast.unknownOrganisation : pick(Cast.organisations)
    }

    mutating func unknownGrantID() -> GrantID { GrantID(digest: SHA256.hash(random.bytes(8))) }
    mutating func unknownRecordID() -> RecordID { RecordID(bytes: random.bytes(RecordID.byteCount))! }

    /// Block time advances on a 30 s grid (with rare 1 ms steps), and validity bounds sit on the same grid,
    /// so block times often land exactly on a `notBefore` or `notAfter`.
    mutating func timeAdvance() -> UInt64 {
        if chance(5) { return 1 }
        return 30_000 * UInt64(pick([1, 1, 2, 3, 4, 10, 30]))
    }

    /// A validity bound near `blockTimeMs`: up to 5 min before, 10 min after, sometimes 1 ms off the grid.
    mutating func boundNear(_ blockTimeMs: UInt64) -> UInt64 {
        let grid = blockTimeMs - 300_000 + 30_000 * UInt64.random(in: 0...30, using: &random)
        return grid + pick([0, 0, 0, 1]) - pick([0, 0, 0, 1])
    }

    // MARK: Transactions

    /// Signs with a creation time that is usually the block's time, and sometimes at or past the edges of the
    /// replay window (the edges themselves are accepted).
    mutating func sign(_ body: TransactionBody, by key: Ed25519.PrivateKey, blockTimeMs: UInt64) -> SignedTransaction {
        let consensus = builder.genesis.consensus
        var createdAtMs = blockTimeMs
        if chance(4) {
            createdAtMs = pick([
                blockTimeMs - consensus.transactionMaxAgeMs, blockTimeMs - consensus.transactionMaxAgeMs - 1,
                blockTimeMs + consensus.transactionMaxFutureMs, blockTimeMs + consensus.transactionMaxFutureMs + 1,
            ])
        }
        return builder.sign(body, by: key, createdAtMs: createdAtMs)
    }

    mutating func enrolment(_ t: UInt64) -> SignedTransaction {
        let index = Int.random(in: 0..<Cast.organisationCount, using: &random)
        let organisation = chance(5) ? Cast.unknownOrganisation : Cast.organisations[index]
        // Mostly the right admin; otherwise the other organisation's admin, its validator, or a practitioner.
        let signer = chance(80) ? Cast.admins[index]
            : pick([Cast.admins[1 - index], Cast.validators[index], pick(Cast.practitioners)])
        let body = EnrollPractitioner(organisation: organisation, practitioner: pick(Cast.practitioners).identity,
                                      role: PractitionerRole(pick(["physician", "nurse"]))!)
        return sign(.enrollPractitioner(body), by: signer, blockTimeMs: t)
    }

    mutating func registration(_ t: UInt64) -> SignedTransaction {
        let index = Int.random(in: 0..<Cast.organisationCount, using: &random)
        let custodian = chance(5) ? Cast.unknownOrganisation : Cast.organisations[index]
        let signer = chance(85) ? Cast.validators[index] : pick([Cast.validators[1 - index], Cast.admins[index]])
        let patient = pick(Cast.patients)
        let author = chance(40) ? patient : anyone()
        let record = (chance(8) && !recordIDs.isEmpty) ? pick(recordIDs) : builder.newRecordID()
        recordIDs.append(record)
        registrations.append((record, patient.identity, custodian))
        let body = RegisterRecord(record: record, patient: patient.identity, custodian: custodian,
                                  type: pick(Cast.recordTypes), commitment: SHA256.hash(random.bytes(8)),
                                  author: author.identity)
        return sign(.registerRecord(body), by: signer, blockTimeMs: t)
    }

    mutating func grant(_ t: UInt64) -> SignedTransaction {
        let patient = pick(Cast.patients)
        let grantee: Grantee = chance(50) ? .organisation(someOrganisation())
            : .practitioner(chance(85) ? pick(Cast.practitioners).identity : pick(Cast.strangers).identity)
        var notBefore = chance(30) ? boundNear(t) : nil
        var notAfter = chance(40) ? boundNear(t) : nil
        if let before = notBefore, let after = notAfter, before >= after { (notBefore, notAfter) = (after, before + 30_000) }
        let body = GrantConsent(grantee: grantee, actions: AccessActions(subset(AccessAction.allCases)),
                                scope: scope(patient: patient.identity), purposes: subset(Cast.purposes).sorted(),
                                notBeforeMs: notBefore, notAfterMs: notAfter)
        let signed = sign(.grantConsent(body), by: patient, blockTimeMs: t)
        signedGrants.append(SignedGrant(id: signed.id, patient: patient, terms: body))
        return signed
    }

    /// A grant scope or a request selection: all, some types, or some records, mostly `patient`'s (at
    /// `custodian` when given) so that the later checks are reached, sometimes anyone's or unknown ones.
    mutating func scope(patient: Identity, custodian: OrganisationID? = nil) -> RecordSelector {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return .all
        case 1: return .types(canonicalising: subset(Cast.recordTypes))!
        default:
            let theirs = registrations.filter { $0.patient == patient && (custodian == nil || $0.custodian == custodian) }
            let ids = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                if chance(75), !theirs.isEmpty { return pick(theirs).record }
                return chance(80) && !recordIDs.isEmpty ? pick(recordIDs) : unknownRecordID()
            }
            return .records(canonicalising: ids)!
        }
    }

    mutating func revocation(_ t: UInt64, of target: SignedGrant? = nil) -> SignedTransaction {
        guard let target = target ?? (signedGrants.isEmpty ? nil : pick(signedGrants)) else {
            return sign(.revokeConsent(RevokeConsent(grant: unknownGrantID())), by: pick(Cast.patients), blockTimeMs: t)
        }
        // Mostly the granting patient; sometimes another patient, or a grant nobody made.
        let signer = chance(85) ? target.patient : pick(Cast.patients)
        let grant = chance(5) ? unknownGrantID() : target.id
        return sign(.revokeConsent(RevokeConsent(grant: grant)), by: signer, blockTimeMs: t)
    }

    mutating func access(_ t: UInt64, under target: SignedGrant? = nil) -> SignedTransaction {
        let target = target ?? (signedGrants.isEmpty || chance(30) ? nil : pick(signedGrants))
        if let target, chance(60) { return aimedAccess(t, under: target) }
        let patient = target?.patient ?? pick(Cast.patients)
        let requester = chance(12) ? patient : anyone()
        var named: GrantID?
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5: named = nil
        case 5..<8: named = target?.id
        case 8: named = signedGrants.isEmpty ? nil : pick(signedGrants).id  // often another patient's
        default: named = unknownGrantID()
        }
        let custodian = someOrganisation()
        let selector: RecordSelector = chance(40) ? .all : scope(patient: patient.identity, custodian: custodian)
        let body = RecordAccess(custodian: custodian, patient: patient.identity, action: pick(AccessAction.allCases),
                                selector: selector, purpose: pick(Cast.purposes), grant: named)
        return sign(.recordAccess(body), by: requester, blockTimeMs: t)
    }

    /// A request that a grant plausibly allows: by its grantee (or a practitioner who may be enrolled with
    /// the grantee organisation), for one of its actions and purposes, within its scope. Pure random requests
    /// are almost always denied, and the interesting cases (revoked, expired, in the same block) need
    /// requests that would otherwise pass.
    mutating func aimedAccess(_ t: UInt64, under target: SignedGrant) -> SignedTransaction {
        let terms = target.terms
        let requester: Ed25519.PrivateKey
        switch terms.grantee {
        case let .practitioner(identity):
            requester = (Cast.practitioners + Cast.strangers).first { $0.identity == identity }!
        case .organisation:
            requester = pick(Cast.practitioners)
        }
        let action = chance(85) ? pick(terms.actions.actions) : pick(AccessAction.allCases)
        let purpose = chance(85) ? pick(terms.purposes) : pick(Cast.purposes)
        let custodian: OrganisationID
        if case let .organisation(id) = terms.grantee, chance(70) { custodian = id } else { custodian = pick(Cast.organisations) }
        let selector: RecordSelector = switch Int.random(in: 0..<10, using: &random) {
        case 0..<4: terms.scope
        case 4..<7: .all
        default: scope(patient: target.patient.identity, custodian: custodian)
        }
        let body = RecordAccess(custodian: custodian, patient: target.patient.identity, action: action, selector: selector,
                                purpose: purpose, grant: chance(50) ? target.id : nil)
        return sign(.recordAccess(body), by: requester, blockTimeMs: t)
    }

    /// A service result: mostly for an allowed diagnose/plan access of an earlier block, signed by a node of
    /// its custodian; sometimes for a denied or read access, one of this block, an id that is no access, or
    /// signed by another organisation's node, an admin or a patient.
    mutating func serviceResult(_ t: UInt64, sameBlock: [SignedTransaction]) -> SignedTransaction {
        let allowed = committedServiceRequests.filter(\.allowed)
        var custodian = pick(Cast.organisations)
        let access: TransactionID
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<65 where !allowed.isEmpty:
            let target = pick(allowed)
            (access, custodian) = (target.id, target.custodian)
        case 65..<75 where !committedServiceRequests.isEmpty:
            let target = pick(committedServiceRequests)
            (access, custodian) = (target.id, target.custodian)
        case 75..<85 where !sameBlock.isEmpty:
            access = pick(sameBlock).id
        case 85..<92 where !committedTransactions.isEmpty:
            access = pick(committedTransactions).id
        default:
            access = unknownGrantID()
        }
        let index = Cast.organisations.firstIndex(of: custodian) ?? 0
        let signer = chance(80) ? Cast.validators[index]
            : pick([Cast.validators[1 - index], Cast.admins[index], pick(Cast.patients)])
        let model = ModelReference(id: ModelID(pick(["heart-v1", "diabetes-plan.2"]))!, hash: SHA256.hash(random.bytes(8)))
        let body = ServiceResult(access: access, model: model, inputHash: SHA256.hash(random.bytes(8)),
                                 outputHash: SHA256.hash(random.bytes(8)))
        return sign(.serviceResult(body), by: signer, blockTimeMs: t)
    }

    /// Notes the committed diagnose and plan accesses of a block, as targets for later service results.
    mutating func noteCommitted(_ entries: [BlockEntry]) {
        committedTransactions += entries.map(\.transaction)
        for entry in entries {
            guard case let .recordAccess(request) = entry.transaction.transaction.body, request.action != .read else { continue }
            committedServiceRequests.append((entry.transaction.id, request.custodian, entry.outcome?.isAllowed == true))
        }
    }

    /// The candidates of one block: a few random transactions, sometimes an access and a revocation of the
    /// same grant in either order, sometimes service results (two for one access now and then), sometimes a
    /// replay of an earlier transaction or a duplicate.
    mutating func block(_ t: UInt64) -> [SignedTransaction] {
        var transactions: [SignedTransaction] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<10: transactions.append(enrolment(t))
            case 10..<30: transactions.append(registration(t))
            case 30..<50: transactions.append(grant(t))
            case 50..<60: transactions.append(revocation(t))
            default: transactions.append(access(t))
            }
        }
        if chance(25), !signedGrants.isEmpty {
            let target = pick(signedGrants)
            let pair = [access(t, under: target), revocation(t, of: target)]
            transactions += chance(50) ? pair : pair.reversed()
        }
        if chance(40) {
            let result = serviceResult(t, sameBlock: transactions.filter { $0.transaction.kind == .recordAccess })
            transactions.append(result)
            if chance(15), case let .serviceResult(body) = result.transaction.body {
                var second = body
                second.outputHash = SHA256.hash(random.bytes(8))
                transactions.append(sign(.serviceResult(second), by: Cast.validators[chance(50) ? 0 : 1], blockTimeMs: t))
            }
        }
        if chance(5), !committedTransactions.isEmpty { transactions.append(pick(committedTransactions)) }
        if chance(5), let any = transactions.randomElement(using: &random) { transactions.append(any) }
        return transactions.shuffled(using: &random)
    }
}

/// Runs one random sequence; returns a description of the first disagreement, or nil.
private func runSequence(seed: UInt64, coverage: inout Coverage) -> String? {
    var generator = SequenceGenerator(seed: seed)
    let genesis = generator.builder.genesis
    var model = ConsentModel(
        chainID: genesis.chainID,
        organisations: (0..<Cast.organisationCount).map {
            .init(id: Cast.organisations[$0], admin: Cast.admins[$0].identity, validator: Cast.validators[$0].identity)
        },
        maxAgeMs: genesis.consensus.transactionMaxAgeMs, maxFutureMs: genesis.consensus.transactionMaxFutureMs)
    // Safety, tracked from the committed blocks alone: the height at which each grant was revoked, and the
    // allowed diagnose/plan accesses (custodian, block time) with whether a result answered them.
    var revokedAt: [GrantID: UInt64] = [:]
    var answerable: [TransactionID: (custodian: OrganisationID, timeMs: UInt64, answered: Bool)] = [:]

    for _ in 0..<Int.random(in: 30...80, using: &generator.random) {
        let advance = generator.timeAdvance()
        let height = generator.builder.height + 1
        let timeMs = generator.builder.timeMs + advance
        let candidates = generator.block(timeMs)
        let (committed, _, rejected) = generator.builder.commit(candidates, advanceMs: advance)
        let expected = model.apply(block: candidates, height: height, timeMs: timeMs)
        let entries = committed.block.entries
        let context = "seed \(seed), height \(height)"

        // Safety first, from the committed block alone (so it holds even if the model shared a bug): no access
        // is allowed under a grant at or after the height that revoked it. Revocations of this block count
        // for this block's accesses, wherever they stand in it.
        for entry in entries {
            if case let .revokeConsent(body) = entry.transaction.transaction.body { revokedAt[body.grant] = height }
        }
        for (index, entry) in entries.enumerated() {
            if case .denied(.grantRevoked) = entry.outcome, case let .recordAccess(request) = entry.transaction.transaction.body,
               let grant = request.grant, revokedAt[grant] == height,
               entries[(index + 1)...].contains(where: { $0.transaction.transaction.body == .revokeConsent(RevokeConsent(grant: grant)) }) {
                coverage.deniedByLaterRevocationInBlock += 1
            }
            guard case let .allowed(grant?, _) = entry.outcome, let revocation = revokedAt[grant] else { continue }
            if revocation <= height {
                return "\(context): access \(entry.transaction.id.hex.prefix(8)) allowed under grant revoked at \(revocation)"
            }
        }

        // Every committed result answers an allowed diagnose/plan access of an earlier block, at most once,
        // within the replay window, signed by a node of the access's custodian.
        for entry in entries {
            guard case let .serviceResult(body) = entry.transaction.transaction.body else { continue }
            guard let access = answerable[body.access], !access.answered,
                timeMs - access.timeMs <= genesis.consensus.transactionMaxAgeMs,
                genesis.validators.contains(where: { $0.key == entry.transaction.transaction.signer && $0.organisation == access.custodian })
            else { return "\(context): result \(entry.transaction.id.hex.prefix(8)) committed against the service rules" }
            answerable[body.access]?.answered = true
        }
        for entry in entries {
            if case let .recordAccess(request) = entry.transaction.transaction.body, request.action != .read, entry.outcome?.isAllowed == true {
                answerable[entry.transaction.id] = (request.custodian, timeMs, false)
            }
        }

        // Then agreement with the model: admission, rejection reasons, and every access outcome.
        let acceptedIDs = entries.map(\.transaction.id)
        if acceptedIDs != expected.accepted {
            return "\(context): executor accepted \(acceptedIDs.map { $0.hex.prefix(8) }), model \(expected.accepted.map { $0.hex.prefix(8) }); "
                + "executor rejected \(rejected.map { "\($0.0.id.hex.prefix(8)): \($0.1)" }), model \(expected.rejected)"
        }
        let rejections = rejected.map { ConsentModel.Rejection(id: $0.0.id, reason: $0.1) }
        if rejections != expected.rejected {
            return "\(context): executor rejected \(rejections), model \(expected.rejected)"
        }
        let outcomes = entries.compactMap { entry in entry.outcome.map { (entry.transaction.id, $0) } }
        if outcomes.count != expected.outcomes.count { return "\(context): \(outcomes.count) outcomes, model \(expected.outcomes.count)" }
        for ((id, decision), expectedOutcome) in zip(outcomes, expected.outcomes) {
            guard expectedOutcome.id == id, expectedOutcome.decision == decision else {
                return "\(context), access \(id.hex.prefix(8)): executor \(decision), model \(expectedOutcome.decision)"
            }
        }

        generator.noteCommitted(entries)
        coverage.record(entries: entries, rejected: rejected)
    }
    return nil
}

/// Coverage counters: a property test that only ever sees denials proves little.
private struct Coverage {
    var allowedByGrant = 0
    var allowedSelf = 0
    var serviceResults = 0
    /// Accesses denied because a revocation further down the same block stopped their named grant.
    var deniedByLaterRevocationInBlock = 0
    var denials: Set<DenialReason> = []
    var rejections: Set<String> = []

    mutating func record(entries: [BlockEntry], rejected: [(SignedTransaction, TransactionRejection)]) {
        for entry in entries {
            switch entry.outcome {
            case .allowed(grant: .some, _)?: allowedByGrant += 1
            case .allowed(grant: nil, _)?: allowedSelf += 1
            case let .denied(reason)?: denials.insert(reason)
            case nil: break
            }
            if entry.transaction.transaction.kind == .serviceResult { serviceResults += 1 }
        }
        for (_, rejection) in rejected { rejections.insert("\(rejection)") }
    }
}

@Suite("Policy agrees with a reference model")
struct PolicyPropertyTests {
    /// 300 sequences in 10 batches, so Swift Testing can run batches on both cores.
    @Test("random block sequences", arguments: 0..<10)
    func randomSequences(batch: UInt64) {
        var coverage = Coverage()
        for seed in (batch * 30)..<(batch * 30 + 30) {
            let failure = runSequence(seed: seed, coverage: &coverage)
            #expect(failure == nil, "\(failure ?? "")")
            if failure != nil { return }
        }
        // Every batch must reach allowed accesses of both kinds and every reachable denial and rejection.
        #expect(coverage.allowedByGrant > 50 && coverage.allowedSelf > 10, "batch \(batch): \(coverage.allowedByGrant), \(coverage.allowedSelf)")
        #expect(coverage.deniedByLaterRevocationInBlock > 0, "batch \(batch): no access stopped by a later revocation")
        #expect(coverage.serviceResults > 20, "batch \(batch): \(coverage.serviceResults) service results committed")
        let unreachable: Set<DenialReason> = [.selectionTooLarge]  // needs over 10,000 records
        let missedDenials = Set(DenialReason.allCases).subtracting(unreachable).subtracting(coverage.denials)
        #expect(missedDenials.isEmpty, "batch \(batch) never denied for: \(missedDenials)")
        let expectedRejections: [TransactionRejection] = [
            .expired, .fromTheFuture, .alreadyCommitted, .duplicateInBlock, .unknownOrganisation(Cast.unknownOrganisation),
            .notOrganisationAdmin, .alreadyEnrolled, .notCustodianNode, .recordAlreadyRegistered, .authorNotPermitted,
            .grantNotFound, .notGrantingPatient, .grantAlreadyRevoked, .notValidatorNode, .serviceAccessNotFound,
            .notAccessCustodianNode, .serviceAccessExpired, .serviceResultAlreadyCommitted,
        ]
        let missedRejections = Set(expectedRejections.map { "\($0)" }).subtracting(coverage.rejections)
        #expect(missedRejections.isEmpty, "batch \(batch) never rejected for: \(missedRejections)")
    }
}
