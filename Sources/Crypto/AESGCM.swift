import COpenSSL

/// AES-256-GCM authenticated encryption (NIST SP 800-38D) with 12-byte nonces and 16-byte tags.
///
/// `seal` draws a random nonce unless given one. A nonce must never be reused with the same key: with
/// random 96-bit nonces, keep each key below about 2^32 messages.
public enum AESGCM {
    /// The nonce length in bytes: 12 (96 bits, the length GCM is designed for).
    public static let nonceByteCount = 12
    /// The authentication tag length in bytes: 16 (the full 128-bit tag).
    public static let tagByteCount = 16

    /// The result of `seal`: nonce, ciphertext (as long as the plaintext) and tag.
    public struct SealedBox: Hashable, Sendable {
        /// The 12-byte nonce the message was sealed with.
        public let nonce: [UInt8]
        /// The encrypted bytes; as long as the plaintext.
        public let ciphertext: [UInt8]
        /// The 16-byte authentication tag over the associated data and ciphertext.
        public let tag: [UInt8]

        /// Assembles a box from its parts; throws when the nonce or tag has the wrong length.
        public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) throws(CryptoError) {
            guard nonce.count == AESGCM.nonceByteCount else {
                throw .invalidLength(what: "AES-GCM nonce", expected: AESGCM.nonceByteCount, actual: nonce.count)
            }
            guard tag.count == AESGCM.tagByteCount else {
                throw .invalidLength(what: "AES-GCM tag", expected: AESGCM.tagByteCount, actual: tag.count)
            }
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.tag = tag
        }

        /// Splits `nonce || ciphertext || tag`; throws when shorter than a nonce and a tag.
        public init(combined: [UInt8]) throws(CryptoError) {
            let overhead = AESGCM.nonceByteCount + AESGCM.tagByteCount
            guard combined.count >= overhead else {
                throw .invalidLength(what: "AES-GCM sealed box (at least)", expected: overhead, actual: combined.count)
            }
            let tagStart = combined.count - AESGCM.tagByteCount
            try self.init(
                nonce: Array(combined[..<AESGCM.nonceByteCount]),
                ciphertext: Array(combined[AESGCM.nonceByteCount..<tagStart]),
                tag: Array(combined[tagStart...]))
        }

        /// `nonce || ciphertext || tag`, the form to store or send.
        public var combined: [UInt8] { nonce + ciphertext + tag }
    }

    /// Encrypts and authenticates `plaintext`, and authenticates `associatedData` (which is not encrypted
    /// and not included in the box). With `nonce` nil a fresh random nonce is used, which is what callers
    /// should almost always do.
    public static func seal(
        _ plaintext: [UInt8], using key: SymmetricKey, nonce: [UInt8]? = nil,
        authenticating associatedData: [UInt8] = []
    ) throws(CryptoError) -> SealedBox {
        let nonce = nonce ?? SecureRandom.bytes(count: nonceByteCount)
        guard nonce.count == nonceByteCount else {
            throw .invalidLength(what: "AES-GCM nonce", expected: nonceByteCount, actual: nonce.count)
        }
        let (ciphertext, tag) = try encrypt(plaintext, key: key, iv: nonce, associatedData: associatedData)
        return try SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Checks the tag and decrypts. Throws `.authenticationFailed` when the key, the associated data, the
    /// nonce, the ciphertext or the tag differ from what was sealed; no plaintext is released then.
    public static func open(
        _ box: SealedBox, using key: SymmetricKey, authenticating associatedData: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try decrypt(box.ciphertext, tag: box.tag, key: key, iv: box.nonce, associatedData: associatedData)
    }

    /// GCM encryption with an IV of any non-zero length. Internal: the published GCM test vectors include
    /// 8- and 60-byte IVs, but the public API allows only 12-byte nonces.
    static func encrypt(
        _ plaintext: [UInt8], key: SymmetricKey, iv: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        let context = try GCMContext(encrypting: true, key: key, iv: iv)
        try context.addAssociatedData(associatedData)
        let ciphertext = try context.update(plaintext)
        try context.finishEncryption()
        return (ciphertext, try context.tag())
    }

    /// GCM decryption with an IV of any non-zero length; see `encrypt`.
    static func decrypt(
        _ ciphertext: [UInt8], tag: [UInt8], key: SymmetricKey, iv: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        guard tag.count == tagByteCount else {
            throw .invalidLength(what: "AES-GCM tag", expected: tagByteCount, actual: tag.count)
        }
        let context = try GCMContext(encrypting: false, key: key, iv: iv)
        try context.addAssociatedData(associatedData)
        var plaintext = try context.update(ciphertext)
        try context.setExpectedTag(tag)
        guard context.finishDecryptionIsAuthentic() else {
            plaintext.zeroize()  // Unauthenticated plaintext must never leave this function.
            throw .authenticationFailed
        }
        return plaintext
    }
}

