import Crypto
import Foundation
import Ledger
import SQLite

/// A failure of the record vault. Safe to print and log: it names record ids (which are on chain anyway),
/// paths and element names, never record content, keys or salts.
public enum VaultError: Error, Sendable, CustomStringConvertible {
    /// Which sealed part of a record failed authentication.
    public enum SealedPart: Sendable, Hashable {
        /// The data key and salt, wrapped under the key-encryption key.
        case dataKey
        /// The resource, sealed under the data key.
        case content
    }

    /// What is wrong with a key-encryption key file.
    public enum KeyFileProblem: Sendable, Hashable {
        /// The file does not hold exactly the key's 32 bytes.
        case wrongSize(actual: Int)
        /// Group or others have some access to the file (its permission bits, in octal).
        case accessibleByOthers(permissions: String)
        /// The path is a directory, device or other non-regular file.
        case notARegularFile
        /// A system call failed.
        case systemCall(String, errno: Int32)
    }

    /// The resource was refused; the inner error says which element and why.
    case invalidResource(FHIRResourceError)
    /// The vault holds no record with this id.
    case recordNotFound(RecordID)
    /// The record was erased: its key and salt are destroyed and it can never be read again.
    case recordErased(RecordID)
    /// A sealed part failed authentication: a wrong key-encryption key, or its rows were altered in the file.
    case authenticationFailed(RecordID, SealedPart)
    /// A row holds data the vault never writes (a malformed identity or type, a commitment mismatch).
    case corruptRecord(RecordID, reason: String)
    /// The vault file was created under another key-encryption key.
    case keyEncryptionKeyMismatch(vaultPath: String)
    /// The key-encryption key file cannot be used.
    case keyFile(path: String, KeyFileProblem)
    /// A cryptographic operation failed while sealing.
    case crypto(CryptoError)
    /// The vault's SQLite file failed.
    case database(SQLiteError)

    public var description: String {
        switch self {
        case .invalidResource(let error):
            "invalid FHIR resource: \(error)"
        case .recordNotFound(let id):
            "record \(id) is not in the vault"
        case .recordErased(let id):
            "record \(id) was erased: its key is destroyed and its content cannot be recovered"
        case let .authenticationFailed(id, part):
            "record \(id): the sealed \(part == .dataKey ? "data key" : "content") failed authentication "
                + "(wrong key-encryption key, or the vault file was altered)"
        case let .corruptRecord(id, reason):
            "record \(id) is corrupt: \(reason)"
        case .keyEncryptionKeyMismatch(let vaultPath):
            "the vault \(vaultPath) was created under a different key-encryption key; start the node with the "
                + "key file that belongs to this vault"
        case let .keyFile(path, problem):
            "key-encryption key file \(path): \(Self.explain(problem))"
        case .crypto(let error):
            "vault encryption failed: \(error)"
        case .database(let error):
            "vault database: \(error)"
        }
    }

    private static func explain(_ problem: KeyFileProblem) -> String {
        switch problem {
        case .wrongSize(let actual):
            "holds \(actual) bytes, expected \(RecordVault.keyEncryptionKeyByteCount); it is truncated or not a "
                + "key file (restore it from a backup; a new key cannot read existing records)"
        case .accessibleByOthers(let permissions):
            "permissions are \(permissions), but only its owner may have access: run chmod 600 on it"
        case .notARegularFile:
            "is not a regular file"
        case let .systemCall(name, errno):
            "\(name) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}
