import Crypto

/// A block header (docs/FORMAT.md section 6). Its SHA-256 is the block hash that validators sign.
public struct BlockHeader: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public static let domainTag = "healthledger/block"
    public static let version: UInt8 = 1

    public var chainID: ChainID
    public var height: UInt64
    /// Block time, agreed by consensus, strictly increasing (milliseconds since the Unix epoch).
    public var timeMs: UInt64
    /// The previous block's hash; for height 1, the genesis hash.
    public var previousHash: SHA256Digest
    /// RFC 6962 Merkle root over the encoded entries.
    public var entriesRoot: SHA256Digest
    public var entryCount: UInt32
    /// Reserved for a commitment to the consent state; all zero while no state root is computed.
    public var stateRoot: SHA256Digest
    /// The validator that proposed the block.
    public var proposer: Identity
    /// Hash of the validator set that certifies this block (docs/FORMAT.md section 7).
    public var validatorSetHash: SHA256Digest

    public init(chainID: ChainID, height: UInt64, timeMs: UInt64, previousHash: SHA256Digest, entriesRoot: SHA256Digest,
                entryCount: UInt32, stateRoot: SHA256Digest = .zero, proposer: Identity, validatorSetHash: SHA256Digest) {
        self.chainID = chainID
        self.height = height
        self.timeMs = timeMs
        self.previousHash = previousHash
        self.entriesRoot = entriesRoot
        self.entryCount = entryCount
        self.stateRoot = stateRoot
        self.proposer = proposer
        self.validatorSetHash = validatorSetHash
    }

    public var hash: SHA256Digest { SHA256.hash(canonicalBytes) }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.version)
        chainID.encode(to: &encoder)
        encoder.u64(height)
        encoder.u64(timeMs)
        encoder.digest(previousHash)
        encoder.digest(entriesRoot)
        encoder.u32(entryCount)
        encoder.digest(stateRoot)
        proposer.encode(to: &encoder)
        encoder.digest(validatorSetHash)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        try decoder.expectTag(Self.domainTag)
        try decoder.expectVersion(Self.version, structure: "block header")
        chainID = try ChainID(from: &decoder)
        height = try decoder.u64("height")
        timeMs = try decoder.u64("block time")
        previousHash = try decoder.digest("previous hash")
        entriesRoot = try decoder.digest("entries root")
        entryCount = try decoder.u32("entry count")
        stateRoot = try decoder.digest("state root")
        proposer = try Identity(from: &decoder)
        validatorSetHash = try decoder.digest("validator set hash")
    }
}

/// The committed result of a `RecordAccess` request, derived by the policy and re-derived by every validator.
public typealias AccessOutcome = AccessDecision

extension AccessDecision: CanonicalEncodable, CanonicalDecodable {
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case let .allowed(grant, records):
            encoder.u8(1)
            encoder.optional(grant) { $1.encode(to: &$0) }
            encoder.list(records) { $1.encode(to: &$0) }
        case let .denied(reason):
            encoder.u8(2)
            encoder.u8(reason.rawValue)
        }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        switch try decoder.u8("access decision") {
        case 1:
            let grant = try decoder.optional("grant") { (d) throws(DecodingError) in try GrantID(from: &d) }
            let records = try decoder.list("released records", maxCount: AccessPolicy.maxReleasedRecords) {
                (d) throws(DecodingError) in try RecordID(from: &d)
            }
            guard records.isStrictlyIncreasing else {
                throw .invalidValue(field: "released records", reason: "must be sorted and unique")
            }
            self = .allowed(grant: grant, records: records)
        case 2:
            let raw = try decoder.u8("denial reason")
            guard let reason = DenialReason(rawValue: raw) else {
                throw .invalidValue(field: "denial reason", reason: "unknown reason \(raw)")
            }
            self = .denied(reason)
        case let other:
            throw .invalidValue(field: "access decision", reason: "unknown decision \(other)")
        }
    }
}

/// One event in a block: a signed transaction, and for `RecordAccess` the access outcome.
public struct BlockEntry: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    public let transaction: SignedTransaction
    /// Present exactly when the transaction is a `RecordAccess`.
    public let outcome: AccessOutcome?

    public init(transaction: SignedTransaction, outcome: AccessOutcome?) {
        precondition((transaction.transaction.kind == .recordAccess) == (outcome != nil),
                     "an entry has an outcome exactly when it is a RecordAccess")
        self.transaction = transaction
        self.outcome = outcome
    }

    public func encode(to encoder: inout CanonicalEncoder) {
        transaction.encode(to: &encoder)
        outcome?.encode(to: &encoder)
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        transaction = try SignedTransaction(from: &decoder)
        outcome = transaction.transaction.kind == .recordAccess ? try AccessOutcome(from: &decoder) : nil
    }
}

/// A block: header and entries.
public struct Block: Hashable, Sendable, CanonicalEncodable, CanonicalDecodable {
    /// The most entries any block may hold, whatever the genesis parameters say (decoding bound).
    public static let maxEntries = 100_000

    public let header: BlockHeader
    public let entries: [BlockEntry]

    public init(header: BlockHeader, entries: [BlockEntry]) {
        self.header = header
        self.entries = entries
    }

    /// A new block of `entries` extending `previousHash` on `genesis`'s chain: the chain id, entries root,
    /// entry count and validator-set hash of its header are derived from them (the state root is zero in v1).
    public init(entries: [BlockEntry], height: UInt64, timeMs: UInt64, previousHash: SHA256Digest, proposer: Identity,
                genesis: Genesis) {
        self.init(header: BlockHeader(chainID: genesis.chainID, height: height, timeMs: timeMs, previousHash: previousHash,
                                      entriesRoot: MerkleTree.root(leafHashes: Self.leafHashes(of: entries)), entryCount: UInt32(entries.count),
                                      proposer: proposer, validatorSetHash: genesis.validatorSetHash),
                  entries: entries)
    }

    /// Leaf hashes of the entries, in order.
    public var leafHashes: [SHA256Digest] { Self.leafHashes(of: entries) }

    static func leafHashes(of entries: [BlockEntry]) -> [SHA256Digest] { entries.map { MerkleTree.leafHash($0.canonicalBytes) } }

    public func encode(to encoder: inout CanonicalEncoder) {
        header.encode(to: &encoder)
        encoder.list(entries) { $1.encode(to: &$0) }
    }

    public init(from decoder: inout CanonicalDecoder) throws(DecodingError) {
        header = try BlockHeader(from: &decoder)
        entries = try decoder.list("entries", maxCount: Self.maxEntries) { (d) throws(DecodingError) in try BlockEntry(from: &d) }
    }
}
