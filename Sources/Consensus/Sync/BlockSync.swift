import Ledger

/// Catching up with committed blocks from a peer: the pure parts shared by the node and the simulator.
///
/// A validator that missed blocks (it was down, partitioned, or missed a proposal) asks a peer for them
/// (`SyncRequest`) and gets them with their commit certificates (`SyncResponse`). Nothing in a response is
/// trusted: each block must pass everything the offline auditor checks (`ChainVerifier`) and every
/// signature must verify, before it is applied. So a lying peer can waste a request, never corrupt a node.
public enum BlockSync {
    /// The answer to `request` from a node whose chain ends at `headHeight`: consecutive blocks from the
    /// requested height, as many as asked and available. `block` returns the committed block at a height.
    public static func response(to request: SyncRequest, headHeight: UInt64, block: (UInt64) -> CommittedBlock?) -> SyncResponse {
        guard request.fromHeight <= headHeight else { return SyncResponse(blocks: []) }
        let last = min(headHeight, request.fromHeight + UInt64(request.maxCount) - 1)
        var blocks: [CommittedBlock] = []
        for height in request.fromHeight...last {
            guard let committed = block(height) else { break }
            blocks.append(committed)
        }
        return SyncResponse(blocks: blocks)
    }

    /// Verifies `committed` as the next block of `verifier`'s chain and applies it: every certificate and
    /// transaction signature first (transactions named by `isVerifiedTransaction` were verified before), then
    /// the verifier's checks of links, certificate power and ledger rules. On failure nothing is applied.
    public static func verifyAndAppend<State: LedgerState>(
        _ committed: CommittedBlock, to verifier: inout ChainVerifier<State>,
        isVerifiedTransaction: (TransactionID) -> Bool = { _ in false }
    ) throws(VerificationFailure) {
        let genesis = verifier.genesis
        let height = verifier.height + 1
        let message = committed.certificate.vote(chainID: genesis.chainID).canonicalBytes
        for signature in committed.certificate.signatures {
            let index = Int(signature.validatorIndex)
            guard index < genesis.validators.count else {
                throw VerificationFailure(height: height, reason: .unknownValidator(index: signature.validatorIndex))
            }
            guard genesis.validators[index].key.verifies(signature.signature, for: message) else {
                throw VerificationFailure(height: height, reason: .badCertificateSignature(validatorIndex: signature.validatorIndex))
            }
        }
        for (index, entry) in committed.block.entries.enumerated() where !isVerifiedTransaction(entry.transaction.id) {
            guard entry.transaction.hasValidSignature else {
                throw VerificationFailure(height: height, reason: .badTransactionSignature(entryIndex: index))
            }
        }
        // Every signature the verifier hands back was checked above.
        _ = try verifier.append(committed)
    }
}
