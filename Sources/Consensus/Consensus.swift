/// # Consensus
///
/// Tendermint (Buchman, Kwon, Milosevic 2018, "The latest gossip on BFT consensus", Algorithm 1) for
/// HealthLedger validators, written as a pure state machine: `Tendermint.handle(_:)` takes one input (a
/// height to start, a proposal or vote already signature-checked by the caller, a fired timeout, a block the
/// runtime built) and returns the actions the runtime must perform (build a block, sign and broadcast a
/// proposal or vote, schedule a timeout, commit a block with its certificate, report evidence).
///
/// It exists as a module of its own so the same code runs in the node, in the deterministic simulator and in
/// unit tests: nothing here reads a clock, draws randomness, or touches a file or socket. Time arrives as
/// parameters (`nowMs` in `ProposalValidation`), timeouts as inputs, durability is the runtime's job through
/// the encodings provided here (`ConsensusInput` for the write-ahead log, `LastSigned` for the signer state).
/// docs/CONSENSUS.md describes the machine, the messages, the time bound and the replay rules.

import Ledger

/// The steps of a round, in the order a validator passes them. The order matters: the signing guard
/// refuses to go back to an earlier (height, round, step).
public enum ConsensusStep: UInt8, Hashable, Comparable, Sendable, CustomStringConvertible {
    case propose = 1
    case prevote = 2
    case precommit = 3

    public static func < (lhs: ConsensusStep, rhs: ConsensusStep) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The step in which a validator signs a vote of `type`.
    public init(_ type: VoteType) { self = type == .prevote ? .prevote : .precommit }

    public var description: String {
        switch self {
        case .propose: return "propose"
        case .prevote: return "prevote"
        case .precommit: return "precommit"
        }
    }
}

extension ConsensusStep: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) { encoder.u8(rawValue) }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        let raw = try decoder.u8("consensus step")
        guard let step = ConsensusStep(rawValue: raw) else {
            throw .invalidValue(field: "consensus step", reason: "unknown step \(raw)")
        }
        self = step
    }
}
