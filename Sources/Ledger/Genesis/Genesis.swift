import Crypto

/// A hospital or other member of the consortium.
public struct Organisation: Hashable, Sendable {
    public let id: OrganisationID
    /// Display name; public, never health information. 1-128 printable characters.
    public let name: String
    /// The key that enrols the organisation's practitioners.
    public let adminKey: Identity

    public init(id: OrganisationID, name: String, adminKey: Identity) {
        self.id = id
        self.name = name
        self.adminKey = adminKey
    }
}

/// A consensus participant: a node run by an organisation.
public struct Validator: Hashable, Sendable {
    public let name: String
    public let organisation: OrganisationID
    /// The node key: signs votes, blocks and the custodian's `RegisterRecord` transactions; its TLS
    /// certificate key is pinned to it.
    public let key: Identity
    /// Peer address `host:port`.
    public let address: String
    public let power: UInt64

    public init(name: String, organisation: OrganisationID, key: Identity, address: String, power: UInt64 = 1) {
        self.name = name
        self.organisation = organisation
        self.key = key
        self.address = address
        self.power = power
    }
}

/// Consensus and block parameters fixed at genesis. Times in milliseconds.
public struct ConsensusParameters: Hashable, Sendable {
    public var blockMaxEntries: UInt32 = 2_000
    public var blockMaxBytes: UInt32 = 4 * 1024 * 1024
    /// With several validators, the pause after a commit before the next height when no transaction waits (an
    /// idle consortium commits an empty block about this often; docs/CONSENSUS.md section 10). A validator that
    /// certifies alone commits by group commit instead (docs/ARCHITECTURE.md), without waiting.
    public var blockIntervalMs: UInt64 = 100
    /// A transaction is accepted only in blocks whose time is at most this much after its creation time.
    public var transactionMaxAgeMs: UInt64 = 10 * 60 * 1000
    /// ... and at most this much before it (tolerated clock skew of signers).
    public var transactionMaxFutureMs: UInt64 = 60 * 1000
    /// A validator does not accept a proposal whose time is further than this from its own clock.
    public var blockTimeMaxDriftMs: UInt64 = 10 * 1000
    public var timeoutProposeMs: UInt64 = 1_000
    public var timeoutVoteMs: UInt64 = 500
    /// Added to each timeout per round, so rounds slow down until the network keeps up.
    public var timeoutDeltaMs: UInt64 = 500

    public init() {}

    /// The longest replay window a genesis may set (24 hours): nothing older than this before a block can
    /// still be committed or answered in it, whatever the genesis says.
    public static let transactionMaxAgeMsLimit: UInt64 = 86_400_000

    /// Each parameter with its JSON name, in canonical order; used by JSON and canonical encodings alike.
    /// (Key paths are not Sendable; this table is immutable.)
    nonisolated(unsafe) static let fields: [(name: String, path: WritableKeyPath<ConsensusParameters, UInt64>, range: ClosedRange<UInt64>)] = [
        ("blockIntervalMs", \.blockIntervalMs, 1...60_000),
        ("transactionMaxAgeMs", \.transactionMaxAgeMs, 1_000...transactionMaxAgeMsLimit),
        ("transactionMaxFutureMs", \.transactionMaxFutureMs, 0...3_600_000),
        ("blockTimeMaxDriftMs", \.blockTimeMaxDriftMs, 100...3_600_000),
        ("timeoutProposeMs", \.timeoutProposeMs, 1...600_000),
        ("timeoutVoteMs", \.timeoutVoteMs, 1...600_000),
        ("timeoutDeltaMs", \.timeoutDeltaMs, 0...600_000),
    ]
    static let blockMaxEntriesRange: ClosedRange<UInt32> = 1...UInt32(Block.maxEntries)
    static let blockMaxBytesRange: ClosedRange<UInt32> = 4_096...64 * 1024 * 1024
}

/// The genesis document: everything an auditor needs to trust, and nothing else (docs/GENESIS.md).
/// Its hash is block 1's previous hash, so a chain is bound to exactly one genesis.
public struct Genesis: Hashable, Sendable, CanonicalEncodable {
    public static let domainTag = "healthledger/genesis"
    public static let formatVersion: UInt8 = 1
    public static let maxValidators = 1_024
    public static let maxOrganisations = 1_024

    public let chainID: ChainID
    /// The time of height 0: block 1 must be later (milliseconds since the Unix epoch).
    public let genesisTimeMs: UInt64
    public let organisations: [Organisation]
    public let validators: [Validator]
    public let consensus: ConsensusParameters

