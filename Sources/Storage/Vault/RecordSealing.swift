import Crypto
import Ledger

/// A record's two sealed parts, as stored: each is AES-256-GCM `nonce || ciphertext || tag`.
struct SealedRecord {
    /// The normalised resource, sealed under the record's own data key.
    let content: [UInt8]
    /// The data key and the commitment salt, sealed together under the vault's key-encryption key.
    let wrappedKey: [UInt8]
}

/// The envelope encryption of one record (DESIGN section 7).
///
/// Each record gets a fresh random 256-bit data key. The content's associated data binds the record id,
/// patient, type and custodian, so a ciphertext moved to another row, or a row whose metadata was changed,
/// fails to open. The wrapped key's associated data binds the record id, so keys cannot be swapped between
/// rows either. Destroying the wrapped key destroys the only copy of the data key and the salt.
enum RecordSealing {
    static let contentDomainTag = "healthledger/vault-record"
    static let keyDomainTag = "healthledger/vault-key"
    static let keyCheckDomainTag = "healthledger/vault-key-check"
    static let formatVersion: UInt8 = 1
    static let dataKeyByteCount = 32

    /// Seals `resource` under a fresh data key and wraps the key with `salt` under `keyEncryptionKey`.
    /// The data key is zeroed before returning.
    static func seal(
        _ resource: [UInt8], salt: [UInt8], metadata: VaultReceipt, keyEncryptionKey: SymmetricKey
    ) throws(CryptoError) -> SealedRecord {
        var dataKeyBytes = SecureRandom.bytes(count: dataKeyByteCount)
        defer { dataKeyBytes.zeroize() }
        let dataKey = try SymmetricKey(bytes: dataKeyBytes)
        let content = try AESGCM.seal(resource, using: dataKey, authenticating: contentAssociatedData(metadata))
        var keyAndSalt = dataKeyBytes + salt
        defer { keyAndSalt.zeroize() }
        let wrappedKey = try AESGCM.seal(
            keyAndSalt, using: keyEncryptionKey, authenticating: keyAssociatedData(metadata.record))
        return SealedRecord(content: content.combined, wrappedKey: wrappedKey.combined)
    }

    /// Opens both parts; returns the resource and the salt.
    static func open(
        _ sealed: SealedRecord, metadata: VaultReceipt, keyEncryptionKey: SymmetricKey
    ) throws(VaultError) -> (resource: [UInt8], salt: [UInt8]) {
        var keyAndSalt = try open(
            sealed.wrappedKey, using: keyEncryptionKey, associatedData: keyAssociatedData(metadata.record),
            part: .dataKey, record: metadata.record)
        defer { keyAndSalt.zeroize() }
        guard keyAndSalt.count == dataKeyByteCount + RecordCommitment.saltByteCount else {
            throw .corruptRecord(metadata.record, reason: "the unwrapped key material has the wrong length")
        }
        var dataKeyBytes = Array(keyAndSalt[..<dataKeyByteCount])
        defer { dataKeyBytes.zeroize() }
        let dataKey: SymmetricKey
        do { dataKey = try SymmetricKey(bytes: dataKeyBytes) } catch { throw .crypto(error) }
        let resource = try open(
            sealed.content, using: dataKey, associatedData: contentAssociatedData(metadata),
            part: .content, record: metadata.record)
        return (resource, Array(keyAndSalt[dataKeyByteCount...]))
    }

    private static func open(
        _ combined: [UInt8], using key: SymmetricKey, associatedData: [UInt8], part: VaultError.SealedPart,
        record: RecordID
    ) throws(VaultError) -> [UInt8] {
        do {
            let box = try AESGCM.SealedBox(combined: combined)
            return try AESGCM.open(box, using: key, authenticating: associatedData)
        } catch {
            // A box too short to parse is as untrustworthy as one whose tag fails: both mean altered bytes.
            throw .authenticationFailed(record, part)
        }
    }

    /// The canonical encoding of (domain tag, version, record id, patient, type, custodian).
    static func contentAssociatedData(_ metadata: VaultReceipt) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.string(contentDomainTag)
        encoder.u8(formatVersion)
        metadata.record.encode(to: &encoder)
        metadata.patient.encode(to: &encoder)
        metadata.type.encode(to: &encoder)
        metadata.custodian.encode(to: &encoder)
        return encoder.bytes
    }

    /// The canonical encoding of (domain tag, version, record id).
    static func keyAssociatedData(_ record: RecordID) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.string(keyDomainTag)
        encoder.u8(formatVersion)
        record.encode(to: &encoder)
        return encoder.bytes
    }

    // MARK: Key check

    /// An empty message sealed under the key-encryption key when a vault is created, so that opening the vault
    /// with another key fails at once instead of at the first read, or worse, after new records were sealed
    /// under the wrong key.
    static func sealKeyCheck(under keyEncryptionKey: SymmetricKey) throws(CryptoError) -> [UInt8] {
        try AESGCM.seal([], using: keyEncryptionKey, authenticating: keyCheckAssociatedData).combined
    }

    /// True when `combined` is the key check sealed under `keyEncryptionKey`.
    static func keyCheckOpens(_ combined: [UInt8], under keyEncryptionKey: SymmetricKey) -> Bool {
        guard let box = try? AESGCM.SealedBox(combined: combined) else { return false }
        return (try? AESGCM.open(box, using: keyEncryptionKey, authenticating: keyCheckAssociatedData)) != nil
    }

    private static var keyCheckAssociatedData: [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.string(keyCheckDomainTag)
        encoder.u8(formatVersion)
        return encoder.bytes
    }
}
