import COpenSSL

/// HKDF with HMAC-SHA-256 (RFC 5869): turns input key material (for example an X25519 shared secret)
/// into one or more independent keys, separated by `info`.
public enum HKDF {
    /// The longest output RFC 5869 allows with SHA-256: 255 blocks of 32 bytes.
    public static let maximumOutputByteCount = 255 * 32

    /// Extract-then-expand: `outputByteCount` bytes derived from `inputKeyMaterial`. An empty `salt` means
    /// the RFC's default (32 zero bytes). `info` binds the output to its purpose ("vault record key v1").
    public static func deriveKey(
        inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8], outputByteCount: Int
    ) throws(CryptoError) -> [UInt8] {
        guard (1...maximumOutputByteCount).contains(outputByteCount) else {
            throw .invalidArgument(reason: "HKDF output must be 1...\(maximumOutputByteCount) bytes")
        }
        guard !inputKeyMaterial.isEmpty else {
            throw .invalidArgument(reason: "HKDF input key material must not be empty")
        }
        let context = try KDFContext(algorithm: "HKDF")
        // OSSL_PARAM keeps raw pointers: these buffers must (and do) outlive the derive call below.
        let keyMaterial = SecureBytes(inputKeyMaterial)
        let saltBytes = SecureBytes(salt)
        let infoBytes = SecureBytes(info)
        var parameters = [
            OSSL_PARAM_construct_utf8_string(cString("digest"), mutableCString("SHA256"), 0),
            octetStringParameter("key", keyMaterial),
        ]
        // OpenSSL ignores empty salt and info anyway; leaving them out keeps the intent explicit.
        if saltBytes.count > 0 { parameters.append(octetStringParameter("salt", saltBytes)) }
        if infoBytes.count > 0 { parameters.append(octetStringParameter("info", infoBytes)) }
        parameters.append(OSSL_PARAM_construct_end())
        let output = SecureBytes(zeroedCount: outputByteCount)
        let derived = withExtendedLifetime((keyMaterial, saltBytes, infoBytes)) {
            EVP_KDF_derive(context.pointer, output.mutableBaseAddress.assumingMemoryBound(to: UInt8.self),
                           outputByteCount, &parameters)
        }
        guard derived == 1 else { throw CryptoError.fromOpenSSL("EVP_KDF_derive(HKDF-SHA256)") }
        return output.arrayCopy
    }

    private static func octetStringParameter(_ name: StaticString, _ bytes: SecureBytes) -> OSSL_PARAM {
        OSSL_PARAM_construct_octet_string(cString(name), UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}

/// A C string whose storage lives as long as the program: parameter names and values stored in an
/// `OSSL_PARAM` must outlive every call that reads it, which a bridged Swift `String` does not.
func cString(_ text: StaticString) -> UnsafePointer<CChar> {
    precondition(text.hasPointerRepresentation, "C strings must be literal text")
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// `cString` for C parameters typed `char *` that OpenSSL only reads.
func mutableCString(_ text: StaticString) -> UnsafeMutablePointer<CChar> {
    UnsafeMutablePointer(mutating: cString(text))
}

/// Owns an `EVP_KDF_CTX` for one fetched KDF algorithm.
final class KDFContext {
    let pointer: OpaquePointer

    init(algorithm: StaticString) throws(CryptoError) {
        guard let kdf = EVP_KDF_fetch(nil, cString(algorithm), nil) else {
            throw CryptoError.fromOpenSSL("EVP_KDF_fetch(\(algorithm))")
        }
        defer { EVP_KDF_free(kdf) }  // The context holds its own reference.
        guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoError.fromOpenSSL("EVP_KDF_CTX_new") }
        pointer = context
    }

    deinit { EVP_KDF_CTX_free(pointer) }
}
