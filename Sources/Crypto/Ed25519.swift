import COpenSSL

/// Ed25519 signatures (RFC 8032, pure Ed25519) through OpenSSL's EVP interface.
///
/// Every signature and verification uses a fresh `EVP_MD_CTX`: re-initialising a used context with a
/// different Ed25519 key has been seen to keep the old key (see PLATFORM-NOTES).
public enum Ed25519 {
    /// Length of a private-key seed, a public key: 32 bytes. A signature: 64 bytes.
    public static let seedByteCount = 32
    public static let publicKeyByteCount = 32
    public static let signatureByteCount = 64

    /// An Ed25519 private key. The OpenSSL key object is built once and cached, because rebuilding it
    /// from the seed for every signature halves signing speed.
    public struct PrivateKey: Sendable {
        let handle: PKeyHandle

        /// A new random key from the operating system's secure random source.
        public init() {
            var seed = SecureRandom.bytes(count: Ed25519.seedByteCount)
            defer { seed.zeroize() }
            // A freshly generated 32-byte seed is always a valid Ed25519 private key.
            try! self.init(seed: seed)
        }

        /// The key whose RFC 8032 32-byte seed (the "private key" of the RFC) is `seed`.
        public init(seed: [UInt8]) throws(CryptoError) {
            guard seed.count == Ed25519.seedByteCount else {
                throw .invalidLength(what: "Ed25519 seed", expected: Ed25519.seedByteCount, actual: seed.count)
            }
            let key = seed.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            }
            guard let key else { throw CryptoError.fromOpenSSL("EVP_PKEY_new_raw_private_key(Ed25519)") }
            handle = PKeyHandle(key)
        }

        /// Wraps an OpenSSL key already known to be Ed25519 (used when loading key files).
        init(handle: PKeyHandle) { self.handle = handle }

        /// The matching public key.
        public var publicKey: PublicKey {
            var raw = [UInt8](repeating: 0, count: Ed25519.publicKeyByteCount)
            var length = raw.count
            let ok = EVP_PKEY_get_raw_public_key(handle.pointer, &raw, &length)
            precondition(ok == 1 && length == Ed25519.publicKeyByteCount, "Ed25519 public key export failed")
            return try! PublicKey(rawRepresentation: raw)
        }

        /// The 32-byte seed. Secret: callers must not log it and should zeroize their copy when done.
        public var seed: [UInt8] {
            var raw = [UInt8](repeating: 0, count: Ed25519.seedByteCount)
            var length = raw.count
            let ok = EVP_PKEY_get_raw_private_key(handle.pointer, &raw, &length)
            precondition(ok == 1 && length == Ed25519.seedByteCount, "Ed25519 private key export failed")
            return raw
        }

        /// The 64-byte Ed25519 signature of `message`.
        public func signature(for message: [UInt8]) -> [UInt8] {
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            defer { EVP_MD_CTX_free(context) }
            let initialised = EVP_DigestSignInit(context, nil, nil, nil, handle.pointer)
            precondition(initialised == 1, "EVP_DigestSignInit(Ed25519) failed")
            var signature = [UInt8](repeating: 0, count: Ed25519.signatureByteCount)
            var signatureLength = signature.count
            let signed = message.withUnsafeBufferPointer { messageBuffer in
                withUnsafeBytes(of: UInt8(0)) { fallback in
                    EVP_DigestSign(
                        context, &signature, &signatureLength,
                        messageBuffer.baseAddress ?? fallback.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        messageBuffer.count)
                }
            }
            precondition(signed == 1 && signatureLength == Ed25519.signatureByteCount, "EVP_DigestSign(Ed25519) failed")
            return signature
        }
    }

    /// An Ed25519 public key: 32 bytes, compared and hashed by value.
    public struct PublicKey: Hashable, Sendable {
        /// The 32-byte encoding of RFC 8032.
        public let rawRepresentation: [UInt8]

        /// Wraps a 32-byte public key. Any 32 bytes are accepted here; a key that is not a valid curve
        /// point simply never verifies a signature.
        public init(rawRepresentation: [UInt8]) throws(CryptoError) {
            guard rawRepresentation.count == Ed25519.publicKeyByteCount else {
                throw .invalidLength(what: "Ed25519 public key", expected: Ed25519.publicKeyByteCount,
                                     actual: rawRepresentation.count)
            }
            self.rawRepresentation = rawRepresentation
        }

        /// True when `signature` is a valid Ed25519 signature of `message` by this key. Non-canonical
        /// signatures (S not reduced) are rejected by OpenSSL.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == Ed25519.signatureByteCount else { return false }
            let key = rawRepresentation.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            }
            guard let key else {
                ERR_clear_error()
                return false
            }
            defer { EVP_PKEY_free(key) }
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else {
                ERR_clear_error()
                return false
            }
            let verified = message.withUnsafeBufferPointer { messageBuffer in
                withUnsafeBytes(of: UInt8(0)) { fallback in
                    EVP_DigestVerify(
                        context, signature, signature.count,
                        messageBuffer.baseAddress ?? fallback.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        messageBuffer.count)
                }
            }
            if verified != 1 { ERR_clear_error() }
            return verified == 1
        }
    }
}
