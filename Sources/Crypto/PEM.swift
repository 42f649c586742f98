import COpenSSL

/// One PEM block: its label (the text after `-----BEGIN `) and its decoded DER bytes.
struct PEMBlock {
    let label: String
    let der: SecureBytes

    /// Reads the first PEM block of `text`. Throws `.invalidKeyFile` for anything that is not complete PEM
    /// (no BEGIN line, bad base64, or a missing END line, which is how truncation shows).
    init(reading text: [UInt8]) throws(CryptoError) {
        guard text.count <= KeyFile.maximumFileByteCount else {
            throw .invalidKeyFile(reason: "larger than \(KeyFile.maximumFileByteCount / 1024) KiB")
        }
        let input = SecureBytes(text)
        let bio = try MemoryBIO(readingFrom: input)
        var name: UnsafeMutablePointer<CChar>? = nil
        var header: UnsafeMutablePointer<CChar>? = nil
        var data: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let ok = PEM_read_bio(bio.pointer, &name, &header, &data, &length)
        defer {
            hl_openssl_free(name)
            hl_openssl_free(header)
            hl_openssl_clear_free(data, length)
        }
        guard ok == 1, let name, let data else {
            ERR_clear_error()
            throw .invalidKeyFile(reason: "not PEM, or truncated")
        }
        label = String(cString: name)
        der = SecureBytes(copying: UnsafeRawBufferPointer(start: data, count: length))
    }

    /// Calls a `d2i_*` style parser on the DER bytes; nil when they do not parse.
    func parse<Object>(
        _ parser: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> Object?
    ) -> Object? {
        var cursor: UnsafePointer<UInt8>? = der.bytePointer
        let object = parser(&cursor, der.count)
        if object == nil { ERR_clear_error() }
        return object
    }
}

/// Owns an OpenSSL memory BIO. Written BIOs use the "secure memory" flavour, which wipes its buffer when
/// freed, because they hold private keys in PEM form.
final class MemoryBIO {
    let pointer: OpaquePointer
    private let input: SecureBytes?  // Kept alive: a read BIO points into it without copying.

    /// An empty BIO to write PEM into.
    init() throws(CryptoError) {
        guard let bio = BIO_new(BIO_s_secmem()) else { throw CryptoError.fromOpenSSL("BIO_new") }
        pointer = bio
        input = nil
    }

    /// A read-only BIO over `input`.
    init(readingFrom input: SecureBytes) throws(CryptoError) {
        guard let bio = BIO_new_mem_buf(input.baseAddress, Int32(input.count)) else {
            throw CryptoError.fromOpenSSL("BIO_new_mem_buf")
        }
        pointer = bio
        self.input = input
    }

    deinit { BIO_free(pointer) }

    /// A copy of the bytes written so far. May hold a private key: zeroize it when done.
    func contents() -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = hl_bio_get_mem_data(pointer, &data)
        guard length > 0, let data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}
