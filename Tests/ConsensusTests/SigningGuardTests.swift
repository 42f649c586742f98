import Consensus
import Ledger
import Testing
import TestSupport

/// The signing guard never lets a validator sign two different messages at one (height, round, step), nor
/// go back to an earlier one, including across restarts from its saved state; asking again for the last
/// signature returns the same bytes without signing.
@Suite struct SigningGuardTests {
    let key = TestKeys.key("validator-0")
    let chainID = ChainBuilder.chainID

    @Test func theSameVoteAgainReturnsTheSameSignatureWithoutSigning() throws {
        var guardState = SigningGuard()
        let vote = Vote(chainID: chainID, type: .prevote, height: 4, round: 1, blockHash: .zero)
        let first = try guardState.sign(vote: vote) { key.signature(for: $0) }
        #expect(first.isNew)
        var signed = 0
        let again = try guardState.sign(vote: vote) { signed += 1; return key.signature(for: $0) }
        #expect(again.signature == first.signature && !again.isNew)
        #expect(signed == 0)
    }

    @Test func aDifferentVoteAtTheSameStepOrAnEarlierStepIsRefused() throws {
        var guardState = SigningGuard()
        let vote = Vote(chainID: chainID, type: .precommit, height: 4, round: 1, blockHash: .zero)
        _ = try guardState.sign(vote: vote) { key.signature(for: $0) }
        var nilVote = vote
        nilVote.blockHash = nil
        #expect(throws: SigningRefusal.conflicting(SigningPosition(height: 4, round: 1, step: .precommit))) {
            try guardState.sign(vote: nilVote) { key.signature(for: $0) }
        }
        let prevote = Vote(chainID: chainID, type: .prevote, height: 4, round: 1, blockHash: nil)
        #expect(throws: SigningRefusal.self) { try guardState.sign(vote: prevote) { key.signature(for: $0) } }
        let proposal = Proposal(chainID: chainID, height: 4, round: 1, validRound: nil, blockHash: .zero)
        #expect(throws: SigningRefusal.self) { try guardState.sign(proposal: proposal) { key.signature(for: $0) } }
        let nextRound = Proposal(chainID: chainID, height: 4, round: 2, validRound: nil, blockHash: .zero)
        #expect(try guardState.sign(proposal: nextRound) { key.signature(for: $0) }.isNew)
    }

    /// Random requests (votes and proposals over a few heights, rounds and values), with the guard saved
    /// and reloaded from bytes at random points, checked against a model of what may be signed: every
    /// position gets at most one message, positions only move forward, and repeats give the same bytes.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func neverTwoDifferentMessagesForOnePositionEvenAcrossRestarts(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var guardState = SigningGuard()
        var signedAt: [SigningPosition: [UInt8]] = [:]
        var last: (position: SigningPosition, bytes: [UInt8])?
        var counts = (signed: 0, repeated: 0, refused: 0)
        var cursor = 0
        let values: [SHA256Digest?] = [nil, SHA256.hash([1])]
        for _ in 0..<3_000 {
            if random.next() % 20 == 0 {
                let saved = guardState.lastSigned?.canonicalBytes
                guardState = SigningGuard(lastSigned: try saved.map { try LastSigned(canonicalBytes: $0) })
            }
            // Requests wander around a cursor that moves forward: new positions, repeats, and stale ones.
            cursor = max(0, cursor + Int(random.next() % 6) - 2)
            let height = 1 + UInt64(cursor / 9)
            let round = UInt32(cursor / 3 % 3)
            let value = values[Int(random.next() % 2)]
            let kind = cursor % 3
            let position: SigningPosition
            let bytes: [UInt8]
            let result: Result<SigningGuard.Signature, SigningRefusal>
            if kind == 0 {
                let proposal = Proposal(chainID: chainID, height: height, round: round, validRound: nil, blockHash: value ?? .zero)
                (position, bytes) = (SigningPosition(height: height, round: round, step: .propose), proposal.canonicalBytes)
                result = Result { () throws(SigningRefusal) in try guardState.sign(proposal: proposal) { key.signature(for: $0) } }
            } else {
                let vote = Vote(chainID: chainID, type: kind == 1 ? .prevote : .precommit, height: height, round: round, blockHash: value)
                (position, bytes) = (SigningPosition(height: height, round: round, step: ConsensusStep(vote.type)), vote.canonicalBytes)
                result = Result { () throws(SigningRefusal) in try guardState.sign(vote: vote) { key.signature(for: $0) } }
            }
            let allowed = last.map { position > $0.position || (position == $0.position && bytes == $0.bytes) } ?? true
            switch result {
            case let .success(signature):
                #expect(allowed, "signed at \(position) after \(String(describing: last?.position))")
                #expect(key.publicKey.isValidSignature(signature.signature, for: bytes))
                if let earlier = signedAt[position] { #expect(earlier == bytes, "two messages at \(position)") }
                #expect(signature.isNew == (signedAt[position] == nil))
                if signature.isNew { counts.signed += 1 } else { counts.repeated += 1 }
                signedAt[position] = bytes
                last = (position, bytes)
            case .failure:
                #expect(!allowed, "refused an allowed request at \(position)")
                counts.refused += 1
            }
        }
        #expect(counts.signed > 100 && counts.repeated > 100 && counts.refused > 100, "the run exercised every case: \(counts)")
    }

    @Test func committedHeightsAreClosed() throws {
        var guardState = SigningGuard(committedHeight: 5)
        let stale = Vote(chainID: chainID, type: .prevote, height: 5, round: 7, blockHash: nil)
        #expect(throws: SigningRefusal.committed(requested: SigningPosition(height: 5, round: 7, step: .prevote), committedHeight: 5)) {
            try guardState.sign(vote: stale) { key.signature(for: $0) }
        }
        #expect(try guardState.sign(vote: Vote(chainID: chainID, type: .prevote, height: 6, round: 0, blockHash: nil)) { key.signature(for: $0) }.isNew)
    }

    /// A restarted validator's guard knows the latest of its own proposals and votes in its write-ahead log
    /// (or the signer state file of an earlier version, when that is newer): the same message gets the same
    /// signature, a different one at that position or anything earlier is refused.
    @Test func aRestartedGuardKnowsTheLatestOwnSignatureInTheLog() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 0)
        let ownPrevote = fixture.vote(.prevote, round: 0, for: block, by: 0)
        let ownPrecommit = fixture.vote(.precommit, round: 0, for: block, by: 0)
        let log: [[UInt8]] = [
            ConsensusInput.startHeight(height: 1, previousBlockTimeMs: fixture.genesis.genesisTimeMs).canonicalBytes,
            ConsensusInput.proposal(fixture.signedProposal(block, round: 0, by: 0), check: .accepted).canonicalBytes,
            ConsensusInput.vote(ownPrecommit).canonicalBytes,
            ConsensusInput.vote(ownPrevote).canonicalBytes,
            ConsensusInput.vote(fixture.vote(.precommit, round: 2, for: nil, by: 1)).canonicalBytes,
            [1, 2, 3],
        ]
        var recovered = SigningGuard.recovering(log: log, ownIndex: 0, saved: nil, committedHeight: 0)
        #expect(recovered.lastSigned?.signature == ownPrecommit.signature, "the latest position, not the last record")
        var signedAnew = false
        let again = try recovered.sign(vote: ownPrecommit.vote) { _ in signedAnew = true; return ownPrecommit.signature }
        #expect(again.signature == ownPrecommit.signature && !again.isNew && !signedAnew)
        var nilPrecommit = ownPrecommit.vote
        nilPrecommit.blockHash = nil
        #expect(throws: SigningRefusal.conflicting(SigningPosition(height: 1, round: 0, step: .precommit))) {
            try recovered.sign(vote: nilPrecommit) { key.signature(for: $0) }
        }
        #expect(throws: SigningRefusal.self) { try recovered.sign(vote: ownPrevote.vote) { key.signature(for: $0) } }

        let newerSaved = LastSigned(height: 1, round: 4, step: .prevote, signedBytesHash: SHA256.hash([4]), signature: ownPrevote.signature)
        #expect(SigningGuard.recovering(log: log, ownIndex: 0, saved: newerSaved, committedHeight: 0).lastSigned == newerSaved)
        let olderSaved = LastSigned(height: 1, round: 0, step: .propose, signedBytesHash: SHA256.hash([0]), signature: ownPrevote.signature)
        #expect(SigningGuard.recovering(log: log, ownIndex: 0, saved: olderSaved, committedHeight: 0).lastSigned?.signature == ownPrecommit.signature)
        #expect(SigningGuard.recovering(log: log, ownIndex: 1, saved: nil, committedHeight: 0).lastSigned?.round == 2, "validator 1's own")
        #expect(SigningGuard.recovering(log: [], ownIndex: 0, saved: nil, committedHeight: 0).lastSigned == nil)
        // A log of a height already committed (its reset not yet on disk) closes nothing new: the chain does.
        var afterCommit = SigningGuard.recovering(log: log, ownIndex: 0, saved: nil, committedHeight: 1)
        #expect(throws: SigningRefusal.self) { try afterCommit.sign(vote: nilPrecommit) { key.signature(for: $0) } }
        let nextHeight = Vote(chainID: chainID, type: .prevote, height: 2, round: 0, blockHash: nil)
        #expect(try afterCommit.sign(vote: nextHeight) { key.signature(for: $0) }.isNew)
    }
}
