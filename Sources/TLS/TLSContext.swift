import COpenSSL
import Crypto

/// A node's TLS settings, shared by every connection it accepts or dials: its self-signed certificate and
/// Ed25519 private key, TLS 1.3 only, and the set of peer keys it accepts (the genesis validator keys).
///
/// Settings: TLS 1.3 as both minimum and maximum version; OpenSSL's default TLS 1.3 cipher suites and groups;
/// no session cache and no session tickets (every connection is a full handshake, so every peer proves its
/// key each time); partial writes. A server demands a client certificate (`SSL_VERIFY_PEER |
/// SSL_VERIFY_FAIL_IF_NO_PEER_CERT`), a client verifies the server's (`SSL_VERIFY_PEER`); both run the
/// pinning callback of `KeyPinning`.
///
/// Immutable once built, and safe to share between threads.
public final class TLSContext: @unchecked Sendable {
    /// Days the generated certificate claims to be valid. Peers do not check it (keys are pinned); a node
    /// running longer keeps working. See `SelfSignedCertificate`.
    public static let defaultCertificateValidityDays = 30

    let pointer: OpaquePointer
    /// The keys a peer may present. The local key is usually left out so that a node never links to itself.
    public let allowedPeerKeys: Set<Ed25519.PublicKey>
    /// The public key of the certificate this context presents.
    public let localKey: Ed25519.PublicKey

    /// A context presenting a fresh self-signed certificate for `privateKey` and accepting peers whose
    /// certificate key is in `allowedPeerKeys`.
    public init(
        privateKey: Ed25519.PrivateKey, allowedPeerKeys: Set<Ed25519.PublicKey>,
        certificateValidityDays: Int = TLSContext.defaultCertificateValidityDays
    ) throws(TLSError) {
        _ = brokenPipeSignalsIgnored
        guard let context = SSL_CTX_new(TLS_method()) else { throw .setup("SSL_CTX_new") }
        pointer = context
        self.allowedPeerKeys = allowedPeerKeys
        localKey = privateKey.publicKey
        try configure()
        try useIdentity(privateKey, validityDays: certificateValidityDays)
        KeyPinning.install(on: context)
    }

    deinit { SSL_CTX_free(pointer) }

    private func configure() throws(TLSError) {
        guard hl_ssl_ctx_set_tls13_only(pointer) == 1 else { throw .setup("SSL_CTX_set_min/max_proto_version") }
        _ = hl_ssl_ctx_enable_partial_moving_writes(pointer)
        _ = hl_ssl_ctx_disable_session_cache(pointer)
        guard SSL_CTX_set_num_tickets(pointer, 0) == 1 else { throw .setup("SSL_CTX_set_num_tickets") }
    }

    private func useIdentity(_ privateKey: Ed25519.PrivateKey, validityDays: Int) throws(TLSError) {
        let key = try PrivateKeyObject(privateKey)
        let certificate = try SelfSignedCertificate(key: key.pointer, validityDays: validityDays)
        // Both calls take their own reference: our objects may be freed afterwards.
        guard SSL_CTX_use_certificate(pointer, certificate.pointer) == 1 else { throw .setup("SSL_CTX_use_certificate") }
        guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1 else { throw .setup("SSL_CTX_use_PrivateKey") }
        guard SSL_CTX_check_private_key(pointer) == 1 else { throw .setup("SSL_CTX_check_private_key") }
    }
}
