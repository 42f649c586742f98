import Consensus
import Crypto
import Ledger
import Testing
import TestSupport
@testable import Node

/// Which peer votes are left unverified: only those of a step whose recorded votes already give one value
/// more than 2/3 of the power, from a validator not recorded there; and a second, different late vote of
/// the same validator is handed back with the first, so that the pair becomes evidence.
@Suite struct LateVotesTests {
    private let keys = (0..<4).map { fixedKey(UInt8(90 + $0)) }

    private func configuration(powers: [UInt64] = [1, 1, 1, 1]) throws -> ConsensusConfiguration {
        let organisations = (0..<powers.count).map { OrganisationID("hospital-\($0 + 1)")! }
        let genesis = try Genesis(
            chainID: ChainID("late-votes")!, genesisTimeMs: 1_700_000_000_000,
            organisations: organisations.indices.map { Organisation(id: organisations[$0], name: "H\($0)", adminKey: Identity(publicKey: keys[$0].publicKey)) },
            validators: organisations.indices.map {
                Validator(name: "node-\($0 + 1)", organisation: organisations[$0], key: Identity(publicKey: keys[$0].publicKey),
                          address: "127.0.0.1:\(9000 + $0)", power: powers[$0])
            },
            consensus: ConsensusParameters())
        return ConsensusConfiguration(genesis: genesis, ownIndex: 0)
    }

    private func vote(_ validator: Int, height: UInt64 = 5, round: UInt32 = 0, type: VoteType = .prevote, value: String? = "A") -> SignedVote {
        let vote = Vote(chainID: ChainID("late-votes")!, type: type, height: height, round: round, blockHash: value.map { SHA256.hash(Array($0.utf8)) })
        return SignedVote(vote: vote, validatorIndex: UInt16(validator), signature: keys[validator].signature(for: vote.canonicalBytes))
    }

    @Test func theVoteAfterTheQuorumIsLateAndTheOnesBeforeItAreNeeded() throws {
        let late = LateVotes(configuration: try configuration())
        late.record(vote(0).vote, by: 0, currentHeight: 5, own: true)
        #expect(late.judge(vote(1), currentHeight: 5) == .needed)
        late.record(vote(1).vote, by: 1, currentHeight: 5)
        #expect(late.judge(vote(2), currentHeight: 5) == .needed, "two of four: no quorum yet")
        late.record(vote(2).vote, by: 2, currentHeight: 5)
        #expect(late.judge(vote(3), currentHeight: 5) == .late, "three of four for A: the fourth changes nothing")
        #expect(late.judge(vote(3, value: nil), currentHeight: 5) == .contradicts(vote(3)), "a second, different late vote brings the first back")
        #expect(late.judge(vote(1, value: "B"), currentHeight: 5) == .needed, "a recorded validator's other vote is checked: it may be evidence")
        // Other steps, rounds and heights are judged on their own.
        #expect(late.judge(vote(3, type: .precommit), currentHeight: 5) == .needed)
        #expect(late.judge(vote(3, round: 1), currentHeight: 5) == .needed)
        #expect(late.judge(vote(3, height: 6), currentHeight: 5) == .needed, "only the height being decided is judged")
    }

    @Test func aQuorumOfDifferentValuesSettlesNothing() throws {
        let late = LateVotes(configuration: try configuration())
        late.record(vote(0).vote, by: 0, currentHeight: 5, own: true)
        late.record(vote(1).vote, by: 1, currentHeight: 5)
        late.record(vote(2, value: nil).vote, by: 2, currentHeight: 5)
        #expect(late.judge(vote(3), currentHeight: 5) == .needed, "three voted, but no value has three: the fourth decides")
    }

    @Test func powerNotCountOfValidatorsSettlesAStep() throws {
        // Total 6: a quorum needs more than 4.
        let late = LateVotes(configuration: try configuration(powers: [3, 1, 1, 1]))
        late.record(vote(1).vote, by: 1, currentHeight: 5)
        late.record(vote(2).vote, by: 2, currentHeight: 5)
        late.record(vote(3).vote, by: 3, currentHeight: 5)
        #expect(late.judge(vote(0), currentHeight: 5) == .needed, "three validators with 3 of 6")
        late.record(vote(0).vote, by: 0, currentHeight: 5, own: true)
        // Recording is by validator: a second vote of a recorded validator adds no power.
        late.record(vote(1, value: "B").vote, by: 1, currentHeight: 5)
        #expect(late.judge(vote(1, value: "C"), currentHeight: 5) == .needed)
    }

