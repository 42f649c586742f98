import Consensus
import Ledger
import Testing
import TestSupport

/// The checks every validator runs before prevoting: against a real consent state, real signatures, and a
/// clock passed in.
@Suite struct ProposalValidationTests {
    let emptyState = MemoryLedgerState(transactionMaxAgeMs: ConsensusParameters().transactionMaxAgeMs)

    func check(_ signed: SignedProposal, _ fixture: ConsensusFixture, nowMs: UInt64? = nil) -> (ProposalCheck, ProposalRejection?) {
        let result = ProposalValidation.check(signed, genesis: fixture.genesis, head: ChainHead(genesis: fixture.genesis), state: emptyState,
                                              nowMs: nowMs ?? signed.block.header.timeMs)
        return (result.check, result.rejection)
    }

    @Test func aWellFormedBlockIsValidAndTimely() {
        var fixture = ConsensusFixture()
        let (result, rejection) = check(fixture.signedProposal(fixture.block(proposer: 1), round: 0), fixture)
        #expect(result == .accepted && rejection == nil)
    }

    @Test func checkingAValidBlockGivesTheChangesToCommitAndAnInvalidOneNone() throws {
        var fixture = ConsensusFixture()
        let good = fixture.signedProposal(fixture.block(proposer: 1), round: 0)
        let head = ChainHead(genesis: fixture.genesis)
        let valid = ProposalValidation.checkExecuting(good, genesis: fixture.genesis, head: head, state: emptyState, nowMs: good.block.header.timeMs)
        #expect(valid.check == .accepted && valid.rejection == nil)
        #expect(valid.changes == (try BlockExecutor(genesis: fixture.genesis).execute(good.block, state: emptyState)))
        var header = good.block.header
        header.entriesRoot = .zero
        let bad = fixture.signedProposal(Block(header: header, entries: good.block.entries), round: 0)
        let invalid = ProposalValidation.checkExecuting(bad, genesis: fixture.genesis, head: head, state: emptyState, nowMs: header.timeMs)
        #expect(invalid.rejection == .entriesRootMismatch && invalid.changes == nil)
    }

    @Test func timelinessIsTheDriftBoundEitherWay() {
        var fixture = ConsensusFixture()
        let signed = fixture.signedProposal(fixture.block(proposer: 1), round: 0)
        let time = signed.block.header.timeMs
        let drift = fixture.genesis.consensus.blockTimeMaxDriftMs
        #expect(check(signed, fixture, nowMs: time + drift).0 == .accepted)
        #expect(check(signed, fixture, nowMs: time - drift).0 == .accepted)
        #expect(check(signed, fixture, nowMs: time + drift + 1).0 == ProposalCheck(isValid: true, isTimely: false))
        #expect(check(signed, fixture, nowMs: time - drift - 1).0 == ProposalCheck(isValid: true, isTimely: false))
        #expect(ProposalValidation.isTimely(UInt64.max, nowMs: 0, genesis: fixture.genesis) == false)
    }

    @Test func headerFaultsAreRejected() {
        var fixture = ConsensusFixture()
        let good = fixture.block(proposer: 1)
        func rebuilt(_ change: (inout BlockHeader) -> Void) -> Block {
            var header = good.header
            change(&header)
            return Block(header: header, entries: good.entries)
        }
        let genesis = fixture.genesis
        let cases: [(Block, ProposalRejection)] = [
            (rebuilt { $0.height = 2 }, .wrongHeight(2)),
            (rebuilt { $0.previousHash = .zero }, .previousHashMismatch),
            (rebuilt { $0.timeMs = genesis.genesisTimeMs }, .timeNotIncreasing),
            (rebuilt { $0.validatorSetHash = .zero }, .validatorSetMismatch),
            (rebuilt { $0.stateRoot = genesis.hash }, .unexpectedStateRoot),
            (rebuilt { $0.proposer = genesis.validators[2].key }, .proposerKeyMismatch),
            (rebuilt { $0.entryCount = 2 }, .entryCountMismatch),
            (rebuilt { $0.entriesRoot = .zero }, .entriesRootMismatch),
        ]
        for (block, expected) in cases {
            #expect(check(fixture.signedProposal(block, round: 0), fixture).1 == expected)
        }
        #expect(check(fixture.signedProposal(good, round: 0, by: 2), fixture).1 == .wrongProposer(validatorIndex: 2))
    }

    @Test func aReproposedBlockKeepsItsFirstProposerInTheHeader() {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        #expect(check(fixture.signedProposal(block, round: 2, validRound: 1), fixture).1 == nil)
        #expect(check(fixture.signedProposal(block, round: 2), fixture).1 == .proposerKeyMismatch)
    }

    @Test func aForgedTransactionSignatureIsRejectedUnlessAlreadyVerified() throws {
        var fixture = ConsensusFixture()
        let honest = fixture.block(proposer: 1).entries[0].transaction
        var bytes = honest.canonicalBytes
        bytes[bytes.count - 1] ^= 1
        let forged = try SignedTransaction(canonicalBytes: bytes)
        let block = fixture.block(proposer: 1, transactions: [forged])
        let signed = fixture.signedProposal(block, round: 0)
        #expect(check(signed, fixture).1 == .badTransactionSignature(entryIndex: 0))
        let trusting = ProposalValidation.check(signed, genesis: fixture.genesis, head: ChainHead(genesis: fixture.genesis), state: emptyState,
                                                nowMs: block.header.timeMs, isVerifiedTransaction: { $0 == forged.id })
        #expect(trusting.rejection == nil, "a transaction verified at admission is not verified again")
    }

    @Test func theLedgerRulesAreReappliedIncludingAccessOutcomes() {
        var fixture = ConsensusFixture()
        let timeMs = fixture.genesis.genesisTimeMs + 1_000
        // A revocation of a grant that does not exist: the executor would leave it out, a forger includes it.
        let revoke = fixture.builder.sign(.revokeConsent(RevokeConsent(grant: TransactionID(digest: .zero))), by: TestKeys.key("patient-1"),
                                          createdAtMs: timeMs)
        let entries = [BlockEntry(transaction: revoke, outcome: nil)]
        let block = Block(entries: entries, height: 1, timeMs: timeMs, previousHash: fixture.genesis.hash,
                                           proposer: fixture.genesis.validators[1].key, genesis: fixture.genesis)
        #expect(check(fixture.signedProposal(block, round: 0), fixture).1 == .invalidBlock(.invalidEntry(index: 0, .grantNotFound)))
        // An access recorded as allowed although no grant exists.
        let patient = TestKeys.identity("patient-2")
        let access = fixture.builder.sign(.recordAccess(RecordAccess(custodian: ChainBuilder.organisation(0), patient: patient, action: .read,
                                                                     selector: .all)),
                                          by: TestKeys.key("practitioner-0"), createdAtMs: timeMs)
        let forgedOutcome = [BlockEntry(transaction: access, outcome: .allowed(grant: nil, records: []))]
        let forgedBlock = Block(entries: forgedOutcome, height: 1, timeMs: timeMs, previousHash: fixture.genesis.hash,
                                                 proposer: fixture.genesis.validators[1].key, genesis: fixture.genesis)
        let rejection = check(fixture.signedProposal(forgedBlock, round: 0), fixture).1
        #expect(rejection == .invalidBlock(.outcomeMismatch(index: 0, recorded: .allowed(grant: nil, records: []),
                                                            derived: .denied(.noMatchingGrant))))
    }
}
