import Crypto
import Ledger
import TestSupport
import Testing

// The rules of a `ServiceResult` (FORMAT.md 8.3, 8.4) through real blocks: `ChainBuilder` runs the real
// `BlockExecutor` over a `MemoryLedgerState`. Each test commits what it needs, then tries a result and reads
// what the block did with it: committed, or left out with which rejection.

/// Two hospitals (org-0, org-1); Alice has an Observation at org-0; Dr One works at org-0 and holds
/// Alice's diagnose + plan + read grant.
private struct Ward {
    var chain: ChainBuilder
    let alice = TestKeys.key("alice")
    let drOne = TestKeys.key("dr-one")
    let stranger = TestKeys.key("stranger")
    private(set) var observation: RecordID!
    private(set) var grant: GrantID!

    init(consensus: ConsensusParameters = ConsensusParameters()) {
        chain = ChainBuilder(seed: 77, organisationCount: 2, consensus: consensus)
        let enrol = chain.sign(.enrollPractitioner(EnrollPractitioner(organisation: ChainBuilder.organisation(0), practitioner: drOne.id,
                                                                      role: PractitionerRole("physician")!)), by: chain.adminKey(0))
        observation = chain.newRecordID()
        let register = chain.sign(.registerRecord(RegisterRecord(
            record: observation, patient: alice.id, custodian: ChainBuilder.organisation(0), type: RecordType("Observation")!,
            commitment: SHA256.hash(observation.bytes), author: alice.id)), by: chain.validatorKey(0))
        let grantTransaction = chain.sign(.grantConsent(GrantConsent(grantee: .practitioner(drOne.id),
                                                                     actions: AccessActions([.read, .diagnose, .plan]))), by: alice)
        grant = grantTransaction.id
        commitAll([enrol, register, grantTransaction])
    }

    /// Commits a block that must accept every transaction; returns its entries and changes.
    @discardableResult
    mutating func commitAll(_ transactions: [SignedTransaction], advanceMs: UInt64 = 1_000) -> (entries: [BlockEntry], changes: StateChanges) {
        let (committed, changes, rejected) = chain.commit(transactions, advanceMs: advanceMs)
        #expect(rejected.isEmpty, "unexpected rejections: \(rejected.map(\.1))")
        return (committed.block.entries, changes)
    }

    /// A signed request by `requester` for Alice's records at org-0.
    mutating func request(_ action: AccessAction, by requester: Ed25519.PrivateKey? = nil) -> SignedTransaction {
        chain.sign(.recordAccess(RecordAccess(custodian: ChainBuilder.organisation(0), patient: alice.id, action: action, selector: .all)),
                   by: requester ?? drOne)
    }

    /// Commits a request alone in a block; returns its id and recorded outcome.
    mutating func commitRequest(_ action: AccessAction, by requester: Ed25519.PrivateKey? = nil) -> (id: TransactionID, outcome: AccessOutcome?) {
        let signed = request(action, by: requester)
        return (signed.id, commitAll([signed]).entries.first?.outcome)
    }

    /// Commits `result` alone in a block `advanceMs` after the last; returns the rejection, or nil when the
    /// block committed it.
    mutating func tryCommit(_ result: SignedTransaction, advanceMs: UInt64 = 1_000) -> TransactionRejection? {
        let (committed, _, rejected) = chain.commit([result], advanceMs: advanceMs)
        if committed.block.entries.contains(where: { $0.transaction.id == result.id }) { return nil }
        return rejected.first { $0.0.id == result.id }?.1
    }

    /// A result for `access` signed by `key` (by default the node of org-0, the custodian), created at the
    /// last block's time unless told otherwise.
    mutating func result(for access: TransactionID, by key: Ed25519.PrivateKey? = nil, createdAtMs: UInt64? = nil) -> SignedTransaction {
        let body = ServiceResult(access: access, model: ChainBuilder.testModel, inputHash: SHA256.hash(chain.random.bytes(8)),
                                 outputHash: SHA256.hash(chain.random.bytes(8)))
        return chain.sign(.serviceResult(body), by: key ?? chain.validatorKey(0), createdAtMs: createdAtMs)
    }
}

private extension Ed25519.PrivateKey {
    var id: Identity { Identity(publicKey: publicKey) }
}

