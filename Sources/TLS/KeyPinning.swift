import COpenSSL
import Crypto

/// The pinning decision for one connection: which keys are allowed, which one (if any) is expected, and what
/// the verify callback concluded. Attached to the `SSL` object as its app data (ex_data index 0) for the
/// callback to find; the `TLSConnection` keeps it alive as long as the `SSL` object.
final class KeyPinning: @unchecked Sendable {
    enum Outcome: Equatable {
        case notChecked
        case accepted(Ed25519.PublicKey)
        case notEd25519
        case notAllowed
        case unexpected
    }

    let allowedKeys: Set<Ed25519.PublicKey>
    let expectedKey: Ed25519.PublicKey?
    /// Written by the verify callback, which runs inside the handshake on the thread that holds the
    /// connection's lock; read after the handshake under the same lock.
    private(set) var outcome = Outcome.notChecked

    init(allowedKeys: Set<Ed25519.PublicKey>, expectedKey: Ed25519.PublicKey?) {
        precondition(expectedKey.map(allowedKeys.contains) ?? true, "an expected key is one of the allowed keys")
        self.allowedKeys = allowedKeys
        self.expectedKey = expectedKey
    }

    /// Decides on the leaf certificate's public key and records the outcome; true when accepted.
    func decide(certificateKey: OpaquePointer?) -> Bool {
        outcome = Self.judge(Self.rawEd25519Key(certificateKey), allowed: allowedKeys, expected: expectedKey)
        if case .accepted = outcome { return true }
        return false
    }

    static func judge(_ key: Ed25519.PublicKey?, allowed: Set<Ed25519.PublicKey>, expected: Ed25519.PublicKey?) -> Outcome {
        guard let key else { return .notEd25519 }
        guard allowed.contains(key) else { return .notAllowed }
        if let expected, expected != key { return .unexpected }
        return .accepted(key)
    }

    /// The raw 32-byte key of an Ed25519 `EVP_PKEY`; nil for any other key type.
    static func rawEd25519Key(_ key: OpaquePointer?) -> Ed25519.PublicKey? {
        guard let key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 else { return nil }
        var raw = [UInt8](repeating: 0, count: Ed25519.publicKeyByteCount)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == raw.count else {
            ERR_clear_error()
            return nil
        }
        return try? Ed25519.PublicKey(rawRepresentation: raw)
    }

    /// Installs the pinning callback on a context. It replaces OpenSSL's chain verification entirely: there is
    /// no CA, and dates are not checked (see `SelfSignedCertificate`). What authenticates the peer is TLS 1.3's
    /// CertificateVerify signature by the certificate's key, which OpenSSL checks after this callback accepts.
    static func install(on context: OpaquePointer) {
        SSL_CTX_set_cert_verify_callback(context, { store, _ in
            guard let store, let pinning = KeyPinning.attached(to: store) else { return 0 }
            let leaf = X509_STORE_CTX_get0_cert(store)
            guard pinning.decide(certificateKey: leaf.flatMap { X509_get0_pubkey($0) }) else {
                X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
                return 0
            }
            return 1
        }, nil)
    }

    /// Attaches `pinning` to `ssl`. Unretained: the caller keeps `pinning` alive while `ssl` exists.
    func attach(to ssl: OpaquePointer) -> Bool {
        SSL_set_ex_data(ssl, Self.appDataIndex, Unmanaged.passUnretained(self).toOpaque()) == 1
    }

    /// `SSL_set_app_data` is a macro for ex_data index 0, the slot libssl reserves for the application.
    private static let appDataIndex: Int32 = 0

    private static func attached(to store: OpaquePointer) -> KeyPinning? {
        guard let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
            let data = SSL_get_ex_data(OpaquePointer(ssl), appDataIndex)
        else { return nil }
        return Unmanaged<KeyPinning>.fromOpaque(data).takeUnretainedValue()
    }
}
