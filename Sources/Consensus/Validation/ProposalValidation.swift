import Ledger

/// The committed chain a proposal must extend: the last block's height, hash and time (height 0, the
/// genesis hash and the genesis time before the first block).
public struct ChainHead: Hashable, Sendable {
    /// The last committed block's height, hash and time.
    public let height: UInt64
    public let hash: SHA256Digest
    public let timeMs: UInt64

    public init(height: UInt64, hash: SHA256Digest, timeMs: UInt64) {
        self.height = height
        self.hash = hash
        self.timeMs = timeMs
    }

    /// The head of a chain with no blocks yet.
    public init(genesis: Genesis) { self.init(height: 0, hash: genesis.hash, timeMs: genesis.genesisTimeMs) }
}

/// Why a proposed block is not a valid next block. Safe to print: names and indices, never content.
public enum ProposalRejection: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongChain
    case wrongHeight(UInt64)
    case wrongProposer(validatorIndex: UInt16)
    case previousHashMismatch
    case timeNotIncreasing
    case validatorSetMismatch
    case unexpectedStateRoot
    case proposerKeyMismatch
    case entryCountMismatch
    case entriesRootMismatch
    case badTransactionSignature(entryIndex: Int)
    case invalidBlock(BlockExecutionError)
    case stateUnavailable(String)

    public var description: String {
        switch self {
        case .wrongChain: return "the block is for another chain"
        case let .wrongHeight(height): return "the block claims height \(height)"
        case let .wrongProposer(index): return "validator \(index) is not the proposer of this height and round"
        case .previousHashMismatch: return "the block does not extend the committed chain"
        case .timeNotIncreasing: return "the block time is not later than the previous block's"
        case .validatorSetMismatch: return "the validator set hash differs from the genesis validator set"
        case .unexpectedStateRoot: return "the state root must be all zero in format version 1"
        case .proposerKeyMismatch: return "the header's proposer is not the validator that signed the proposal"
        case .entryCountMismatch: return "the entry count in the header differs from the entries"
        case .entriesRootMismatch: return "the Merkle root of the entries differs from the header"
        case let .badTransactionSignature(index): return "the signature of entry \(index) does not verify"
        case let .invalidBlock(error): return "the ledger's rules reject it: \(error)"
        case let .stateUnavailable(detail): return "consent state unavailable: \(detail)"
        }
    }
}

/// What every validator checks before it prevotes a proposed block, as one pure function shared by the node
/// and the simulator: the header against the committed chain, the round-robin proposer, the Merkle root,
/// every transaction signature, and every ledger rule, including every allowed `RecordAccess`, re-derived
/// against the consent state (`BlockExecutor.execute`); and, separately, whether the block time is within
/// `blockTimeMaxDriftMs` of the validator's own clock `nowMs`.
public enum ProposalValidation {
    /// Checks `signed` as the block after `head` with consent state `state`, at `nowMs` on this validator's
    /// clock. `isVerifiedTransaction` names transactions whose signature this node already verified (at
    /// admission to its mempool), so they are not verified twice.
    public static func check(
        _ signed: SignedProposal, genesis: Genesis, head: ChainHead, state: any LedgerStateReader, nowMs: UInt64,
        isVerifiedTransaction: (TransactionID) -> Bool = { _ in false }
    ) -> (check: ProposalCheck, rejection: ProposalRejection?) {
        let result = checkExecuting(signed, genesis: genesis, head: head, state: state, nowMs: nowMs, isVerifiedTransaction: isVerifiedTransaction)
        return (result.check, result.rejection)
    }

    /// `check`, also returning the state changes of a valid block (`BlockExecutor.execute`'s result), so that
    /// a validator that commits the block appends them without executing it a second time.
    public static func checkExecuting(
        _ signed: SignedProposal, genesis: Genesis, head: ChainHead, state: any LedgerStateReader, nowMs: UInt64,
        isVerifiedTransaction: (TransactionID) -> Bool = { _ in false }
    ) -> (check: ProposalCheck, rejection: ProposalRejection?, changes: StateChanges?) {
        var changes: StateChanges?
        let rejection = validityRejection(signed, genesis: genesis, head: head, state: state, isVerifiedTransaction: isVerifiedTransaction,
                                          changes: &changes)
        let check = ProposalCheck(isValid: rejection == nil, isTimely: isTimely(signed.block.header.timeMs, nowMs: nowMs, genesis: genesis))
        return (check, rejection, rejection == nil ? changes : nil)
    }

    /// True when a block time is within `blockTimeMaxDriftMs` of `nowMs`, either way (compared without
    /// overflow).
    public static func isTimely(_ blockTimeMs: UInt64, nowMs: UInt64, genesis: Genesis) -> Bool {
        let driftMs = blockTimeMs > nowMs ? blockTimeMs - nowMs : nowMs - blockTimeMs
        return driftMs <= genesis.consensus.blockTimeMaxDriftMs
    }

    private static func validityRejection(
        _ signed: SignedProposal, genesis: Genesis, head: ChainHead, state: any LedgerStateReader,
        isVerifiedTransaction: (TransactionID) -> Bool, changes: inout StateChanges?
    ) -> ProposalRejection? {
        let block = signed.block
        let header = block.header
        let expectedProposer = ConsensusConfiguration.proposer(height: signed.height, round: signed.round,
                                                               validatorCount: genesis.validators.count)
        guard header.chainID == genesis.chainID, signed.proposal.chainID == genesis.chainID else { return .wrongChain }
        guard head.height < UInt64.max, header.height == head.height + 1 else { return .wrongHeight(header.height) }
        guard Int(signed.validatorIndex) == expectedProposer else { return .wrongProposer(validatorIndex: signed.validatorIndex) }
        guard header.previousHash == head.hash else { return .previousHashMismatch }
        guard header.timeMs > head.timeMs else { return .timeNotIncreasing }
        guard header.validatorSetHash == genesis.validatorSetHash else { return .validatorSetMismatch }
        guard header.stateRoot == .zero else { return .unexpectedStateRoot }
        // A fresh block names its proposer; a block re-proposed from an earlier round keeps the header its
        // first proposer built (it already had a polka), which must still name a genesis validator.
        let headerProposerIsSigner = header.proposer == genesis.validators[Int(signed.validatorIndex)].key
        let headerProposerIsValidator = genesis.validatorIndex(of: header.proposer) != nil
        guard signed.proposal.validRound == nil ? headerProposerIsSigner : headerProposerIsValidator else { return .proposerKeyMismatch }
        guard Int(header.entryCount) == block.entries.count else { return .entryCountMismatch }
        guard MerkleTree.root(leafHashes: block.leafHashes) == header.entriesRoot else { return .entriesRootMismatch }
        for (index, entry) in block.entries.enumerated() where !isVerifiedTransaction(entry.transaction.id) {
            guard entry.transaction.hasValidSignature else { return .badTransactionSignature(entryIndex: index) }
        }
        do {
            changes = try BlockExecutor(genesis: genesis).execute(block, state: state)
        } catch let error as BlockExecutionError {
            return .invalidBlock(error)
        } catch {
            return .stateUnavailable(String(describing: error))
        }
        return nil
    }
}
