import Ledger

/// Builds real chains for tests and benchmarks: a genesis with `organisationCount` organisations (one
/// validator each), transactions signed by name-derived keys, blocks built by the real `BlockExecutor`,
/// and commit certificates signed by every validator. Deterministic for a given seed.
public struct ChainBuilder {
    public let genesis: Genesis
    public private(set) var state: MemoryLedgerState
    public private(set) var height: UInt64 = 0
    public private(set) var headHash: SHA256Digest
    public private(set) var timeMs: UInt64
    public var random: SeededRandom
    private let executor: BlockExecutor
    private let validatorKeys: [Ed25519.PrivateKey]

    public static let chainID = ChainID("test-chain")!
    public static let genesisTimeMs: UInt64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

    /// Organisation `i` is `org-i` with admin key "admin-i" and validator key "validator-i".
    public init(seed: UInt64 = 1, organisationCount: Int = 1, consensus: ConsensusParameters = ConsensusParameters()) {
        let organisations = (0..<organisationCount).map {
            Organisation(id: Self.organisation($0), name: "Hospital \($0)", adminKey: TestKeys.identity("admin-\($0)"))
        }
        let validators = (0..<organisationCount).map {
            Validator(name: "node-\($0)", organisation: Self.organisation($0), key: TestKeys.identity("validator-\($0)"),
                      address: "127.0.0.1:\(7400 + $0)")
        }
        genesis = try! Genesis(chainID: Self.chainID, genesisTimeMs: Self.genesisTimeMs, organisations: organisations,
                               validators: validators, consensus: consensus)
        validatorKeys = (0..<organisationCount).map { TestKeys.key("validator-\($0)") }
        state = MemoryLedgerState(transactionMaxAgeMs: consensus.transactionMaxAgeMs)
        executor = BlockExecutor(genesis: genesis)
        headHash = genesis.hash
        timeMs = Self.genesisTimeMs
        random = SeededRandom(seed: seed)
    }

    public static func organisation(_ index: Int) -> OrganisationID { OrganisationID("org-\(index)")! }

    /// A transaction signed by `key`, created at the current block time unless told otherwise.
    public mutating func sign(_ body: TransactionBody, by key: Ed25519.PrivateKey, createdAtMs: UInt64? = nil) -> SignedTransaction {
        Transaction(chainID: genesis.chainID, signer: Identity(publicKey: key.publicKey), nonce: random.bytes(Transaction.nonceByteCount),
                    createdAtMs: createdAtMs ?? timeMs, body: body).signed(with: key)
    }

    /// Builds, certifies and applies the next block from `candidates`, `advanceMs` after the previous one.
    /// Transactions that cannot commit are left out and returned.
    @discardableResult
    public mutating func commit(
        _ candidates: [SignedTransaction], advanceMs: UInt64 = 1_000
    ) -> (block: CommittedBlock, changes: StateChanges, rejected: [(SignedTransaction, TransactionRejection)]) {
        let nextHeight = height + 1
        let blockTimeMs = timeMs + advanceMs
        let proposal = try! executor.propose(candidates, height: nextHeight, blockTimeMs: blockTimeMs, state: state)
        let block = Block(entries: proposal.entries, height: nextHeight, timeMs: blockTimeMs, previousHash: headHash,
                          proposer: genesis.validators[Int(nextHeight) % genesis.validators.count].key, genesis: genesis)
        let header = block.header
        let certificate = certify(header)
        state.apply(proposal.changes)
        height = nextHeight
        headHash = header.hash
        timeMs = blockTimeMs
        return (CommittedBlock(block: block, certificate: certificate),
                proposal.changes, proposal.rejected)
    }

    /// A certificate signed by every validator, in round 0.
    public func certify(_ header: BlockHeader, round: UInt32 = 0) -> CommitCertificate {
        let vote = Vote(chainID: genesis.chainID, type: .precommit, height: header.height, round: round, blockHash: header.hash)
        let message = vote.canonicalBytes
        let signatures = validatorKeys.enumerated().map {
            CommitCertificate.Signature(validatorIndex: UInt16($0.offset), signature: $0.element.signature(for: message))
        }
        return CommitCertificate(height: header.height, round: round, blockHash: header.hash, signatures: signatures)
    }

    /// The key of validator `index`, and of the admin of organisation `index`.
    public func validatorKey(_ index: Int = 0) -> Ed25519.PrivateKey { validatorKeys[index] }
    public func adminKey(_ index: Int = 0) -> Ed25519.PrivateKey { TestKeys.key("admin-\(index)") }

    /// A fresh random record id.
    public mutating func newRecordID() -> RecordID { RecordID(bytes: random.bytes(RecordID.byteCount))! }

    /// The model test service results name: `heart-v1`, hash SHA-256("healthledger-test-model/heart-v1").
    public static let testModel = ModelReference(id: ModelID("heart-v1")!, hash: SHA256.hash(Array("healthledger-test-model/heart-v1".utf8)))

    /// A `ServiceResult` answering the access `access`, signed by validator `validator` (the node of
    /// organisation `validator`), with input and output hashes drawn from the seed.
    public mutating func serviceResult(
        answering access: TransactionID, validator: Int = 0, model: ModelReference = ChainBuilder.testModel, createdAtMs: UInt64? = nil
    ) -> SignedTransaction {
        let body = ServiceResult(access: access, model: model, inputHash: SHA256.hash(random.bytes(32)),
                                 outputHash: SHA256.hash(random.bytes(32)))
        return sign(.serviceResult(body), by: validatorKey(validator), createdAtMs: createdAtMs)
    }
}
