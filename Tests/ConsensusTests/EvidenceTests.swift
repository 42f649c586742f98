import Consensus
import Ledger
import Testing
import TestSupport

/// Evidence is made only from a real conflict, is the same bytes whichever statement came first, verifies
/// offline with the genesis alone, and its decoder refuses anything else.
@Suite struct EvidenceTests {
    @Test func conflictingVotesMakeCanonicalValidEvidence() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let forBlock = fixture.vote(.prevote, round: 2, for: block, by: 3)
        let forNil = fixture.vote(.prevote, round: 2, for: nil, by: 3)
        let evidence = try #require(Evidence.votes(forBlock, forNil))
        #expect(Evidence.votes(forNil, forBlock) == evidence)
        #expect(evidence.validatorIndex == 3 && evidence.height == 1)
        #expect(evidence.isValid(in: fixture.genesis))
        #expect(try Evidence(canonicalBytes: evidence.canonicalBytes) == evidence)
    }

    @Test func votesThatDoNotConflictAreNoEvidence() {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let vote = fixture.vote(.prevote, round: 0, for: block, by: 1)
        #expect(Evidence.votes(vote, vote) == nil, "the same vote twice")
        #expect(Evidence.votes(vote, fixture.vote(.prevote, round: 0, for: nil, by: 2)) == nil, "different voters")
        #expect(Evidence.votes(vote, fixture.vote(.precommit, round: 0, for: nil, by: 1)) == nil, "different types")
        #expect(Evidence.votes(vote, fixture.vote(.prevote, round: 1, for: nil, by: 1)) == nil, "different rounds")
        #expect(Evidence.votes(vote, fixture.vote(.prevote, round: 0, for: nil, by: 1, height: 2)) == nil, "different heights")
    }

    @Test func evidenceWithAForgedSignatureIsInvalid() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let honest = fixture.vote(.precommit, round: 0, for: block, by: 2)
        // Validator 1 signs a vote claiming to be validator 2's.
        let forgedVote = Vote(chainID: fixture.genesis.chainID, type: .precommit, height: 1, round: 0, blockHash: nil)
        let forged = SignedVote(vote: forgedVote, validatorIndex: 2, signature: fixture.builder.validatorKey(1).signature(for: forgedVote.canonicalBytes))
        let evidence = try #require(Evidence.votes(honest, forged))
        #expect(!evidence.isValid(in: fixture.genesis))
    }

    @Test func conflictingProposalsMakeEvidenceWithoutTheBlocks() throws {
        var fixture = ConsensusFixture()
        let first = fixture.signedProposal(fixture.block(proposer: 1), round: 0)
        let second = fixture.signedProposal(fixture.block(proposer: 1, advanceMs: 1_500), round: 0)
        let evidence = try #require(Evidence.proposals(ProposalStatement(second), ProposalStatement(first)))
        #expect(Evidence.proposals(ProposalStatement(first), ProposalStatement(second)) == evidence)
        #expect(evidence.isValid(in: fixture.genesis))
        #expect(evidence.canonicalBytes.count < 400, "no block inside")
        #expect(try Evidence(canonicalBytes: evidence.canonicalBytes) == evidence)
        #expect(Evidence.proposals(ProposalStatement(first), ProposalStatement(first)) == nil)
    }

    @Test func theDecoderRefusesStatementsOutOfOrderOrNotConflicting() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let a = fixture.vote(.prevote, round: 0, for: block, by: 1)
        let b = fixture.vote(.prevote, round: 0, for: nil, by: 1)
        guard case let .conflictingVotes(low, high) = try #require(Evidence.votes(a, b)) else { Issue.record("vote evidence expected"); return }
        for pair in [(high, low), (low, low)] {
            var encoder = CanonicalEncoder()
            encoder.string(Evidence.domainTag)
            encoder.u8(Evidence.version)
            encoder.u8(1)
            pair.0.encode(to: &encoder)
            pair.1.encode(to: &encoder)
            #expect(throws: DecodingError.self) { try Evidence(canonicalBytes: encoder.bytes) }
        }
        let bytes = Evidence.votes(a, b)!.canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self) { try Evidence(canonicalBytes: Array(bytes.prefix(length))) }
        }
    }
}
