import Crypto
import Ledger

/// What `RecordVault.put` returns: everything a `RegisterRecord` transaction needs, and nothing secret.
public struct VaultReceipt: Hashable, Sendable {
    /// The record's id, 16 random bytes.
    public let record: RecordID
    /// The resource type, such as `Observation`.
    public let type: RecordType
    /// The patient the record is about.
    public let patient: Identity
    /// The organisation that keeps the record.
    public let custodian: OrganisationID
    /// SHA-256(salt || normalised resource): safe to publish, because the 32-byte random salt stays in
    /// the vault, so not even a low-entropy record can be guessed from it.
    public let commitment: SHA256Digest
}

/// A record read back from the vault: the normalised resource and the salt that opens its commitment.
///
/// Holds health data and the salt: its `description` and mirror show only the id and type, so printing
/// or dumping it cannot leak them.
public struct VaultRecord: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The record's id.
    public let id: RecordID
    /// The resource type.
    public let type: RecordType
    /// The patient the record is about.
    public let patient: Identity
    /// The organisation that keeps the record.
    public let custodian: OrganisationID
    /// The normalised FHIR JSON, exactly the bytes the commitment covers.
    public let resource: [UInt8]
    /// The 32-byte salt of the commitment. Secret until the record is disclosed.
    public let salt: [UInt8]

    /// The commitment recomputed from the salt and the resource; equals the one on chain.
    public var commitment: SHA256Digest { RecordCommitment.compute(salt: salt, resource: resource) }

    public var description: String { "VaultRecord(\(id), \(type))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["id": id, "type": type]) }
}

/// The on-chain commitment to a record.
enum RecordCommitment {
    /// The salt length in bytes.
    static let saltByteCount = 32

    /// SHA-256(salt || resource), hashed in two parts so no concatenated copy of the secret bytes is made.
    static func compute(salt: [UInt8], resource: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(salt)
        hasher.update(resource)
        return hasher.finalize()
    }
}
