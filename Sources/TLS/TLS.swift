/// # TLS
///
/// The one place HealthLedger touches OpenSSL's libssl: mutually authenticated TLS 1.3 between validators,
/// each side's certificate key pinned to a set of Ed25519 public keys (the genesis validator keys). There is no
/// certificate authority: a certificate is only a carrier for the key, made in code from the node's Ed25519
/// key (`TLSContext`), and a peer is accepted exactly when the key it proves possession of is in the set.
///
/// - `TLSContext`: the node's certificate and private key, TLS 1.3 only, the pinned key set.
/// - `TLSConnection`: one connection over a connected, non-blocking socket descriptor that the caller owns:
///   handshake, read and write, each bounded by a timeout (`poll()`), and close. After the handshake it exposes
///   the peer's verified 32-byte key.
///
/// Why a module of its own rather than part of `Crypto`: `Crypto` holds stateless primitives that the pure
/// ledger core links; TLS works on socket descriptors and waits on them, which the core must never do. Both
/// sit at the wrapper layer: nothing above this module sees an `SSL` pointer.
///
/// Errors (`TLSError`) never carry key material: they name the failure and, for protocol errors, OpenSSL's
/// reason string.

import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// Why a TLS operation failed. Safe to print and log: no key, certificate or transferred byte is included.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation did not complete before its timeout.
    case timedOut
    /// The peer closed the connection (close_notify, end of stream or reset), or it was closed locally.
    case closed
    /// The peer's certificate key is not one of the pinned keys (or not an Ed25519 key at all).
    case peerKeyNotAllowed
    /// The peer's key is pinned, but it is not the key this dialer expected at that address.
    case peerKeyUnexpected
    /// The peer presented no certificate.
    case peerCertificateMissing
    /// The peer ended the handshake or connection with a fatal alert, typically because it refused our key.
    case refusedByPeer(alert: String)
    /// The bytes received are not TLS 1.3 as this side accepts it (OpenSSL's reason, such as
    /// "wrong version number" for plain TCP or "unsupported protocol" for TLS 1.2).
    case protocolError(String)
    /// A system call failed ("call: strerror").
    case system(String)
    /// Building the context failed inside OpenSSL (operation and OpenSSL's error code).
    case setupFailed(operation: String, code: UInt)

    /// A human-readable, secret-free description.
    public var description: String {
        switch self {
        case .timedOut: "TLS operation timed out"
        case .closed: "the TLS connection is closed"
        case .peerKeyNotAllowed: "the peer's certificate key is not a pinned validator key"
        case .peerKeyUnexpected: "the peer's key is not the validator key expected at this address"
        case .peerCertificateMissing: "the peer presented no certificate"
        case .refusedByPeer(let alert): "the peer refused the connection (TLS alert: \(alert))"
        case .protocolError(let reason): "TLS protocol error: \(reason)"
        case .system(let reason): "TLS system error: \(reason)"
        case .setupFailed(let operation, let code):
            "TLS setup failed in \(operation) (OpenSSL error 0x\(String(code, radix: 16)))"
        }
    }

    /// Builds `.setupFailed` from the thread's OpenSSL error queue, clearing it.
    static func setup(_ operation: String) -> TLSError {
        let code = ERR_get_error()
        ERR_clear_error()
        return .setupFailed(operation: operation, code: code)
    }
}

/// A peer that closes early would otherwise kill the process with SIGPIPE (exit 141): OpenSSL writes to the
/// socket with `write()`, which has no `MSG_NOSIGNAL`. Runs once, before the first connection.
let brokenPipeSignalsIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
