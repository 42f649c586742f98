import COpenSSL

/// Ed25519 keys as PEM files that `openssl pkey` reads: PKCS#8 private keys (optionally encrypted with a
/// passphrase) and SubjectPublicKeyInfo public keys.
///
/// Encrypted files use PBES2 with scrypt and AES-256-CBC. Files are created with mode 0600 from the first
/// byte, never replaced unless asked, and replaced atomically (temporary file, fsync, rename) when asked.
/// Inputs are bounded to `maximumFileByteCount`. Errors name the problem, never the passphrase or key.
public enum KeyFile {
    /// The largest key file accepted (an Ed25519 PEM is under 300 bytes).
    public static let maximumFileByteCount = 64 * 1024

    /// scrypt cost N = 2^15. The block size r is 7, not the usual 8, because OpenSSL 3.0 decrypts PKCS#8
    /// with a fixed 32 MiB scrypt memory limit, and N = 2^15 with r = 8 needs 32 MiB plus 1 KiB: such files
    /// cannot be read by `openssl pkey` nor by OpenSSL's own PKCS#8 decoder. r = 7 keeps the requested N and
    /// about 88% of the work and memory (28 MiB) while staying readable everywhere OpenSSL 3 runs.
    static let scryptCost: UInt64 = 1 << 15
    static let scryptBlockSize: UInt64 = 7
    static let scryptParallelism: UInt64 = 1
    static let saltByteCount = 16
    static let maximumPassphraseByteCount = 1024

    // MARK: Private keys

