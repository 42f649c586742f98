import Consensus
import Foundation
import Ledger

/// Peer votes that arrive after their round and type already has a quorum, left unverified: they change
/// nothing, and with four validators they are a third of the votes a validator receives (the last prevote
/// and the last precommit of every height; a verification is about 0.1 ms).
///
/// The peer readers `record` every vote they hand to the consensus thread (verified, and taken by the
/// inbox) and the consensus thread its own. Once the validators recorded for one value of a (round, type)
/// of the height being decided hold more than 2/3 of the power, that step is *settled*: the consensus
/// thread has or will have that quorum, no other value can reach one there, and a vote from a validator
/// not yet recorded in the step adds nothing. `judge` says what to do with a vote not yet verified:
///
/// - `.needed`: verify it and hand it on (the step is not settled, or its validator was recorded there, so
///   it duplicates or contradicts that vote: the consensus thread then keeps the pair as evidence).
/// - `.late`: drop it unverified. It is kept, unverified, until the height ends.
/// - `.contradicts(earlier)`: the validator already sent a different late vote in this step: verify both
///   and hand both on, so that the consensus thread keeps them as evidence. No equivocation that reaches
///   this validator goes unreported.
///
/// Only votes of the height the consensus thread is deciding (as the readers last saw it) are judged and
/// recorded from peers; the consensus thread takes those (and keeps the next height's), so a step settled
/// here is settled there. This validator's own votes are recorded at any height not below it. Whatever is
/// not recorded only makes a vote `.needed` (the filter can only ever skip less), which bounds the memory:
/// at most `maxSteps` steps are followed (a hostile validator may vote in any number of rounds).
final class LateVotes: @unchecked Sendable {
    enum Verdict: Equatable {
        case needed
        case late
        case contradicts(SignedVote)
    }

    private struct Step: Hashable {
        let height: UInt64
        let round: UInt32
        let type: VoteType
    }

    /// The recorded votes of one step: each validator's first, and the power behind each value.
    private struct StepVotes {
        var valueByValidator: [Int: SHA256Digest?] = [:]
        var powerByValue: [SHA256Digest?: UInt64] = [:]
        var settled = false
    }

    /// Steps followed at once; votes of further steps are simply verified.
    static let maxSteps = 256

    private let configuration: ConsensusConfiguration
    private let lock = NSLock()
    /// The height being decided, as last reported; everything below it is forgotten.
    private var height: UInt64 = 0
    private var steps: [Step: StepVotes] = [:]
    /// Late votes kept unverified, by step and validator (only of settled steps, so bounded by the rounds
    /// that reached a quorum times the validators).
    private var unverified: [Step: [Int: SignedVote]] = [:]

    init(configuration: ConsensusConfiguration) {
        self.configuration = configuration
    }

    /// What to do with `signed`, received from a peer and not yet verified, while the consensus thread
    /// decides `currentHeight`.
    func judge(_ signed: SignedVote, currentHeight: UInt64) -> Verdict {
        let vote = signed.vote
        let validator = Int(signed.validatorIndex)
        guard vote.height == currentHeight, configuration.powers.indices.contains(validator) else { return .needed }
        let step = Step(height: vote.height, round: vote.round, type: vote.type)
        return lock.withLock {
            forgetBelow(currentHeight)
            guard let votes = steps[step], votes.settled, votes.valueByValidator[validator] == nil else { return .needed }
            if let earlier = unverified[step]?[validator], earlier.vote != vote { return .contradicts(earlier) }
            unverified[step, default: [:]][validator] = signed
            return .late
        }
    }

    /// Records a verified vote the consensus thread takes: a peer's of `currentHeight`, or this validator's
    /// own (`own: true`) of that height or a later one.
    func record(_ vote: Vote, by validator: Int, currentHeight: UInt64, own: Bool = false) {
        guard own ? vote.height >= currentHeight : vote.height == currentHeight,
            configuration.powers.indices.contains(validator)
        else { return }
        let step = Step(height: vote.height, round: vote.round, type: vote.type)
        lock.withLock {
            forgetBelow(currentHeight)
            guard steps[step] != nil || steps.count < Self.maxSteps else { return }
            var votes = steps[step] ?? StepVotes()
            guard votes.valueByValidator[validator] == nil else { return }
            votes.valueByValidator[validator] = vote.blockHash
            votes.powerByValue[vote.blockHash, default: 0] += configuration.powers[validator]
            votes.settled = votes.settled || configuration.isQuorum(votes.powerByValue[vote.blockHash]!)
            steps[step] = votes
        }
    }

    /// Forgets the unverified late vote of `signed`'s validator and step (it did not verify).
    func forget(_ signed: SignedVote) {
        let step = Step(height: signed.vote.height, round: signed.vote.round, type: signed.vote.type)
        _ = lock.withLock { unverified[step]?.removeValue(forKey: Int(signed.validatorIndex)) }
    }

    private func forgetBelow(_ currentHeight: UInt64) {
        guard currentHeight > height else { return }
        height = currentHeight
        steps = steps.filter { $0.key.height >= currentHeight }
        unverified = unverified.filter { $0.key.height >= currentHeight }
    }
}