    @Test func ownVotesOfTheNextHeightCountOnceItIsDecidedAndEarlierHeightsAreForgotten() throws {
        let late = LateVotes(configuration: try configuration())
        late.record(vote(0, height: 6).vote, by: 0, currentHeight: 5, own: true)
        late.record(vote(1, height: 6).vote, by: 1, currentHeight: 5)
        #expect(late.judge(vote(2, height: 6), currentHeight: 6) == .needed, "a peer's vote of the next height was not recorded")
        late.record(vote(1, height: 6).vote, by: 1, currentHeight: 6)
        late.record(vote(2, height: 6).vote, by: 2, currentHeight: 6)
        #expect(late.judge(vote(3, height: 6), currentHeight: 6) == .late)
        // Height 5's steps are gone once 6 is decided; a forgotten late vote leaves nothing behind.
        late.record(vote(0).vote, by: 0, currentHeight: 6, own: true)
        #expect(late.judge(vote(3), currentHeight: 5) == .needed)
        late.forget(vote(3, height: 6))
        #expect(late.judge(vote(3, height: 6, value: nil), currentHeight: 6) == .late, "no earlier late vote to contradict")
    }

    @Test func atMostMaxStepsAreFollowedAtOnce() throws {
        let late = LateVotes(configuration: try configuration())
        for round in 0..<UInt32(LateVotes.maxSteps) { late.record(vote(1, round: round).vote, by: 1, currentHeight: 5) }
        // A step beyond the bound is not followed: its votes are all verified.
        let beyond = UInt32(LateVotes.maxSteps)
        for validator in 0..<3 { late.record(vote(validator, round: beyond).vote, by: validator, currentHeight: 5, own: validator == 0) }
        #expect(late.judge(vote(3, round: beyond), currentHeight: 5) == .needed)
        // Steps already followed still settle; a new height starts afresh.
        late.record(vote(0, round: 0).vote, by: 0, currentHeight: 5, own: true)
        late.record(vote(2, round: 0).vote, by: 2, currentHeight: 5)
        #expect(late.judge(vote(3, round: 0), currentHeight: 5) == .late)
        for validator in 0..<3 { late.record(vote(validator, height: 6).vote, by: validator, currentHeight: 6, own: validator == 0) }
        #expect(late.judge(vote(3, height: 6), currentHeight: 6) == .late)
    }

    /// Against a reference model, over seeded random sequences: a vote is left unverified only when its
    /// step already has a recorded quorum for one value and its validator is not recorded there, and a
    /// late vote is handed back exactly when the same validator sent a different late one in that step.
    @Test func lateOnlyWhenTheRecordedVotesAlreadyDecideTheStep() throws {
        let configuration = try configuration(powers: [2, 1, 1, 1])
        var random = SeededRandom(seed: 20_261_125)
        var verdicts: [String: Int] = [:]
        for _ in 0..<600 {
            let late = LateVotes(configuration: configuration)
            var recorded: [String: [Int: String?]] = [:]
            var lateByValidator: [String: [Int: String?]] = [:]
            for _ in 0..<40 {
                let validator = Int.random(in: 0..<4, using: &random)
                let round: UInt32 = 0
                let type: VoteType = Bool.random(using: &random) ? .prevote : .precommit
                let value: String? = ["A", "A", "A", "B", nil].randomElement(using: &random)!
                let signed = vote(validator, round: round, type: type, value: value)
                let step = "\(round)/\(type)"
                // Validator 3 is the slow one: its votes always come after the others' (never recorded first).
                if validator < 3, Bool.random(using: &random) {
                    late.record(signed.vote, by: validator, currentHeight: 5, own: validator == 0)
                    if recorded[step, default: [:]][validator] == nil { recorded[step, default: [:]][validator] = .some(value) }
                    continue
                }
                let votes = recorded[step, default: [:]]
                let settled = Set(votes.values.map { $0 ?? "nil" }).contains { candidate in
                    let power = votes.filter { ($0.value ?? "nil") == candidate }.keys.reduce(0) { $0 + configuration.powers[$1] }
                    return configuration.isQuorum(power)
                }
                let verdict = late.judge(signed, currentHeight: 5)
                verdicts["\(verdict)".prefix(5).description, default: 0] += 1
                guard settled, votes[validator] == nil else {
                    #expect(verdict == .needed)
                    continue
                }
                if let earlier = lateByValidator[step, default: [:]][validator], earlier != value {
                    #expect(verdict == .contradicts(vote(validator, round: round, type: type, value: earlier)))
                } else {
                    #expect(verdict == .late)
                    lateByValidator[step, default: [:]][validator] = .some(value)
                }
            }
        }
        #expect(verdicts.count == 3 && verdicts.values.allSatisfy { $0 >= 50 }, "every verdict reached often (seed 20261125): \(verdicts)")
    }
}
