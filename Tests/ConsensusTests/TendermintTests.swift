import Consensus
import Ledger
import Testing
import TestSupport

/// Each upon-rule of Algorithm 1 (Buchman, Kwon, Milosevic 2018), driven through `Tendermint.handle` with
/// real signed messages from four equal validators (f = 1: f + 1 = 2 validators, 2f + 1 = 3). Validator 0
/// is the machine under test unless a test needs it to propose; at height 1 validator (1 + round) mod 4
/// proposes.
@Suite struct TendermintTests {
    // MARK: Starting heights and rounds (lines 10-21)

    @Test func aNonProposerStartsTheRoundWithAProposeTimeoutOnly() {
        let fixture = ConsensusFixture()
        let (machine, actions) = fixture.machine(own: 0)
        #expect(actions == [.scheduleTimeout(Timeout(height: 1, round: 0, step: .propose), delayMs: 1_000)])
        #expect(machine.height == 1 && machine.round == 0 && machine.step == .propose)
    }

    @Test func theProposerAsksForABlockAfterThePreviousBlockTimeThenProposesIt() {
        var fixture = ConsensusFixture()
        var (machine, actions) = fixture.machine(own: 1)
        #expect(actions.first == .buildBlock(height: 1, round: 0, minimumTimeMs: fixture.genesis.genesisTimeMs + 1))
        let block = fixture.block(proposer: 1)
        actions = machine.handle(.blockBuilt(height: 1, round: 0, block: block))
        #expect(actions == [.signProposal(Proposal(chainID: fixture.genesis.chainID, height: 1, round: 0, validRound: nil,
                                                   blockHash: block.header.hash), block: block)])
        // A block built for a round that has passed is not proposed.
        #expect(machine.handle(.blockBuilt(height: 1, round: 0, block: block)).isEmpty)
    }

    @Test func timeoutsGrowByTheDeltaEachRound() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        for round: UInt32 in 0..<3 { machine = advanceToNextRound(machine, fixture: fixture, round: round) }
        #expect(machine.round == 3)
        let actions = machine.handle(.timeout(Timeout(height: 1, round: 3, step: .propose)))
        #expect(actions.votes.map(\.blockHash) == [nil])
        // Round 3: propose 1000 + 3 * 500, votes 500 + 3 * 500.
        var atRound3 = machine
        let prevotes = (1...3).map { fixture.vote(.prevote, round: 3, for: nil, by: $0) }
        let scheduled = prevotes.flatMap { atRound3.handle(.vote($0)) }.timeouts
        #expect(scheduled.map(\.1).contains(2_000))
    }

    /// Drives `machine` through round `round` with nil votes from the others until the precommit timeout
    /// moves it to the next round.
    private func advanceToNextRound(_ start: Tendermint, fixture: ConsensusFixture, round: UInt32) -> Tendermint {
        var machine = start
        var delays: [UInt64] = []
        for index in 1...3 {
            delays += machine.handle(.vote(fixture.vote(.precommit, round: round, for: nil, by: index))).timeouts.map(\.1)
        }
        #expect(delays == [500 + 500 * UInt64(round)], "precommit timeout of round \(round)")
        let next = machine.handle(.timeout(Timeout(height: 1, round: round, step: .precommit)))
        #expect(next.timeouts.map(\.1) == [1_000 + 500 * UInt64(round + 1)], "propose timeout of round \(round + 1)")
        return machine
    }

    // MARK: Proposals (lines 22-33)

    @Test func aValidTimelyProposalIsPrevoted() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        let actions = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        #expect(actions.votes == [Vote(chainID: fixture.genesis.chainID, type: .prevote, height: 1, round: 0, blockHash: block.header.hash)])
        #expect(machine.step == .prevote)
    }

    @Test(arguments: [ProposalCheck(isValid: false, isTimely: true), ProposalCheck(isValid: true, isTimely: false)])
    func anInvalidOrUntimelyFreshProposalGetsANilPrevote(check: ProposalCheck) {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let actions = machine.handle(.proposal(fixture.signedProposal(fixture.block(proposer: 1), round: 0), check: check))
        #expect(actions.votes.map(\.blockHash) == [nil])
        #expect(machine.step == .prevote)
    }

    @Test func aProposalFromAnotherValidatorThanTheRoundsProposerIsIgnored() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 2)
        #expect(machine.handle(.proposal(fixture.signedProposal(block, round: 0, by: 2), check: .accepted)).isEmpty)
        #expect(machine.step == .propose)
    }

    @Test func anUncheckedProposalOfTheCurrentHeightIsSentBackForChecking() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let signed = fixture.signedProposal(fixture.block(proposer: 1), round: 0)
        #expect(machine.handle(.proposal(signed, check: nil)) == [.checkProposal(signed)])
        #expect(machine.step == .propose)
    }

    @Test func theProposeTimeoutPrevotesNilAndAStaleTimeoutDoesNothing() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        #expect(machine.handle(.timeout(Timeout(height: 1, round: 1, step: .propose))).isEmpty)
        #expect(machine.handle(.timeout(Timeout(height: 2, round: 0, step: .propose))).isEmpty)
        let actions = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        #expect(actions.votes.map(\.blockHash) == [nil] && actions.votes.first?.type == .prevote)
        #expect(machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose))).isEmpty, "fires only in the propose step")
    }

    // MARK: Prevotes (lines 34-46)

    @Test func anyQuorumOfPrevotesSchedulesThePrevoteTimeoutOnlyTheFirstTime() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        var blocks = fixture
        let mixed = [fixture.vote(.prevote, round: 0, for: nil, by: 1), fixture.vote(.prevote, round: 0, for: blocks.block(proposer: 1), by: 2)]
        var actions = mixed.flatMap { machine.handle(.vote($0)) }
        #expect(actions.timeouts.isEmpty, "two of four is not a quorum")
        actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: blocks.block(proposer: 1, advanceMs: 7), by: 3)))
        #expect(actions.timeouts.map(\.0) == [Timeout(height: 1, round: 0, step: .prevote)])
        #expect(actions.votes.isEmpty, "no value has a quorum")
        actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 0)))
        #expect(actions.timeouts.isEmpty, "not a second time")
        #expect(actions.votes.isEmpty, "two nil prevotes of four are not a nil polka")
        actions = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .prevote)))
        #expect(actions.votes == [Vote(chainID: fixture.genesis.chainID, type: .precommit, height: 1, round: 0, blockHash: nil)])
        #expect(machine.step == .precommit)
    }

    @Test func aPolkaForTheProposalLocksAndPrecommitsIt() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: index))) }
        #expect(actions.votes == [Vote(chainID: fixture.genesis.chainID, type: .precommit, height: 1, round: 0, blockHash: block.header.hash)])
        #expect(machine.lockedValue == block && machine.lockedRound == 0)
        #expect(machine.validValue == block && machine.validRound == 0)
        #expect(machine.step == .precommit)
        #expect(machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 0))).votes.isEmpty, "only the first time")
    }

    @Test func aPolkaInPrecommitStepSetsTheValidValueWithoutLocking() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))  // prevote nil
        // 2f+1 prevotes of mixed value: the prevote timeout, then precommit nil.
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 1)))
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 2)))
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 0)))
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .prevote)))
        #expect(machine.step == .precommit)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        let actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 3)))
        #expect(actions.votes.isEmpty)
        #expect(machine.validValue == block && machine.validRound == 0)
        #expect(machine.lockedValue == nil && machine.lockedRound == nil)
    }

    @Test func aPolkaForAnInvalidBlockIsNotLocked() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: ProposalCheck(isValid: false, isTimely: true)))
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: index))) }
        #expect(actions.votes.isEmpty)
        #expect(machine.lockedValue == nil && machine.validValue == nil)
    }

    @Test func aNilPolkaPrecommitsNil() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: index))) }
        #expect(actions.votes == [Vote(chainID: fixture.genesis.chainID, type: .precommit, height: 1, round: 0, blockHash: nil)])
        #expect(machine.step == .precommit)
    }

    // MARK: Precommits (lines 47-54)

    @Test func anyQuorumOfPrecommitsSchedulesThePrecommitTimeoutInAnyStep() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: index))) }
        #expect(actions.timeouts.map(\.0) == [Timeout(height: 1, round: 0, step: .precommit)])
        #expect(machine.step == .propose)
        #expect(machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: 0))).isEmpty, "only the first time")
        actions = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .precommit)))
        #expect(machine.round == 1 && machine.step == .propose)
        #expect(actions.timeouts.map(\.0) == [Timeout(height: 1, round: 1, step: .propose)])
    }

    @Test func aProposalWithAQuorumOfPrecommitsIsCommittedWithACertificateTheVerifierAccepts() throws {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        var actions = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in [3, 1, 2] { actions += machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: index))) }
        let commits = actions.commits
        try #require(commits.count == 1)
        #expect(commits[0].block == block)
        #expect(commits[0].certificate.signatures.map(\.validatorIndex) == [1, 2, 3])
        #expect(machine.decision == block)
        var verifier = ChainVerifier(genesis: fixture.genesis, state: MemoryLedgerState(transactionMaxAgeMs: fixture.genesis.consensus.transactionMaxAgeMs))
        #expect(verifier.verifySequentially(commits) == nil)
        // Decided: nothing more happens at this height.
        #expect(machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: 0))).isEmpty)
        #expect(machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose))).isEmpty)
    }

    @Test func aDecisionInALaterRoundCommitsWithoutEnteringIt() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 3)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 2), check: ProposalCheck(isValid: true, isTimely: false)))
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.precommit, round: 2, for: block, by: index))) }
        #expect(actions.commits.map(\.certificate.round) == [2])
        #expect(actions.commits.first?.block == block, "timeliness does not matter for a decision")
    }

    @Test func precommitsWithoutTheProposalDoNotCommit() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        var actions: [ConsensusAction] = []
        for index in 1...3 { actions += machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: index))) }
        #expect(actions.commits.isEmpty)
        actions = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: ProposalCheck(isValid: false, isTimely: true)))
        #expect(actions.commits.isEmpty, "an invalid block is never decided")
    }

    // MARK: Locking, unlocking and valid values

    @Test func aLockedValidatorPrevotesNilForAFreshProposalOfAnotherBlock() {
        var fixture = ConsensusFixture()
        var machine = lockedInRound0(&fixture)
        let other = fixture.block(proposer: 2, advanceMs: 2_000)
        let actions = machine.handle(.proposal(fixture.signedProposal(other, round: 1), check: .accepted))
        #expect(actions.votes.map(\.blockHash) == [nil])
    }

    @Test func aLockedValidatorPrevotesItsLockedBlockWhenProposedAgain() {
        var fixture = ConsensusFixture()
        var machine = lockedInRound0(&fixture)
        let locked = machine.lockedValue!
        let actions = machine.handle(.proposal(fixture.signedProposal(locked, round: 1), check: .accepted))
        #expect(actions.votes.map(\.blockHash) == [locked.header.hash])
    }

    @Test func aPolkaInALaterRoundUnlocks() {
        var fixture = ConsensusFixture()
        var machine = lockedInRound0(&fixture)
        let other = fixture.block(proposer: 2, advanceMs: 2_000)
        // Round 1: others see a polka for `other`; this validator missed the proposal and prevotes nil.
        _ = machine.handle(.timeout(Timeout(height: 1, round: 1, step: .propose)))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.prevote, round: 1, for: other, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 1, step: .prevote)))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 1, for: nil, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 1, step: .precommit)))
        #expect(machine.round == 2 && machine.lockedRound == 0)
        // Round 2: `other` re-proposed with valid round 1; locked round 0 <= 1, so the lock gives way.
        let actions = machine.handle(.proposal(fixture.signedProposal(other, round: 2, validRound: 1), check: .accepted))
        #expect(actions.votes.map(\.blockHash) == [other.header.hash])
    }

    @Test func aPolkaOlderThanTheLockDoesNotUnlock() {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let other = fixture.block(proposer: 2, advanceMs: 2_000)
        var (machine, _) = fixture.machine(own: 0)
        // Round 0: a polka for `other` is seen only after precommitting nil; round 1: locked on `block`.
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: other, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .prevote)))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .precommit)))
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 1), check: .accepted))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.prevote, round: 1, for: block, by: index))) }
        #expect(machine.lockedRound == 1)
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 1, for: nil, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 1, step: .precommit)))
        // Round 2: `other` with valid round 0 < locked round 1: prevote nil.
        let actions = machine.handle(.proposal(fixture.signedProposal(other, round: 2, validRound: 0), check: .accepted))
        #expect(actions.votes.map(\.blockHash) == [nil])
    }

    @Test func aReproposalWaitsForThePolkaOfItsValidRound() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let other = fixture.block(proposer: 1)
        for round: UInt32 in 0..<2 {
            _ = machine.handle(.timeout(Timeout(height: 1, round: round, step: .propose)))
            for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: round, for: nil, by: index))) }
            _ = machine.handle(.timeout(Timeout(height: 1, round: round, step: .precommit)))
        }
        let untimely = ProposalCheck(isValid: true, isTimely: false)
        var actions = machine.handle(.proposal(fixture.signedProposal(other, round: 2, validRound: 0), check: untimely))
        #expect(actions.votes.isEmpty, "no polka known for round 0 yet")
        for index in 1...2 { actions += machine.handle(.vote(fixture.vote(.prevote, round: 0, for: other, by: index))) }
        #expect(actions.votes.isEmpty)
        actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: other, by: 3)))
        #expect(actions.votes.map(\.blockHash) == [other.header.hash], "timeliness is not asked of a re-proposal")
    }

    @Test func theProposerReproposesItsValidValueWithItsValidRound() {
        var fixture = ConsensusFixture()
        // Validator 2 proposes round 1 at height 1.
        var (machine, _) = fixture.machine(own: 2)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in [0, 1, 3] { _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: index))) }
        #expect(machine.validValue == block)
        for index in [0, 1, 3] { _ = machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: index))) }
        let actions = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .precommit)))
        #expect(actions.proposals == [Proposal(chainID: fixture.genesis.chainID, height: 1, round: 1, validRound: 0, blockHash: block.header.hash)])
        #expect(!actions.contains { if case .buildBlock = $0 { return true } else { return false } })
    }

    /// Validator 0 locked on a block in round 0 (and precommitted it), round 0 ended without a decision.
    private func lockedInRound0(_ fixture: inout ConsensusFixture) -> Tendermint {
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: index))) }
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: index))) }
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .precommit)))
        #expect(machine.round == 1 && machine.lockedRound == 0 && machine.lockedValue == block)
        return machine
    }

    // MARK: Round skip (lines 55-56)

    @Test func messagesFromMoreThanAThirdInALaterRoundSkipToIt() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        var actions = machine.handle(.vote(fixture.vote(.prevote, round: 3, for: nil, by: 1)))
        #expect(actions.isEmpty && machine.round == 0, "one of four is not more than a third")
        actions = machine.handle(.vote(fixture.vote(.precommit, round: 3, for: nil, by: 1)))
        #expect(machine.round == 0, "the same sender counts once")
        actions = machine.handle(.vote(fixture.vote(.precommit, round: 3, for: nil, by: 2)))
        #expect(machine.round == 3 && machine.step == .propose)
        #expect(actions.timeouts.map(\.0) == [Timeout(height: 1, round: 3, step: .propose)])
    }

    @Test func aProposalCountsAsAMessageOfItsRoundForTheSkip() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 3)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 2), check: .accepted))
        #expect(machine.round == 0)
        let actions = machine.handle(.vote(fixture.vote(.prevote, round: 2, for: block, by: 1)))
        #expect(machine.round == 2)
        #expect(actions.votes.map(\.blockHash) == [block.header.hash], "the stored proposal of the new round is prevoted at once")
    }

    @Test func roundsBeyondTheLeadBoundAreIgnored() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let far = ConsensusConfiguration.defaultMaxRoundLead + 1
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: far, for: nil, by: index))) }
        #expect(machine.round == 0)
        for index in 1...2 { _ = machine.handle(.vote(fixture.vote(.precommit, round: far - 1, for: nil, by: index))) }
        #expect(machine.round == far - 1)
    }

    // MARK: Weighted voting

    @Test func quorumsAreWeightedByVotingPower() throws {
        let keys = (0..<4).map { TestKeys.identity("validator-\($0)") }
        let organisation = OrganisationID("org-0")!
        let validators = (0..<4).map {
            Validator(name: "node-\($0)", organisation: organisation, key: keys[$0], address: "127.0.0.1:\(7400 + $0)", power: $0 == 0 ? 5 : 1)
        }
        let genesis = try Genesis(chainID: ChainBuilder.chainID, genesisTimeMs: ChainBuilder.genesisTimeMs,
                                  organisations: [Organisation(id: organisation, name: "Hospital", adminKey: TestKeys.identity("admin-0"))],
                                  validators: validators)
        let configuration = ConsensusConfiguration(genesis: genesis, ownIndex: 3)
        #expect(configuration.isQuorum(6) && !configuration.isQuorum(5))
        #expect(configuration.isOneThird(3) && !configuration.isOneThird(2))
        var machine = Tendermint(configuration: configuration)
        _ = machine.handle(.startHeight(height: 1, previousBlockTimeMs: genesis.genesisTimeMs))
        func vote(_ index: Int, round: UInt32) -> SignedVote {
            let vote = Vote(chainID: genesis.chainID, type: .precommit, height: 1, round: round, blockHash: nil)
            return SignedVote(vote: vote, validatorIndex: UInt16(index), signature: TestKeys.key("validator-\(index)").signature(for: vote.canonicalBytes))
        }
        // Validator 0 alone (5 of 8) is more than a third: skip.
        _ = machine.handle(.vote(vote(0, round: 1)))
        #expect(machine.round == 1)
        // Validators 0 and 1 (6 of 8) are a quorum.
        let actions = machine.handle(.vote(vote(1, round: 1)))
        #expect(actions.timeouts.map(\.0) == [Timeout(height: 1, round: 1, step: .precommit)])
    }

    // MARK: Evidence

    @Test func conflictingVotesAreReportedOnce() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 2)))
        let actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 2)))
        let expected = Evidence.votes(fixture.vote(.prevote, round: 0, for: block, by: 2), fixture.vote(.prevote, round: 0, for: nil, by: 2))
        #expect(actions == [.reportEvidence(expected!)])
        #expect(expected!.isValid(in: fixture.genesis))
        let other = fixture.block(proposer: 1, advanceMs: 5)
        #expect(machine.handle(.vote(fixture.vote(.prevote, round: 0, for: other, by: 2))).isEmpty, "reported once per round and type")
        #expect(machine.handle(.vote(fixture.vote(.precommit, round: 0, for: other, by: 2))).isEmpty)
        #expect(machine.handle(.vote(fixture.vote(.precommit, round: 0, for: nil, by: 2))).evidence.count == 1, "precommits separately")
    }

    /// The paper counts messages: an equivocating validator's two votes both count (each toward its value),
    /// which keeps the polka others saw visible here; a third value is not kept.
    @Test func anEquivocatorsTwoVotesCountButNotAThird() {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let other = fixture.block(proposer: 1, advanceMs: 5)
        // Validator 2 prevotes `other`, then nil: with validators 1 and 3 for nil, nil has a polka.
        var (machine, _) = fixture.machine(own: 0)
        _ = machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        for vote in [fixture.vote(.prevote, round: 0, for: other, by: 2), fixture.vote(.prevote, round: 0, for: nil, by: 2),
                     fixture.vote(.prevote, round: 0, for: nil, by: 1)] {
            _ = machine.handle(.vote(vote))
        }
        #expect(machine.step == .prevote)
        let actions = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 3)))
        #expect(actions.votes == [Vote(chainID: fixture.genesis.chainID, type: .precommit, height: 1, round: 0, blockHash: nil)])
        // Validator 2 prevotes nil, then `other`, then `block`: its vote for `block` (a third value) is not counted.
        var third = fixture.machine(own: 0).0
        _ = third.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for vote in [fixture.vote(.prevote, round: 0, for: nil, by: 2), fixture.vote(.prevote, round: 0, for: other, by: 2),
                     fixture.vote(.prevote, round: 0, for: block, by: 2), fixture.vote(.prevote, round: 0, for: block, by: 1),
                     fixture.vote(.prevote, round: 0, for: block, by: 3)] {
            _ = third.handle(.vote(vote))
        }
        #expect(third.lockedValue == nil, "two of four counted for the block")
        _ = third.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: 0)))
        #expect(third.lockedValue == block)
    }

    @Test func conflictingProposalsAreReportedAndBothKept() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let first = fixture.block(proposer: 1)
        let second = fixture.block(proposer: 1, advanceMs: 1_001)
        _ = machine.handle(.proposal(fixture.signedProposal(first, round: 0), check: .accepted))
        let actions = machine.handle(.proposal(fixture.signedProposal(second, round: 0), check: .accepted))
        #expect(actions.evidence.count == 1)
        #expect(actions.evidence.first?.isValid(in: fixture.genesis) == true)
        // The second proposal is the one decided by others: it still commits.
        var commits: [CommittedBlock] = []
        for index in 1...3 { commits += machine.handle(.vote(fixture.vote(.precommit, round: 0, for: second, by: index))).commits }
        #expect(commits.map(\.block) == [second])
    }

    // MARK: Next height buffer

    @Test func messagesForTheNextHeightAreBufferedBoundedAndUsedWhenItStarts() {
        var fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: index))) }
        #expect(machine.decision == block)
        // Height 2, round 0: validator 2 proposes. Buffer its proposal and prevotes from 1, 2, 3.
        let nextBlock = Block(entries: [], height: 2, timeMs: block.header.timeMs + 1_000, previousHash: block.header.hash,
                                               proposer: fixture.genesis.validators[2].key, genesis: fixture.genesis)
        let nextProposal = fixture.signedProposal(nextBlock, round: 0)
        #expect(machine.handle(.proposal(nextProposal, check: nil)).isEmpty)
        for index in 1...3 { #expect(machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nextBlock, by: index, height: 2))).isEmpty) }
        // Validator 3 floods more messages for height 2 than the bound; height 3 is ignored altogether.
        for round: UInt32 in 1...6 { _ = machine.handle(.vote(fixture.vote(.prevote, round: round, for: nil, by: 3, height: 2))) }
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 1, height: 3)))
        let carried = machine.carriedInputs(into: 2)
        #expect(carried.count == 1 + 3 + (ConsensusConfiguration.defaultNextHeightMessagesPerValidator - 1))
        #expect(machine.carriedInputs(into: 3).isEmpty)

        let actions = machine.handle(.startHeight(height: 2, previousBlockTimeMs: block.header.timeMs))
        #expect(actions.checks == [nextProposal])
        #expect(machine.height == 2 && machine.step == .propose)
        // Checked, the proposal gets this validator's prevote; with the buffered prevotes there is a polka.
        let afterCheck = machine.handle(.proposal(nextProposal, check: .accepted))
        #expect(afterCheck.votes.map(\.type) == [.prevote, .precommit])
        #expect(machine.lockedValue == nextBlock)
    }

    @Test func aStaleOrRepeatedStartHeightIsIgnored() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        let before = machine
        #expect(machine.handle(.startHeight(height: 1, previousBlockTimeMs: 5)).isEmpty)
        #expect(machine == before)
    }

    // MARK: Own votes and followers

    @Test func anOwnVoteSignedBeforeACrashMovesTheStepForward() {
        let fixture = ConsensusFixture()
        var (machine, _) = fixture.machine(own: 0)
        _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: nil, by: 0)))
        #expect(machine.step == .prevote)
        #expect(machine.handle(.timeout(Timeout(height: 1, round: 0, step: .propose))).votes.isEmpty,
                "the propose timeout must not sign a second prevote")
    }

    @Test func aFollowerDecidesButNeverSigns() {
        var fixture = ConsensusFixture()
        let started = fixture.machine(own: nil)
        var machine = started.0
        let block = fixture.block(proposer: 1)
        var actions = started.1 + machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in 0...3 { actions += machine.handle(.vote(fixture.vote(.prevote, round: 0, for: block, by: index))) }
        for index in 0...2 { actions += machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: index))) }
        #expect(actions.votes.isEmpty && actions.proposals.isEmpty)
        #expect(actions.commits.map(\.block) == [block])
    }
}