@Suite("Service results")
struct ServiceResultTests {
    @Test("an allowed diagnose access gets its result in a later block, signed by its custodian's node")
    func acceptedResultAnswersTheAccess() throws {
        var ward = Ward()
        let access = ward.commitRequest(.diagnose)
        #expect(access.outcome == .allowed(grant: ward.grant, records: [ward.observation]))
        let accessTimeMs = ward.chain.timeMs
        let stored = try #require(ward.chain.state.serviceAccess(access.id))
        #expect(stored == ServiceAccess(id: access.id, custodian: ChainBuilder.organisation(0), patient: ward.alice.id, action: .diagnose,
                                        height: ward.chain.height, blockTimeMs: accessTimeMs))

        let result = ward.result(for: access.id)
        let (entries, changes) = ward.commitAll([result])
        #expect(entries.count == 1 && entries[0].outcome == nil, "a result carries no outcome")
        guard case let .serviceResult(body) = result.transaction.body else { return }
        #expect(changes.serviceResults == [ServiceResultEntry(id: result.id, access: access.id, model: body.model, inputHash: body.inputHash,
                                                              outputHash: body.outputHash, height: ward.chain.height)])
        #expect(ward.chain.state.serviceAccess(access.id)?.resultID == result.id)
    }

    @Test("plan accesses and a patient's own diagnose access are answerable too; read accesses are not")
    func whichAccessesBecomeServiceAccesses() {
        var ward = Ward()
        let plan = ward.commitRequest(.plan)
        let own = ward.commitRequest(.diagnose, by: ward.alice)
        let read = ward.commitRequest(.read)
        #expect(own.outcome == .allowed(grant: nil, records: [ward.observation]))
        #expect(read.outcome?.isAllowed == true)
        #expect(ward.chain.state.serviceAccess(plan.id)?.action == .plan)
        #expect(ward.chain.state.serviceAccess(own.id)?.action == .diagnose)
        #expect(ward.chain.state.serviceAccess(read.id) == nil)
        #expect(ward.tryCommit(ward.result(for: plan.id)) == nil)
        #expect(ward.tryCommit(ward.result(for: own.id)) == nil)
        #expect(ward.tryCommit(ward.result(for: read.id)) == .serviceAccessNotFound)
    }

    @Test("a result signed by anyone but a validator is refused")
    func signerMustBeAValidator() {
        var ward = Ward()
        let access = ward.commitRequest(.diagnose)
        for key in [ward.chain.adminKey(0), ward.drOne, ward.alice, ward.stranger] {
            #expect(ward.tryCommit(ward.result(for: access.id, by: key)) == .notValidatorNode)
        }
        #expect(ward.tryCommit(ward.result(for: access.id)) == nil, "the refusals left the access answerable")
    }

    @Test("a validator of another organisation may not answer the custodian's access")
    func signerMustBeANodeOfTheCustodian() {
        var ward = Ward()
        let access = ward.commitRequest(.diagnose)
        #expect(ward.tryCommit(ward.result(for: access.id, by: ward.chain.validatorKey(1))) == .notAccessCustodianNode)
    }

    @Test("a result must name an allowed diagnose or plan access")
    func accessMustBeAnAllowedServiceAccess() {
        var ward = Ward()
        let denied = ward.commitRequest(.diagnose, by: ward.stranger)
        #expect(denied.outcome == .denied(.noMatchingGrant))
        #expect(ward.tryCommit(ward.result(for: denied.id)) == .serviceAccessNotFound)
        #expect(ward.tryCommit(ward.result(for: ward.grant)) == .serviceAccessNotFound, "a grant is no access")
        #expect(ward.tryCommit(ward.result(for: TransactionID(digest: SHA256.hash(Array("no such access".utf8))))) == .serviceAccessNotFound)
    }

    @Test("a result in the same block as its access is refused, wherever it stands")
    func accessMustBeInAnEarlierBlock() {
        var ward = Ward()
        let access = ward.request(.diagnose)
        let resultAfter = ward.result(for: access.id)
        let (committed, _, rejected) = ward.chain.commit([access, resultAfter])
        #expect(committed.block.entries.map(\.transaction.id) == [access.id])
        #expect(rejected.map(\.1) == [.serviceAccessNotFound])
        #expect(committed.block.entries[0].outcome?.isAllowed == true)
        // In the next block the same access is answerable.
        #expect(ward.tryCommit(ward.result(for: access.id)) == nil)
    }

    @Test("one result per access: a second is refused in the same block and in a later one")
    func atMostOneResultPerAccess() {
        var ward = Ward()
        let access = ward.commitRequest(.diagnose)
        let first = ward.result(for: access.id)
        let second = ward.result(for: access.id)
        let (committed, _, rejected) = ward.chain.commit([first, second])
        #expect(committed.block.entries.map(\.transaction.id) == [first.id])
        #expect(rejected.map(\.1) == [.serviceResultAlreadyCommitted])
        #expect(ward.tryCommit(ward.result(for: access.id)) == .serviceResultAlreadyCommitted)
        #expect(ward.tryCommit(ward.result(for: access.id, by: ward.chain.validatorKey(1))) == .notAccessCustodianNode)
    }

    @Test("a result is accepted up to transactionMaxAgeMs after its access's block, not one ms later")
    func resultMustFollowWithinTheWindow() {
        var ward = Ward()
        let maxAgeMs = ward.chain.genesis.consensus.transactionMaxAgeMs
        let onTime = ward.commitRequest(.diagnose)
        #expect(ward.tryCommit(ward.result(for: onTime.id), advanceMs: maxAgeMs) == nil)

        let late = ward.commitRequest(.diagnose)
        let lateResult = ward.result(for: late.id, createdAtMs: ward.chain.timeMs + maxAgeMs + 1)  // fresh itself
        #expect(ward.tryCommit(lateResult, advanceMs: maxAgeMs + 1) == .serviceAccessExpired)
        // That block was past the window: the in-memory state has forgotten the access since (FORMAT.md 8.4).
        #expect(ward.chain.state.serviceAccess(late.id) == nil)
        #expect(ward.tryCommit(ward.result(for: late.id)) == .serviceAccessNotFound)
    }

    @Test("the in-memory state remembers service accesses only inside the replay window")
    func memoryStateForgetsOldServiceAccesses() {
        var ward = Ward()
        let maxAgeMs = ward.chain.genesis.consensus.transactionMaxAgeMs
        let accesses = (0..<3).map { _ in ward.commitRequest(.diagnose).id }
        #expect(ward.chain.state.rememberedServiceAccessCount == 3)
        ward.commitAll([], advanceMs: maxAgeMs - 2_000)  // the oldest is now exactly maxAge old: kept
        #expect(ward.chain.state.rememberedServiceAccessCount == 3)
        ward.commitAll([], advanceMs: 1)
        #expect(ward.chain.state.serviceAccess(accesses[0]) == nil)
        #expect(ward.chain.state.serviceAccess(accesses[1]) != nil)
        ward.commitAll([], advanceMs: 2_000)
        #expect(ward.chain.state.rememberedServiceAccessCount == 0)
    }

    @Test("a node's admission check judges the window by its clock, even one behind the access's block")
    func admissionCheckWithALaggingClock() throws {
        var ward = Ward()
        let access = ward.commitRequest(.diagnose)
        let executor = BlockExecutor(genesis: ward.chain.genesis)
        let laggingMs = ward.chain.timeMs - 5_000
        let result = ward.chain.serviceResult(answering: access.id, createdAtMs: laggingMs)
        try executor.check(result, nowMs: laggingMs, state: ward.chain.state, nextHeight: ward.chain.height + 1)
        let maxAgeMs = ward.chain.genesis.consensus.transactionMaxAgeMs
        let lateMs = ward.chain.timeMs + maxAgeMs + 1
        let late = ward.chain.serviceResult(answering: access.id, createdAtMs: lateMs)
        #expect(throws: TransactionRejection.serviceAccessExpired) {
            try executor.check(late, nowMs: lateMs, state: ward.chain.state, nextHeight: ward.chain.height + 1)
        }
    }

    @Test("service accesses follow the entries a proposal keeps when outcomes push it over the byte limit")
    func proposalByteLimitDropsServiceAccessesWithTheirEntries() {
        var consensus = ConsensusParameters()
        consensus.blockMaxBytes = 4_096
        var ward = Ward(consensus: consensus)
        // 20 requests of 200 bytes fit as transactions; their allowed outcomes (54 bytes each) do not.
        let requests = (0..<20).map { _ in ward.request(.diagnose) }
        let (committed, changes, rejected) = ward.chain.commit(requests)
        let kept = committed.block.entries.map(\.transaction.id)
        #expect(rejected.isEmpty)
        #expect(kept.count < requests.count && kept == Array(requests.prefix(kept.count).map(\.id)), "only the last ones are left out")
        #expect(committed.block.entries.allSatisfy { $0.outcome?.isAllowed == true })
        #expect(changes.serviceAccesses.map(\.id) == kept)
        #expect(requests.dropFirst(kept.count).allSatisfy { ward.chain.state.serviceAccess($0.id) == nil })
    }
}
