import COpenSSL

/// X25519 Diffie-Hellman key agreement (RFC 7748) through OpenSSL.
///
/// The shared secret is raw curve output: feed it to `HKDF.deriveKey` before using it as a key.
public enum X25519 {
    /// Length of a private key, a public key and a shared secret: 32 bytes.
    public static let keyByteCount = 32

    /// An X25519 private key. The OpenSSL key object is built once and reused for every agreement.
    public struct PrivateKey: Sendable {
        let handle: PKeyHandle

        /// A new random key from the operating system's secure random source.
        public init() {
            var raw = SecureRandom.bytes(count: X25519.keyByteCount)
            defer { raw.zeroize() }
            try! self.init(rawRepresentation: raw)  // Any 32 bytes are a valid X25519 private key.
        }

        /// The key whose RFC 7748 32-byte scalar is `rawRepresentation` (clamped by OpenSSL when used).
        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == X25519.keyByteCount else {
                throw .invalidLength(what: "X25519 private key", expected: X25519.keyByteCount,
                                     actual: rawRepresentation.count)
            }
            let key = rawRepresentation.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count)
            }
            guard let key else { throw CryptoError.fromOpenSSL("EVP_PKEY_new_raw_private_key(X25519)") }
            handle = PKeyHandle(key)
        }

        /// The 32-byte private scalar as given (unclamped). Secret: never log it; zeroize the copy.
        public var rawRepresentation: [UInt8] {
            var raw = [UInt8](repeating: 0, count: X25519.keyByteCount)
            var length = raw.count
            let ok = EVP_PKEY_get_raw_private_key(handle.pointer, &raw, &length)
            precondition(ok == 1 && length == X25519.keyByteCount, "X25519 private key export failed")
            return raw
        }

        /// The matching public key (the scalar times the base point u = 9).
        public var publicKey: PublicKey {
            var raw = [UInt8](repeating: 0, count: X25519.keyByteCount)
            var length = raw.count
            let ok = EVP_PKEY_get_raw_public_key(handle.pointer, &raw, &length)
            precondition(ok == 1 && length == X25519.keyByteCount, "X25519 public key export failed")
            return try! PublicKey(rawRepresentation: raw)  // Exactly 32 bytes, checked above.
        }

        /// The 32-byte shared secret with `peer`. Throws when the result would be all zeros, which happens
        /// only for low-order peer keys (a peer trying to force a known secret, RFC 7748 section 6.1).
        public func sharedSecret(with peer: PublicKey) throws(CryptoError) -> [UInt8] {
            let peerKey = try peer.makePKey()
            guard let context = EVP_PKEY_CTX_new(handle.pointer, nil) else {
                throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new(X25519)")
            }
            defer { EVP_PKEY_CTX_free(context) }
            guard EVP_PKEY_derive_init(context) == 1 else { throw CryptoError.fromOpenSSL("EVP_PKEY_derive_init") }
            guard EVP_PKEY_derive_set_peer(context, peerKey.pointer) == 1 else {
                throw CryptoError.fromOpenSSL("EVP_PKEY_derive_set_peer(X25519)")
            }
            var secret = [UInt8](repeating: 0, count: X25519.keyByteCount)
            var length = secret.count
            guard EVP_PKEY_derive(context, &secret, &length) == 1 else {
                throw CryptoError.fromOpenSSL("EVP_PKEY_derive(X25519): low-order peer key")
            }
            precondition(length == X25519.keyByteCount, "X25519 produced a secret of unexpected length")
            return secret
        }
    }

    /// An X25519 public key: a 32-byte u-coordinate, compared and hashed by value.
    public struct PublicKey: Hashable, Sendable {
        /// The 32-byte little-endian u-coordinate of RFC 7748.
        public let rawRepresentation: [UInt8]

        /// Wraps a 32-byte public key. Any 32 bytes are accepted, as RFC 7748 requires; low-order points
        /// are caught by `sharedSecret(with:)`.
        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == X25519.keyByteCount else {
                throw .invalidLength(what: "X25519 public key", expected: X25519.keyByteCount,
                                     actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        func makePKey() throws(CryptoError) -> PKeyHandle {
            let key = rawRepresentation.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count)
            }
            guard let key else { throw CryptoError.fromOpenSSL("EVP_PKEY_new_raw_public_key(X25519)") }
            return PKeyHandle(key)
        }
    }
}
