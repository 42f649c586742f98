import Ledger

/// The write-ahead log record of one consensus input. The log (frames, checksums, fsync, torn tails) is the
/// node's storage; this is what each record holds, so replay decodes exactly what was handled.
///
/// Encoding: tag `healthledger/consensus-input`, version 1, kind `u8`, then:
/// 1 startHeight: height `u64`, previous block time `u64`;
/// 2 proposal: signed proposal, check `optional<(isValid flag, isTimely flag)>`;
/// 3 vote: signed vote;
/// 4 timeout: height `u64`, round `u32`, step `u8`;
/// 5 blockBuilt: height `u64`, round `u32`, block.
extension ConsensusInput: CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/consensus-input"
    public static let version: UInt8 = 1

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        switch self {
        case let .startHeight(height, previousBlockTimeMs):
            encoder.u8(1)
            encoder.u64(height)
            encoder.u64(previousBlockTimeMs)
        case let .proposal(signed, check):
            encoder.u8(2)
            signed.encode(to: &encoder)
            encoder.optional(check) {
                $0.bool($1.isValid)
                $0.bool($1.isTimely)
            }
        case let .vote(signed):
            encoder.u8(3)
            signed.encode(to: &encoder)
        case let .timeout(timeout):
            encoder.u8(4)
            encoder.u64(timeout.height)
            encoder.u32(timeout.round)
            timeout.step.encode(to: &encoder)
        case let .blockBuilt(height, round, block):
            encoder.u8(5)
            encoder.u64(height)
            encoder.u32(round)
            block.encode(to: &encoder)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "consensus input")
        switch try decoder.u8("consensus input kind") {
        case 1:
            self = .startHeight(height: try decoder.u64("height"), previousBlockTimeMs: try decoder.u64("previous block time"))
        case 2:
            let signed = try SignedProposal(from: &decoder)
            let check = try decoder.optional("proposal check") { (d) throws(DecodingError) in
                ProposalCheck(isValid: try d.bool("proposal valid"), isTimely: try d.bool("proposal timely"))
            }
            self = .proposal(signed, check: check)
        case 3:
            self = .vote(try SignedVote(from: &decoder))
        case 4:
            self = .timeout(Timeout(height: try decoder.u64("timeout height"), round: try decoder.u32("timeout round"),
                                    step: try ConsensusStep(from: &decoder)))
        case 5:
            let height = try decoder.u64("built height")
            let round = try decoder.u32("built round")
            self = .blockBuilt(height: height, round: round, block: try Block(from: &decoder))
        case let other:
            throw .invalidValue(field: "consensus input kind", reason: "unknown kind \(other)")
        }
    }
}
