import Consensus
import Ledger
import TestSupport

/// Four validators of equal power (from `ChainBuilder`), real keys, real blocks built by the executor at
/// height 1, and helpers that sign proposals and votes as any validator. With n = 4: f + 1 is 2 validators,
/// 2f + 1 is 3. The proposer of (height 1, round r) is validator (1 + r) mod 4.
struct ConsensusFixture {
    var builder: ChainBuilder
    var genesis: Genesis { builder.genesis }

    init(seed: UInt64 = 1, consensus: ConsensusParameters = ConsensusParameters()) {
        builder = ChainBuilder(seed: seed, organisationCount: 4, consensus: consensus)
    }

    func configuration(own: Int?) -> ConsensusConfiguration { ConsensusConfiguration(genesis: genesis, ownIndex: own) }

    /// A machine for validator `own`, started at height 1.
    func machine(own: Int?) -> (Tendermint, [ConsensusAction]) {
        var machine = Tendermint(configuration: configuration(own: own))
        let actions = machine.handle(.startHeight(height: 1, previousBlockTimeMs: genesis.genesisTimeMs))
        return (machine, actions)
    }

    static func proposer(round: UInt32, height: UInt64 = 1) -> Int { Int((height + UInt64(round)) % 4) }

    /// A valid block for height 1 proposed by `proposer`, with `transactions` (default: one grant), `advanceMs`
    /// after genesis.
    mutating func block(proposer: Int, advanceMs: UInt64 = 1_000, transactions: [SignedTransaction]? = nil) -> Block {
        let timeMs = genesis.genesisTimeMs + advanceMs
        let candidates = transactions ?? [grant(patient: "patient-\(advanceMs)", createdAtMs: timeMs)]
        let executor = BlockExecutor(genesis: genesis)
        let state = MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs)
        let proposal = try! executor.propose(candidates, height: 1, blockTimeMs: timeMs, state: state)
        return Block(entries: proposal.entries, height: 1, timeMs: timeMs, previousHash: genesis.hash,
                          proposer: genesis.validators[proposer].key, genesis: genesis)
    }

    /// A consent grant from a named patient to a named practitioner.
    mutating func grant(patient: String, createdAtMs: UInt64) -> SignedTransaction {
        let terms = GrantConsent(grantee: .practitioner(TestKeys.identity("practitioner-0")), actions: AccessActions([.read]))
        return builder.sign(.grantConsent(terms), by: TestKeys.key(patient), createdAtMs: createdAtMs)
    }

    func signedProposal(_ block: Block, round: UInt32, validRound: UInt32? = nil, by index: Int? = nil) -> SignedProposal {
        let signer = index ?? Self.proposer(round: round, height: block.header.height)
        let proposal = Proposal(chainID: genesis.chainID, height: block.header.height, round: round, validRound: validRound,
                                blockHash: block.header.hash)
        return SignedProposal(proposal: proposal, validatorIndex: UInt16(signer),
                              signature: builder.validatorKey(signer).signature(for: proposal.canonicalBytes), block: block)
    }

    func vote(_ type: VoteType, round: UInt32, for block: Block?, by index: Int, height: UInt64 = 1) -> SignedVote {
        sign(Vote(chainID: genesis.chainID, type: type, height: height, round: round, blockHash: block?.header.hash), by: index)
    }

    func sign(_ vote: Vote, by index: Int) -> SignedVote {
        SignedVote(vote: vote, validatorIndex: UInt16(index), signature: builder.validatorKey(index).signature(for: vote.canonicalBytes))
    }
}

extension Array where Element == ConsensusAction {
    var votes: [Vote] { compactMap { if case let .signVote(vote) = $0 { return vote } else { return nil } } }
    var timeouts: [(Timeout, UInt64)] {
        compactMap { if case let .scheduleTimeout(timeout, delay) = $0 { return (timeout, delay) } else { return nil } }
    }
    var proposals: [Proposal] { compactMap { if case let .signProposal(proposal, _) = $0 { return proposal } else { return nil } } }
    var commits: [CommittedBlock] { compactMap { if case let .commit(committed) = $0 { return committed } else { return nil } } }
    var evidence: [Evidence] { compactMap { if case let .reportEvidence(evidence) = $0 { return evidence } else { return nil } } }
    var checks: [SignedProposal] { compactMap { if case let .checkProposal(signed) = $0 { return signed } else { return nil } } }
}
