import Ledger

/// The last thing a validator signed: its (height, round, step), the hash of the signed bytes and the
/// signature. A validator recovers it from its own proposals and votes in its write-ahead log, each logged
/// and synced before it leaves the node (`SigningGuard.recovering`); its canonical encoding is the content
/// of the signer state file that earlier versions kept beside the log.
///
/// Encoding: tag `healthledger/last-signed`, version 1, height `u64`, round `u32`, step `u8` (1 propose,
/// 2 prevote, 3 precommit), signed-bytes hash `digest`, signature `bytes[64]`.
public struct LastSigned: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/last-signed"
    public static let version: UInt8 = 1

    /// Where the signature was made.
    public let height: UInt64
    public let round: UInt32
    public let step: ConsensusStep
    /// SHA-256 of the exact bytes signed.
    public let signedBytesHash: SHA256Digest
    /// The signature, returned again for the same request.
    public let signature: [UInt8]

    public init(height: UInt64, round: UInt32, step: ConsensusStep, signedBytesHash: SHA256Digest, signature: [UInt8]) {
        precondition(signature.count == Ed25519.signatureByteCount, "an Ed25519 signature is 64 bytes")
        self.height = height
        self.round = round
        self.step = step
        self.signedBytesHash = signedBytesHash
        self.signature = signature
    }

    /// (height, round, step) as one comparable position.
    var position: SigningPosition { SigningPosition(height: height, round: round, step: step) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        encoder.u64(height)
        encoder.u32(round)
        step.encode(to: &encoder)
        encoder.digest(signedBytesHash)
        encoder.fixed(signature)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "last signed")
        height = try decoder.u64("last signed height")
        round = try decoder.u32("last signed round")
        step = try ConsensusStep(from: &decoder)
        signedBytesHash = try decoder.digest("signed bytes hash")
        signature = try decoder.fixed(Ed25519.signatureByteCount, "last signature")
    }
}

/// A point in the order in which a validator signs: heights, then rounds, then steps.
public struct SigningPosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The height, round and step of a signature.
    public let height: UInt64
    public let round: UInt32
    public let step: ConsensusStep

    public init(height: UInt64, round: UInt32, step: ConsensusStep) {
        self.height = height
        self.round = round
        self.step = step
    }

    public static func < (lhs: SigningPosition, rhs: SigningPosition) -> Bool {
        (lhs.height, lhs.round, lhs.step.rawValue) < (rhs.height, rhs.round, rhs.step.rawValue)
    }

    public var description: String { "\(height)/\(round)/\(step)" }
}

/// Why the signing guard refused to sign. Safe to print: positions only, never bytes or keys.
public enum SigningRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// Something different was already signed at this (height, round, step): signing would equivocate.
    case conflicting(SigningPosition)
    /// The request is for an earlier (height, round, step) than the last signature.
    case regression(requested: SigningPosition, last: SigningPosition)
    /// The request is for a height this validator has already committed.
    case committed(requested: SigningPosition, committedHeight: UInt64)

    public var description: String {
        switch self {
        case let .conflicting(position): return "refusing to sign a second, different message at \(position)"
        case let .regression(requested, last): return "refusing to sign at \(requested), before the last signature at \(last)"
        case let .committed(requested, committedHeight):
            return "refusing to sign at \(requested): height \(committedHeight) is committed"
        }
    }
}

/// Decides whether this validator may sign, so that it never signs two different proposals or votes for one
/// (height, round, step), even across a crash: positions only move forward, and asking again for exactly the
/// same bytes at the last position returns the same signature without signing anew.
///
/// Usage: `let signature = try guard.sign(vote: vote) { key.signature(for: $0) }`; when `isNew`, make the
/// signed message durable (the node logs it and syncs its write-ahead log) *before* sending it anywhere, so
/// that a restarted validator's guard, rebuilt by `recovering`, knows it. The key never enters the guard;
/// it only sees the closure.
public struct SigningGuard: Hashable, Sendable {
    /// The last signature given: what must be durable before the signed message leaves.
    public private(set) var lastSigned: LastSigned?
    /// Heights up to this one are committed: nothing is signed there again, whatever `lastSigned` says (a
    /// node's log is emptied once its stored blocks are on disk, so its record of older signatures is the
    /// chain).
    public let committedHeight: UInt64

