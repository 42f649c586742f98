/// # Crypto
///
/// The one place HealthLedger touches OpenSSL's libcrypto. Everything above this module sees value types
/// (`SHA256Digest`, `Ed25519.PublicKey`, `SymmetricKey`, ...) and byte arrays, never a C pointer.
///
/// Why a module of its own: every security property of the ledger (signatures, hash chains, the vault's
/// encryption, key files) rests on these few primitives, so they live behind one small, hard-to-misuse API
/// that is tested against published known-answer vectors (RFC 8032, RFC 5869, NIST GCM) kept as data files.
///
/// Errors never carry key material or plaintext: `CryptoError` holds only a description of the operation
/// that failed, OpenSSL's error code, and at most a file path.

import COpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure inside a cryptographic operation. Safe to print: no secret, key or plaintext is ever included.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An input had the wrong length (for example a 31-byte Ed25519 key).
    case invalidLength(what: String, expected: Int, actual: Int)
    /// OpenSSL reported a failure in the named operation.
    case openSSL(operation: String, code: UInt)
    /// Authenticated decryption failed: wrong key, wrong associated data, or modified ciphertext.
    case authenticationFailed
    /// A key file could not be read: wrong passphrase, not PEM, or not the expected key type.
    case invalidKeyFile(reason: String)
    /// An argument was outside the range an operation supports (for example an HKDF output longer than
    /// 255 hash blocks). The reason names the argument, never its value when that value is secret.
    case invalidArgument(reason: String)
    /// A file-system call failed. The path is safe to print; file contents never appear here.
    case io(operation: String, path: String, errno: Int32)

    /// A human-readable, secret-free description.
    public var description: String {
        switch self {
        case let .invalidLength(what, expected, actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case let .openSSL(operation, code):
            return "OpenSSL \(operation) failed (error 0x\(String(code, radix: 16)))"
        case .authenticationFailed:
            return "authenticated decryption failed (wrong key, wrong associated data, or modified data)"
        case let .invalidKeyFile(reason):
            return "invalid key file: \(reason)"
        case let .invalidArgument(reason):
            return "invalid argument: \(reason)"
        case let .io(operation, path, code):
            return "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    /// Builds an `.openSSL` error from the thread's OpenSSL error queue, clearing it.
    static func fromOpenSSL(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        return .openSSL(operation: operation, code: code)
    }
}
