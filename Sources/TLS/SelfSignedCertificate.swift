import COpenSSL
import Crypto

/// Owns an OpenSSL `X509`: a self-signed X.509 v3 certificate for an Ed25519 key, made in code.
///
/// Peers pin keys, not certificates, and do not check the certificate's dates, issuer or signature (the TLS 1.3
/// CertificateVerify message is what proves possession of the key). The fields are filled only so that
/// generic tools (`openssl s_client`, `openssl x509`) see a well-formed certificate: subject and issuer
/// `CN=healthledger validator`, a random 63-bit serial, valid from one hour before now for `validityDays`.
final class SelfSignedCertificate {
    static let commonName = "healthledger validator"

    let pointer: OpaquePointer

    /// A certificate for `key`, signed by `key`. `key` is the OpenSSL Ed25519 private key object.
    init(key: OpaquePointer, validityDays: Int) throws(TLSError) {
        precondition(validityDays > 0, "a certificate is valid for at least a day")
        guard let certificate = X509_new() else { throw .setup("X509_new") }
        pointer = certificate
        try fill(key: key, validityDays: validityDays)
        // X509_sign returns the signature's length: 64 for Ed25519, 0 on failure. Ed25519 takes no digest.
        guard X509_sign(certificate, key, nil) > 0 else { throw .setup("X509_sign") }
    }

    deinit { X509_free(pointer) }

    private func fill(key: OpaquePointer, validityDays: Int) throws(TLSError) {
        guard X509_set_version(pointer, 2) == 1 else { throw .setup("X509_set_version") }  // 2 means v3
        let serial = SecureRandom.bytes(count: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1
        guard ASN1_INTEGER_set_uint64(X509_get_serialNumber(pointer), serial) == 1 else {
            throw .setup("ASN1_INTEGER_set_uint64")
        }
        let oneHourS = 3_600
        guard X509_gmtime_adj(X509_getm_notBefore(pointer), -oneHourS) != nil,
            X509_gmtime_adj(X509_getm_notAfter(pointer), validityDays * 24 * oneHourS) != nil
        else { throw .setup("X509_gmtime_adj") }
        guard let name = X509_get_subject_name(pointer) else { throw .setup("X509_get_subject_name") }
        let added = Array(Self.commonName.utf8).withUnsafeBufferPointer {
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, $0.baseAddress, Int32($0.count), -1, 0)
        }
        guard added == 1 else { throw .setup("X509_NAME_add_entry_by_txt") }
        guard X509_set_issuer_name(pointer, name) == 1 else { throw .setup("X509_set_issuer_name") }
        guard X509_set_pubkey(pointer, key) == 1 else { throw .setup("X509_set_pubkey") }
    }
}

/// Owns an `EVP_PKEY` built inside this module from an Ed25519 seed (the `Crypto` key object is internal to
/// `Crypto`; its seed is public API).
final class PrivateKeyObject {
    let pointer: OpaquePointer

    init(_ key: Ed25519.PrivateKey) throws(TLSError) {
        var seed = key.seed
        defer { seed.zeroize() }
        let made = seed.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }
        guard let made else { throw .setup("EVP_PKEY_new_raw_private_key(Ed25519)") }
        pointer = made
    }

    deinit { EVP_PKEY_free(pointer) }
}
