import Consensus
import Ledger
import Testing
import TestSupport

/// Every consensus encoding round-trips, and every decoder refuses what is not exactly one canonical value:
/// each truncated prefix, a trailing byte, a wrong tag or version, unknown kinds, and values that break a
/// rule of the message (a valid round not before its round, a block that is not the one signed, sync
/// responses out of order).
@Suite struct MessageEncodingTests {
    static func samples() -> (ConsensusFixture, SignedProposal, SignedVote, Block) {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 2, advanceMs: 3_000)
        let proposal = fixture.signedProposal(block, round: 1)
        let vote = fixture.vote(.precommit, round: 4, for: block, by: 3)
        return (fixture, proposal, vote, block)
    }

    /// Checks the round trip, and that every strict prefix and one trailing byte are refused.
    func expectStrict<Value: CanonicalEncodable & CanonicalDecodable & Equatable>(_ value: Value, _ name: String) throws {
        let bytes = value.canonicalBytes
        #expect(try Value(canonicalBytes: bytes) == value, "\(name) round trip")
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self, "\(name) prefix \(length)") { try Value(canonicalBytes: Array(bytes.prefix(length))) }
        }
        #expect(throws: DecodingError.trailingBytes(count: 1)) { try Value(canonicalBytes: bytes + [0]) }
    }

    @Test func everyMessageRoundTripsAndRefusesTruncationAndTrailingBytes() throws {
        let (fixture, proposal, vote, block) = Self.samples()
        try expectStrict(proposal.proposal, "proposal")
        try expectStrict(Proposal(chainID: fixture.genesis.chainID, height: 9, round: 3, validRound: 2, blockHash: block.header.hash), "re-proposal")
        try expectStrict(proposal, "signed proposal")
        try expectStrict(vote, "signed vote")
        try expectStrict(fixture.vote(.prevote, round: 0, for: nil, by: 0), "nil vote")
        try expectStrict(PeerMessage.proposal(proposal), "peer proposal")
        try expectStrict(PeerMessage.vote(vote), "peer vote")
        try expectStrict(PeerMessage.transaction(block.entries[0].transaction), "peer transaction")
        try expectStrict(PeerMessage.syncRequest(SyncRequest(fromHeight: 7, maxCount: 16)), "sync request")
        let chain = Self.chain(blocks: 2)
        try expectStrict(PeerMessage.syncResponse(SyncResponse(blocks: chain)), "sync response")
        try expectStrict(PeerMessage.syncResponse(SyncResponse(blocks: [])), "empty sync response")
        try expectStrict(LastSigned(height: 3, round: 2, step: .precommit, signedBytesHash: block.header.hash, signature: vote.signature), "last signed")
    }

    static func chain(blocks count: Int) -> [CommittedBlock] {
        var workload = Workload(builder: ChainBuilder(seed: 3, organisationCount: 4), patientCount: 5, practitionerCount: 2)
        var blocks = [workload.enrolPractitioners().block]
        while blocks.count < count { blocks.append(workload.nextBlock(count: 3).block) }
        return blocks
    }

    @Test func wrongTagsVersionsAndKindsAreRefused() {
        let (_, proposal, vote, _) = Self.samples()
        let proposalBytes = proposal.proposal.canonicalBytes
        var wrongVersion = proposalBytes
        wrongVersion[2 + Proposal.domainTag.utf8.count] = 2
        #expect(throws: DecodingError.unsupportedVersion(structure: "proposal", version: 2)) { try Proposal(canonicalBytes: wrongVersion) }
        // A vote's bytes are not a proposal's, and the other way round.
        #expect(throws: DecodingError.wrongDomainTag(expected: Proposal.domainTag)) { try Proposal(canonicalBytes: vote.vote.canonicalBytes) }
        #expect(throws: DecodingError.wrongDomainTag(expected: Vote.domainTag)) { try SignedVote(canonicalBytes: proposal.canonicalBytes) }
        var unknownKind = PeerMessage.vote(vote).canonicalBytes
        unknownKind[2 + PeerMessage.domainTag.utf8.count + 1] = 9
        #expect(throws: DecodingError.invalidValue(field: "peer message kind", reason: "unknown kind 9")) {
            try PeerMessage(canonicalBytes: unknownKind)
        }
        var badStep = LastSigned(height: 1, round: 0, step: .prevote, signedBytesHash: .zero, signature: vote.signature).canonicalBytes
        badStep[2 + LastSigned.domainTag.utf8.count + 1 + 8 + 4] = 4
        #expect(throws: DecodingError.invalidValue(field: "consensus step", reason: "unknown step 4")) { try LastSigned(canonicalBytes: badStep) }
    }

    @Test func aValidRoundNotBeforeTheRoundIsRefused() {
        let (fixture, _, _, block) = Self.samples()
        var encoder = CanonicalEncoder()
        encoder.string(Proposal.domainTag)
        encoder.u8(1)
        fixture.genesis.chainID.encode(to: &encoder)
        encoder.u64(1)
        encoder.u32(2)
        encoder.optional(UInt32(2)) { $0.u32($1) }
        encoder.digest(block.header.hash)
        #expect(throws: DecodingError.invalidValue(field: "valid round", reason: "must be earlier than the proposal's round")) {
            try Proposal(canonicalBytes: encoder.bytes)
        }
    }

    @Test func aProposalCarryingAnotherBlockThanTheSignedOneIsRefused() {
        var (fixture, proposal, _, _) = Self.samples()
        let other = fixture.block(proposer: 2, advanceMs: 4_000)
        var encoder = CanonicalEncoder()
        proposal.proposal.encode(to: &encoder)
        encoder.u16(proposal.validatorIndex)
        encoder.fixed(proposal.signature)
        other.encode(to: &encoder)
        #expect(throws: DecodingError.invalidValue(field: "proposed block", reason: "is not the block the proposal signs")) {
            try SignedProposal(canonicalBytes: encoder.bytes)
        }
    }

    @Test func syncMessagesOutOfBoundsOrOrderAreRefused() {
        for count in [0, SyncResponse.maxBlocks + 1] {
            var encoder = CanonicalEncoder()
            encoder.u64(1)
            encoder.u16(UInt16(count))
            #expect(throws: DecodingError.self) { try SyncRequest(canonicalBytes: encoder.bytes) }
        }
        var fromZero = CanonicalEncoder()
        fromZero.u64(0)
        fromZero.u16(1)
        #expect(throws: DecodingError.invalidValue(field: "sync from height", reason: "heights start at 1")) {
            try SyncRequest(canonicalBytes: fromZero.bytes)
        }
        let chain = Self.chain(blocks: 3)
        var swapped = CanonicalEncoder()
        swapped.list([chain[0], chain[2]]) { $1.encode(to: &$0) }
        #expect(throws: DecodingError.invalidValue(field: "sync blocks", reason: "must be consecutive and ascending")) {
            try SyncResponse(canonicalBytes: swapped.bytes)
        }
        var tooMany = CanonicalEncoder()
        tooMany.u32(UInt32(SyncResponse.maxBlocks + 1))
        #expect(throws: DecodingError.tooLarge(field: "sync blocks", limit: SyncResponse.maxBlocks, actual: SyncResponse.maxBlocks + 1)) {
            try SyncResponse(canonicalBytes: tooMany.bytes)
        }
    }

    @Test func randomBytesNeverCrashADecoder() {
        var random = SeededRandom(seed: 11)
        let (_, proposal, vote, _) = Self.samples()
        let seeds = [PeerMessage.proposal(proposal).canonicalBytes, PeerMessage.vote(vote).canonicalBytes]
        var refused = 0
        for _ in 0..<2_000 {
            var bytes = seeds[Int(random.next() % 2)]
            for _ in 0..<(1 + Int(random.next() % 4)) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            if (try? PeerMessage(canonicalBytes: bytes)) == nil { refused += 1 }
        }
        // Changes inside signatures, hashes or entry bytes may still decode; changes to structure must not.
        #expect(refused > 0)
    }

    @Test func signaturesVerifyOnlyForTheSignerAndTheSignedBytes() {
        let (fixture, proposal, vote, _) = Self.samples()
        #expect(proposal.hasValidSignature(in: fixture.genesis))
        #expect(vote.hasValidSignature(in: fixture.genesis))
        let wrongSigner = SignedVote(vote: vote.vote, validatorIndex: 2, signature: vote.signature)
        #expect(!wrongSigner.hasValidSignature(in: fixture.genesis))
        let outside = SignedVote(vote: vote.vote, validatorIndex: 9, signature: vote.signature)
        #expect(!outside.hasValidSignature(in: fixture.genesis))
        var changed = vote.vote
        changed.round += 1
        #expect(!SignedVote(vote: changed, validatorIndex: vote.validatorIndex, signature: vote.signature).hasValidSignature(in: fixture.genesis))
    }
}
