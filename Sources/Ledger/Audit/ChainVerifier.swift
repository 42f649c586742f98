import Crypto

/// Why a chain failed verification, and at which height. Height 0 means the export as a whole (its header,
/// its genesis binding, or its end).
public struct VerificationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public let height: UInt64
    public let reason: Reason

    public init(height: UInt64, reason: Reason) {
        self.height = height
        self.reason = reason
    }

    public enum Reason: Hashable, Sendable, CustomStringConvertible {
        case undecodable(DecodingError)
        case wrongChain(ChainID)
        case unexpectedHeight(UInt64)
        case previousHashMismatch
        case timeNotIncreasing
        case validatorSetMismatch
        case unexpectedStateRoot
        case unknownProposer
        case entryCountMismatch
        case entriesRootMismatch
        case invalidBlock(BlockExecutionError)
        case certificateMismatch
        case unknownValidator(index: UInt16)
        case insufficientVotingPower(signed: UInt64, total: UInt64)
        case badCertificateSignature(validatorIndex: UInt16)
        case badTransactionSignature(entryIndex: Int)
        case stateUnavailable(String)
        case exportMismatch(String)

        public var description: String {
            switch self {
            case let .undecodable(error): return "cannot decode: \(error)"
            case let .wrongChain(chain): return "block is for chain \(chain)"
            case let .unexpectedHeight(height): return "block claims height \(height)"
            case .previousHashMismatch: return "previous-hash link does not match the preceding block"
            case .timeNotIncreasing: return "block time is not later than the preceding block's"
            case .validatorSetMismatch: return "validator set hash differs from the genesis validator set"
            case .unexpectedStateRoot: return "state root must be all zero in format version 1"
            case .unknownProposer: return "proposer is not a genesis validator"
            case .entryCountMismatch: return "entry count in the header differs from the entries"
            case .entriesRootMismatch: return "Merkle root of the entries differs from the header"
            case let .invalidBlock(error): return "the ledger's rules reject it: \(error)"
            case .certificateMismatch: return "commit certificate is for another height or block"
            case let .unknownValidator(index): return "certificate names validator index \(index), not in genesis"
            case let .insufficientVotingPower(signed, total): return "certificate has \(signed) of \(total) voting power, not more than 2/3"
            case let .badCertificateSignature(index): return "certificate signature of validator \(index) does not verify"
            case let .badTransactionSignature(index): return "signature of entry \(index) does not verify"
            case let .stateUnavailable(detail): return "consent state unavailable: \(detail)"
            case let .exportMismatch(detail): return detail
            }
        }
    }

    public var description: String { height == 0 ? "chain: \(reason)" : "height \(height): \(reason)" }
}

/// One signature the verifier needs checked. The verifier hands these out instead of checking them inline,
/// so a driver can spread them over all cores; the chain is valid only if every one passes.
public struct SignatureCheck: Sendable {
    public enum Subject: Sendable, Hashable {
        case transaction(entryIndex: Int)
        case certificate(validatorIndex: UInt16)
    }

    public let height: UInt64
    public let subject: Subject
    public let signer: Identity
    public let message: [UInt8]
    public let signature: [UInt8]

    /// Checks the signature; the failure to report when it does not verify.
    public func run() -> VerificationFailure? {
        guard !signer.verifies(signature, for: message) else { return nil }
        switch subject {
        case let .transaction(index): return VerificationFailure(height: height, reason: .badTransactionSignature(entryIndex: index))
        case let .certificate(index): return VerificationFailure(height: height, reason: .badCertificateSignature(validatorIndex: index))
        }
    }
}

/// Verifies a chain block by block, trusting nothing but the genesis: hash links, heights, strictly
/// increasing block time, Merkle roots, commit certificates (more than 2/3 of the genesis voting power),
/// every ledger rule including replay, and every access outcome re-derived from the consent state at its
/// height. Pure: it holds only the previous block's hash and time plus the consent state, so a chain of
/// any length streams through it.
public struct ChainVerifier<State: LedgerState> {
    public let genesis: Genesis
    public private(set) var state: State
    private let executor: BlockExecutor
    private let validatorSetHash: SHA256Digest
    /// Height of the last block appended (0 before the first).
    public private(set) var height: UInt64 = 0
    /// Hash of the last block appended (the genesis hash before the first).
    public private(set) var headHash: SHA256Digest
    public private(set) var headTimeMs: UInt64
    /// Entries in all blocks appended so far.
    public private(set) var entryCount: UInt64 = 0