    /// The key as PEM: `BEGIN PRIVATE KEY` (PKCS#8) without a passphrase, `BEGIN ENCRYPTED PRIVATE KEY`
    /// (PBES2, scrypt, AES-256-CBC) with one. An empty passphrase is refused: pass nil to mean "none".
    public static func encodePEM(_ key: Ed25519.PrivateKey, passphrase: [UInt8]?) throws(CryptoError) -> String {
        var bytes = try encodePEMBytes(key, passphrase: passphrase)
        defer { bytes.zeroize() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `encodePEM` as bytes, so `save` can wipe its copy (a `String` cannot be wiped).
    static func encodePEMBytes(_ key: Ed25519.PrivateKey, passphrase: [UInt8]?) throws(CryptoError) -> [UInt8] {
        guard let info = EVP_PKEY2PKCS8(key.handle.pointer) else { throw CryptoError.fromOpenSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }  // Wipes the key bytes it holds.
        let bio = try MemoryBIO()
        if let passphrase {
            let encrypted = try encrypt(info, passphrase: passphrase)
            defer { X509_SIG_free(encrypted) }
            guard PEM_write_bio_PKCS8(bio.pointer, encrypted) == 1 else {
                throw CryptoError.fromOpenSSL("PEM_write_bio_PKCS8")
            }
        } else {
            guard PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio.pointer, info) == 1 else {
                throw CryptoError.fromOpenSSL("PEM_write_bio_PKCS8_PRIV_KEY_INFO")
            }
        }
        return bio.contents()
    }

    /// Reads an Ed25519 private key from PKCS#8 PEM, encrypted or not. Throws `.invalidKeyFile` with a
    /// reason such as "wrong passphrase or corrupted file" or "not an Ed25519 key".
    public static func decodePEM(_ pem: String, passphrase: [UInt8]?) throws(CryptoError) -> Ed25519.PrivateKey {
        try decodePEM(bytes: Array(pem.utf8), passphrase: passphrase)
    }

    static func decodePEM(bytes: [UInt8], passphrase: [UInt8]?) throws(CryptoError) -> Ed25519.PrivateKey {
        let block = try PEMBlock(reading: bytes)
        let info = try privateKeyInfo(from: block, passphrase: passphrase)
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else {
            ERR_clear_error()
            throw .invalidKeyFile(reason: "malformed private key")
        }
        let handle = PKeyHandle(key)
        guard handle.type == EVP_PKEY_ED25519 else { throw .invalidKeyFile(reason: "not an Ed25519 key") }
        return Ed25519.PrivateKey(handle: handle)
    }

    private static func privateKeyInfo(
        from block: PEMBlock, passphrase: [UInt8]?
    ) throws(CryptoError) -> OpaquePointer {
        switch block.label {
        case "PRIVATE KEY":
            guard let info = block.parse({ d2i_PKCS8_PRIV_KEY_INFO(nil, $0, $1) }) else {
                throw .invalidKeyFile(reason: "malformed PKCS#8 private key")
            }
            return info
        case "ENCRYPTED PRIVATE KEY":
            guard let passphrase else { throw .invalidKeyFile(reason: "the file is encrypted: give a passphrase") }
            return try decrypt(block, passphrase: passphrase)
        case "PUBLIC KEY":
            throw .invalidKeyFile(reason: "this is a public key, not a private key")
        default:
            throw .invalidKeyFile(reason: "not a PKCS#8 private key (expected BEGIN PRIVATE KEY)")
        }
    }

    private static func encrypt(_ info: OpaquePointer, passphrase: [UInt8]) throws(CryptoError) -> OpaquePointer {
        guard !passphrase.isEmpty else {
            throw .invalidArgument(reason: "empty passphrase: pass nil to write an unencrypted key file")
        }
        let secret = try passphraseBytes(passphrase)
        let salt = SecureRandom.bytes(count: saltByteCount)
        let algorithm = salt.withUnsafeBufferPointer {
            // A NULL IV asks OpenSSL for a random one.
            PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), $0.baseAddress, Int32($0.count), nil,
                                  scryptCost, scryptBlockSize, scryptParallelism)
        }
        guard let algorithm else { throw CryptoError.fromOpenSSL("PKCS5_pbe2_set_scrypt") }
        // On success the X509_SIG takes ownership of the algorithm; on failure it is still ours.
        guard let encrypted = PKCS8_set0_pbe(secret.charPointer, Int32(secret.count), info, algorithm) else {
            X509_ALGOR_free(algorithm)
            throw CryptoError.fromOpenSSL("PKCS8_set0_pbe(scrypt, AES-256-CBC)")
        }
        return encrypted
    }

    private static func decrypt(_ block: PEMBlock, passphrase: [UInt8]) throws(CryptoError) -> OpaquePointer {
        let secret = try passphraseBytes(passphrase)
        guard let encrypted = block.parse({ d2i_X509_SIG(nil, $0, $1) }) else {
            throw .invalidKeyFile(reason: "malformed encrypted private key")
        }
        defer { X509_SIG_free(encrypted) }
        // Also fails for KDF parameters beyond OpenSSL's memory limit, which bounds the work a hostile file
        // can demand.
        guard let info = PKCS8_decrypt(encrypted, secret.charPointer, Int32(secret.count)) else {
            ERR_clear_error()
            throw .invalidKeyFile(reason: "wrong passphrase or corrupted file")
        }
        return info
    }

    private static func passphraseBytes(_ passphrase: [UInt8]) throws(CryptoError) -> SecureBytes {
        guard passphrase.count <= maximumPassphraseByteCount else {
            throw .invalidArgument(reason: "passphrase longer than \(maximumPassphraseByteCount) bytes")
        }
        return SecureBytes(passphrase)
    }

    // MARK: Public keys

    /// The public key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), as `openssl pkey -pubout` writes it.
    public static func encodePublicKeyPEM(_ key: Ed25519.PublicKey) -> String {
        // 32 bytes always make an Ed25519 key object (no curve check happens here); only memory can run out.
        guard let handle = try? PKeyHandle(type: EVP_PKEY_ED25519, rawPublicKey: key.rawRepresentation, what: "Ed25519")
        else { fatalError("EVP_PKEY_new_raw_public_key(Ed25519) failed: out of memory") }
        guard let bio = try? MemoryBIO(), PEM_write_bio_PUBKEY(bio.pointer, handle.pointer) == 1 else {
            fatalError("PEM_write_bio_PUBKEY failed: out of memory")
        }
        return String(decoding: bio.contents(), as: UTF8.self)
    }

    /// Reads an Ed25519 public key from SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    public static func decodePublicKeyPEM(_ pem: String) throws(CryptoError) -> Ed25519.PublicKey {
        let block = try PEMBlock(reading: Array(pem.utf8))
        guard block.label == "PUBLIC KEY" else {
            throw .invalidKeyFile(reason: "not a public key (expected BEGIN PUBLIC KEY)")
        }
        guard let pkey = block.parse({ d2i_PUBKEY(nil, $0, $1) }) else {
            throw .invalidKeyFile(reason: "malformed public key")
        }
        let handle = PKeyHandle(pkey)
        guard handle.type == EVP_PKEY_ED25519 else { throw .invalidKeyFile(reason: "not an Ed25519 key") }
        return try Ed25519.PublicKey(rawRepresentation: handle.rawPublicKey)
    }

    // MARK: Files

    /// Writes the key to `path` as `encodePEM` does, with mode 0600 from creation, and fsyncs it.
    /// Refuses to replace an existing file (`.io` with `EEXIST`) unless `overwrite`; then the new key goes
    /// to a temporary file in the same directory that is renamed over the old one, so a crash leaves
    /// either the old key or the new one, never half of either.
    public static func save(
        _ key: Ed25519.PrivateKey, to path: String, passphrase: [UInt8]?, overwrite: Bool = false
    ) throws(CryptoError) {
        var contents = try encodePEMBytes(key, passphrase: passphrase)
        defer { contents.zeroize() }
        if overwrite {
            let temporaryPath = path + ".tmp-" + Hex.encode(SecureRandom.bytes(count: 8))
            try PrivateFile.create(at: temporaryPath, contents: contents)
            do {
                try PrivateFile.move(temporaryPath, to: path)
            } catch {
                PrivateFile.removeIgnoringErrors(temporaryPath)
                throw error
            }
        } else {
            try PrivateFile.create(at: path, contents: contents)
        }
        try PrivateFile.syncDirectory(containing: path)
    }

    /// Reads a key written by `save` (or by `openssl genpkey` / `openssl pkcs8`). Refuses anything but a
    /// regular file of at most `maximumFileByteCount` bytes.
    public static func load(from path: String, passphrase: [UInt8]?) throws(CryptoError) -> Ed25519.PrivateKey {
        var contents = try PrivateFile.readAll(at: path, maximumByteCount: maximumFileByteCount)
        defer { contents.zeroize() }
        return try decodePEM(bytes: contents, passphrase: passphrase)
    }
}