    /// A guard that resumes from `lastSigned` (nil when nothing was ever signed) with heights up to
    /// `committedHeight` closed.
    public init(lastSigned: LastSigned? = nil, committedHeight: UInt64 = 0) {
        self.lastSigned = lastSigned
        self.committedHeight = committedHeight
    }

    /// The guard of a restarting validator with genesis index `ownIndex`: its last signature is the latest
    /// of its own proposals and votes among the write-ahead log's `records` (records that are not consensus
    /// inputs, or do not decode, are passed over: replaying the log judges them) and `saved` (the signer
    /// state file of earlier versions, if any).
    public static func recovering(log records: [[UInt8]], ownIndex: UInt16, saved: LastSigned?, committedHeight: UInt64) -> SigningGuard {
        recovering(log: DecodedLog(records), ownIndex: ownIndex, saved: saved, committedHeight: committedHeight)
    }

    /// `recovering(log:ownIndex:saved:committedHeight:)` for records decoded already.
    public static func recovering(log: DecodedLog, ownIndex: UInt16, saved: LastSigned?, committedHeight: UInt64) -> SigningGuard {
        var latest = saved
        for case let .success(input) in log.inputs {
            guard let signed = ownSignature(in: input, ownIndex: ownIndex) else { continue }
            if latest.map({ signed.position > $0.position }) ?? true { latest = signed }
        }
        return SigningGuard(lastSigned: latest, committedHeight: committedHeight)
    }

    /// The signature this validator made for a proposal or vote of its own that `input` delivers back.
    private static func ownSignature(in input: ConsensusInput, ownIndex: UInt16) -> LastSigned? {
        switch input {
        case let .proposal(signed, _) where signed.validatorIndex == ownIndex:
            let proposal = signed.proposal
            return LastSigned(height: proposal.height, round: proposal.round, step: .propose,
                              signedBytesHash: SHA256.hash(proposal.canonicalBytes), signature: signed.signature)
        case let .vote(signed) where signed.validatorIndex == ownIndex:
            let vote = signed.vote
            return LastSigned(height: vote.height, round: vote.round, step: ConsensusStep(vote.type),
                              signedBytesHash: SHA256.hash(vote.canonicalBytes), signature: signed.signature)
        default:
            return nil
        }
    }

    /// The result of an allowed signing request.
    public struct Signature: Hashable, Sendable {
        /// The 64-byte Ed25519 signature.
        public let signature: [UInt8]
        /// True when the guard's state changed: save it durably before using the signature.
        public let isNew: Bool
    }

    /// Signs a proposal at (height, round, propose).
    public mutating func sign(proposal: Proposal, using signer: ([UInt8]) -> [UInt8]) throws(SigningRefusal) -> Signature {
        try sign(proposal.canonicalBytes, at: SigningPosition(height: proposal.height, round: proposal.round, step: .propose), using: signer)
    }

    /// Signs a vote at (height, round, prevote or precommit).
    public mutating func sign(vote: Vote, using signer: ([UInt8]) -> [UInt8]) throws(SigningRefusal) -> Signature {
        try sign(vote.canonicalBytes, at: SigningPosition(height: vote.height, round: vote.round, step: ConsensusStep(vote.type)), using: signer)
    }

    /// Whether signing `bytes` at `position` is allowed, without signing: nil when it is.
    public func refusal(for bytes: [UInt8], at position: SigningPosition) -> SigningRefusal? {
        if position.height <= committedHeight { return .committed(requested: position, committedHeight: committedHeight) }
        guard let lastSigned else { return nil }
        if position < lastSigned.position { return .regression(requested: position, last: lastSigned.position) }
        if position == lastSigned.position, SHA256.hash(bytes) != lastSigned.signedBytesHash { return .conflicting(position) }
        return nil
    }

    private mutating func sign(_ bytes: [UInt8], at position: SigningPosition, using signer: ([UInt8]) -> [UInt8]) throws(SigningRefusal) -> Signature {
        if let refusal = refusal(for: bytes, at: position) { throw refusal }
        if let lastSigned, lastSigned.position == position { return Signature(signature: lastSigned.signature, isNew: false) }
        let signature = signer(bytes)
        lastSigned = LastSigned(height: position.height, round: position.round, step: position.step,
                                signedBytesHash: SHA256.hash(bytes), signature: signature)
        return Signature(signature: signature, isNew: true)
    }
}