    public init(genesis: Genesis, state: State) {
        self.genesis = genesis
        self.state = state
        executor = BlockExecutor(genesis: genesis)
        validatorSetHash = genesis.validatorSetHash
        headHash = genesis.hash
        headTimeMs = genesis.genesisTimeMs
    }

    /// Checks `committed` as the next block, applies it to the state, and returns the signatures that must
    /// still be checked (every transaction's and every certificate signature).
    public mutating func append(_ committed: CommittedBlock) throws(VerificationFailure) -> [SignatureCheck] {
        let expectedHeight = height + 1
        func fail(_ reason: VerificationFailure.Reason) -> VerificationFailure {
            VerificationFailure(height: expectedHeight, reason: reason)
        }
        let block = committed.block
        let header = block.header
        guard header.chainID == genesis.chainID else { throw fail(.wrongChain(header.chainID)) }
        guard header.height == expectedHeight else { throw fail(.unexpectedHeight(header.height)) }
        guard header.previousHash == headHash else { throw fail(.previousHashMismatch) }
        guard header.timeMs > headTimeMs else { throw fail(.timeNotIncreasing) }
        guard header.validatorSetHash == validatorSetHash else { throw fail(.validatorSetMismatch) }
        guard header.stateRoot == .zero else { throw fail(.unexpectedStateRoot) }
        guard genesis.validatorIndex(of: header.proposer) != nil else { throw fail(.unknownProposer) }
        guard Int(header.entryCount) == block.entries.count else { throw fail(.entryCountMismatch) }
        let entryBytes = block.entries.map(\.canonicalBytes)
        guard MerkleTree.root(leafHashes: entryBytes.map(MerkleTree.leafHash)) == header.entriesRoot else {
            throw fail(.entriesRootMismatch)
        }
        let blockHash = header.hash
        let certificateChecks = try checkCertificate(committed.certificate, blockHash: blockHash, height: expectedHeight)
        let changes: StateChanges
        do {
            changes = try executor.execute(block, state: state)
            try state.apply(changes)
        } catch let error as BlockExecutionError {
            throw fail(.invalidBlock(error))
        } catch {
            throw fail(.stateUnavailable(String(describing: error)))
        }
        height = expectedHeight
        headHash = blockHash
        headTimeMs = header.timeMs
        entryCount += UInt64(block.entries.count)
        let transactionChecks = block.entries.enumerated().map { index, entry in
            SignatureCheck(height: expectedHeight, subject: .transaction(entryIndex: index), signer: entry.transaction.transaction.signer,
                           message: entry.transaction.payload, signature: entry.transaction.signature)
        }
        return transactionChecks + certificateChecks
    }

    private func checkCertificate(
        _ certificate: CommitCertificate, blockHash: SHA256Digest, height: UInt64
    ) throws(VerificationFailure) -> [SignatureCheck] {
        guard certificate.height == height, certificate.blockHash == blockHash else {
            throw VerificationFailure(height: height, reason: .certificateMismatch)
        }
        let message = certificate.vote(chainID: genesis.chainID).canonicalBytes
        var signedPower: UInt64 = 0
        var checks: [SignatureCheck] = []
        for signature in certificate.signatures {
            guard Int(signature.validatorIndex) < genesis.validators.count else {
                throw VerificationFailure(height: height, reason: .unknownValidator(index: signature.validatorIndex))
            }
            let validator = genesis.validators[Int(signature.validatorIndex)]
            signedPower += validator.power
            checks.append(SignatureCheck(height: height, subject: .certificate(validatorIndex: signature.validatorIndex),
                                         signer: validator.key, message: message, signature: signature.signature))
        }
        let totalPower = genesis.totalVotingPower
        guard signedPower * 3 > totalPower * 2 else {
            throw VerificationFailure(height: height, reason: .insufficientVotingPower(signed: signedPower, total: totalPower))
        }
        return checks
    }
}

extension ChainVerifier {
    /// Verifies `blocks` in order on the calling thread, signatures included; for tests and small chains.
    /// Returns the first failure, or nil when every block verifies.
    public mutating func verifySequentially(_ blocks: some Sequence<CommittedBlock>) -> VerificationFailure? {
        for committed in blocks {
            do {
                let checks = try append(committed)
                if let failure = checks.lazy.compactMap({ $0.run() }).first { return failure }
            } catch {
                return error
            }
        }
        return nil
    }
}
