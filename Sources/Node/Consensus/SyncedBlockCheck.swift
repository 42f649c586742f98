import Consensus
import Crypto
import Ledger

/// The checks a block fetched from a peer must pass before this node appends it (catch-up). Nothing a peer
/// sends is trusted: the block must be everything the offline auditor accepts (`ChainVerifier`), checked
/// against this node's own committed head and consent state, with every signature verified.
///
/// Split in two because the halves run on different threads: `signatures` (the expensive part: every
/// certificate signature and every transaction signature not verified before) on the peer reader that
/// received the blocks, so catch-up uses every core; `rules` (links, certificate power, re-execution of
/// every transaction and access outcome) on the consensus thread, against the head it is about to extend.
enum SyncedBlockCheck {
    /// Verifies the certificate's signatures against the genesis keys and every transaction signature
    /// (remembering those that verify). Throws the first failure.
    static func signatures(_ committed: CommittedBlock, genesis: Genesis, validatorKeys: [Ed25519.PublicKey],
                           verified: VerifiedSignatures) throws(VerificationFailure) {
        let height = committed.height
        let message = committed.certificate.vote(chainID: genesis.chainID).canonicalBytes
        for signature in committed.certificate.signatures {
            let index = Int(signature.validatorIndex)
            guard index < validatorKeys.count else {
                throw VerificationFailure(height: height, reason: .unknownValidator(index: signature.validatorIndex))
            }
            guard validatorKeys[index].isValidSignature(signature.signature, for: message) else {
                throw VerificationFailure(height: height, reason: .badCertificateSignature(validatorIndex: signature.validatorIndex))
            }
        }
        for (index, entry) in committed.block.entries.enumerated() where !verified.verify(entry.transaction) {
            throw VerificationFailure(height: height, reason: .badTransactionSignature(entryIndex: index))
        }
    }

    /// Checks `committed` as the block after `head` (links, time, validator set, proposer, Merkle root,
    /// certificate height, hash and power) and re-executes it against `state`; returns the state changes to
    /// append with it. Signatures must have passed `signatures` first.
    static func rules(_ committed: CommittedBlock, genesis: Genesis, head: ChainHead,
                      state: any LedgerStateReader) throws(VerificationFailure) -> StateChanges {
        let block = committed.block
        let header = block.header
        let height = head.height + 1
        func fail(_ reason: VerificationFailure.Reason) -> VerificationFailure { VerificationFailure(height: height, reason: reason) }
        guard header.chainID == genesis.chainID else { throw fail(.wrongChain(header.chainID)) }
        guard header.height == height else { throw fail(.unexpectedHeight(header.height)) }
        guard header.previousHash == head.hash else { throw fail(.previousHashMismatch) }
        guard header.timeMs > head.timeMs else { throw fail(.timeNotIncreasing) }
        guard header.validatorSetHash == genesis.validatorSetHash else { throw fail(.validatorSetMismatch) }
        guard header.stateRoot == .zero else { throw fail(.unexpectedStateRoot) }
        guard genesis.validatorIndex(of: header.proposer) != nil else { throw fail(.unknownProposer) }
        guard Int(header.entryCount) == block.entries.count else { throw fail(.entryCountMismatch) }
        guard MerkleTree.root(leafHashes: block.leafHashes) == header.entriesRoot else { throw fail(.entriesRootMismatch) }
        let certificate = committed.certificate
        guard certificate.height == height, certificate.blockHash == header.hash else { throw fail(.certificateMismatch) }
        var signedPower: UInt64 = 0
        for signature in certificate.signatures {
            guard Int(signature.validatorIndex) < genesis.validators.count else {
                throw fail(.unknownValidator(index: signature.validatorIndex))
            }
            signedPower += genesis.validators[Int(signature.validatorIndex)].power
        }
        guard signedPower * 3 > genesis.totalVotingPower * 2 else {
            throw fail(.insufficientVotingPower(signed: signedPower, total: genesis.totalVotingPower))
        }
        do {
            return try BlockExecutor(genesis: genesis).execute(block, state: state)
        } catch let error as BlockExecutionError {
            throw fail(.invalidBlock(error))
        } catch {
            throw fail(.stateUnavailable(String(describing: error)))
        }
    }
}