    /// Validates and builds a genesis; throws on duplicates, unknown organisations, or out-of-range values.
    public init(chainID: ChainID, genesisTimeMs: UInt64, organisations: [Organisation], validators: [Validator],
                consensus: ConsensusParameters = ConsensusParameters()) throws(GenesisError) {
        self.chainID = chainID
        self.genesisTimeMs = genesisTimeMs
        self.organisations = organisations
        self.validators = validators
        self.consensus = consensus
        try validate()
    }

    private func validate() throws(GenesisError) {
        guard (1...Self.maxOrganisations).contains(organisations.count) else {
            throw .invalid(field: "organisations", reason: "between 1 and \(Self.maxOrganisations) required")
        }
        guard Set(organisations.map(\.id)).count == organisations.count else {
            throw .invalid(field: "organisations", reason: "organisation ids must be unique")
        }
        for organisation in organisations where !Self.isDisplayText(organisation.name, maxBytes: 128) {
            throw .invalid(field: "organisations[\(organisation.id)].name", reason: "1-128 printable characters required")
        }
        guard (1...Self.maxValidators).contains(validators.count) else {
            throw .invalid(field: "validators", reason: "between 1 and \(Self.maxValidators) required")
        }
        guard Set(validators.map(\.key)).count == validators.count, Set(validators.map(\.name)).count == validators.count else {
            throw .invalid(field: "validators", reason: "validator keys and names must be unique")
        }
        let organisationIDs = Set(organisations.map(\.id))
        for validator in validators {
            guard Self.isDisplayText(validator.name, maxBytes: 64) else {
                throw .invalid(field: "validators.name", reason: "1-64 printable characters required")
            }
            guard organisationIDs.contains(validator.organisation) else {
                throw .invalid(field: "validators[\(validator.name)].organisation", reason: "not a listed organisation")
            }
            guard Self.isDisplayText(validator.address, maxBytes: 255), validator.address.contains(":") else {
                throw .invalid(field: "validators[\(validator.name)].address", reason: "host:port required")
            }
            guard (1...1_000_000).contains(validator.power) else {
                throw .invalid(field: "validators[\(validator.name)].power", reason: "between 1 and 1000000 required")
            }
        }
        guard ConsensusParameters.blockMaxEntriesRange.contains(consensus.blockMaxEntries),
            ConsensusParameters.blockMaxBytesRange.contains(consensus.blockMaxBytes)
        else { throw .invalid(field: "consensus", reason: "block size limits out of range") }
        for field in ConsensusParameters.fields where !field.range.contains(consensus[keyPath: field.path]) {
            throw .invalid(field: "consensus.\(field.name)", reason: "must be within \(field.range)")
        }
    }

    static func isDisplayText(_ text: String, maxBytes: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maxBytes && text.unicodeScalars.allSatisfy {
            // Control and format characters (such as right-to-left overrides) could disguise a name.
            $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
        }
    }

    /// SHA-256 of the canonical encoding: the previous hash of block 1.
    public var hash: SHA256Digest { SHA256.hash(canonicalBytes) }

    /// SHA-256 of the validator set (docs/FORMAT.md section 7), carried in every block header.
    public var validatorSetHash: SHA256Digest {
        var encoder = CanonicalEncoder()
        encoder.string("healthledger/validators")
        encoder.u8(1)
        encoder.list(validators) {
            $1.key.encode(to: &$0)
            $0.u64($1.power)
        }
        return SHA256.hash(encoder.bytes)
    }

    public var totalVotingPower: UInt64 { validators.reduce(0) { $0 + $1.power } }

    public func organisation(_ id: OrganisationID) -> Organisation? { organisations.first { $0.id == id } }

    /// The index of the validator with `key`, if any.
    public func validatorIndex(of key: Identity) -> Int? { validators.firstIndex { $0.key == key } }

    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.string(Self.domainTag)
        encoder.u8(Self.formatVersion)
        chainID.encode(to: &encoder)
        encoder.u64(genesisTimeMs)
        encoder.list(organisations) {
            $1.id.encode(to: &$0)
            $0.string($1.name)
            $1.adminKey.encode(to: &$0)
        }
        encoder.list(validators) {
            $0.string($1.name)
            $1.organisation.encode(to: &$0)
            $1.key.encode(to: &$0)
            $0.string($1.address)
            $0.u64($1.power)
        }
        encoder.u32(consensus.blockMaxEntries)
        encoder.u32(consensus.blockMaxBytes)
        for field in ConsensusParameters.fields { encoder.u64(consensus[keyPath: field.path]) }
    }
}

/// Why a genesis document was refused. Names the field and what is expected.
public enum GenesisError: Error, Equatable, Sendable, CustomStringConvertible {
    case notJSON(String)
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case let .notJSON(detail): return "the genesis file is not valid JSON (\(detail))"
        case let .invalid(field, reason): return "genesis field \(field): \(reason)"
        }
    }
}