/// Owns one `EVP_CIPHER_CTX` set up for AES-256-GCM in one direction. Every OpenSSL return code is
/// checked where the call is made.
private final class GCMContext {
    private let context: OpaquePointer
    private let encrypting: Bool

    init(encrypting: Bool, key: SymmetricKey, iv: [UInt8]) throws(CryptoError) {
        guard !iv.isEmpty else { throw .invalidArgument(reason: "AES-GCM nonce must not be empty") }
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        self.context = context
        self.encrypting = encrypting
        let direction: Int32 = encrypting ? 1 : 0
        // Two steps: the IV length must be set after choosing the cipher and before giving the IV.
        guard EVP_CipherInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil, direction) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CipherInit_ex(AES-256-GCM)")
        }
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(iv.count), nil) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CTRL_GCM_SET_IVLEN")
        }
        let keyed = key.storage.withUnsafeBytes { keyBytes in
            iv.withUnsafeBufferPointer { ivBytes in
                EVP_CipherInit_ex(context, nil, nil, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                  ivBytes.baseAddress, direction)
            }
        }
        guard keyed == 1 else { throw CryptoError.fromOpenSSL("EVP_CipherInit_ex(key, nonce)") }
    }

    deinit { EVP_CIPHER_CTX_free(context) }  // Also wipes the expanded key schedule.

    func addAssociatedData(_ associatedData: [UInt8]) throws(CryptoError) {
        guard !associatedData.isEmpty else { return }
        var ignoredLength: Int32 = 0
        // A NULL output buffer tells OpenSSL these bytes are associated data, not message.
        let ok = associatedData.withUnsafeBufferPointer {
            EVP_CipherUpdate(context, nil, &ignoredLength, $0.baseAddress, Int32($0.count))
        }
        guard ok == 1 else { throw CryptoError.fromOpenSSL("EVP_CipherUpdate(associated data)") }
    }

    /// Encrypts or decrypts `input`; GCM is a stream mode, so the output has the input's length.
    func update(_ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !input.isEmpty else { return [] }
        guard input.count <= Int(Int32.max) - 16 else {
            throw .invalidArgument(reason: "AES-GCM message longer than 2 GiB")
        }
        var output = [UInt8](repeating: 0, count: input.count)
        var outputLength: Int32 = 0
        let ok = input.withUnsafeBufferPointer { inputBytes in
            EVP_CipherUpdate(context, &output, &outputLength, inputBytes.baseAddress, Int32(inputBytes.count))
        }
        guard ok == 1 else { throw CryptoError.fromOpenSSL("EVP_CipherUpdate") }
        precondition(Int(outputLength) == input.count, "GCM produced a different length than its input")
        return output
    }

    func finishEncryption() throws(CryptoError) {
        precondition(encrypting, "finishEncryption on a decryption context")
        var scratch = [UInt8](repeating: 0, count: 16)  // GCM writes nothing here, but must get a buffer.
        var length: Int32 = 0
        guard EVP_EncryptFinal_ex(context, &scratch, &length) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_EncryptFinal_ex(AES-256-GCM)")
        }
        precondition(length == 0, "GCM final step produced output")
    }

    func tag() throws(CryptoError) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: AESGCM.tagByteCount)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tag.count), &tag) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CTRL_GCM_GET_TAG")
        }
        return tag
    }

    func setExpectedTag(_ tag: [UInt8]) throws(CryptoError) {
        precondition(!encrypting, "setExpectedTag on an encryption context")
        var copy = tag  // The control call takes a mutable pointer, although it only reads.
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(copy.count), &copy) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CTRL_GCM_SET_TAG")
        }
    }

    /// True only when OpenSSL confirms the tag: `EVP_DecryptFinal_ex` returns > 0 for an authentic
    /// message and 0 (or less on error) otherwise.
    func finishDecryptionIsAuthentic() -> Bool {
        precondition(!encrypting, "finishDecryption on an encryption context")
        var scratch = [UInt8](repeating: 0, count: 16)
        var length: Int32 = 0
        let result = EVP_DecryptFinal_ex(context, &scratch, &length)
        ERR_clear_error()  // A failed tag check may leave an entry; it is not an OpenSSL fault.
        return result > 0
    }
}
