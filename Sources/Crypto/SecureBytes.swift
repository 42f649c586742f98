import COpenSSL

/// A heap buffer for secret bytes that is wiped with `OPENSSL_cleanse` before it is freed.
///
/// Why not `[UInt8]`: an array may be copied on write behind our back, and zeroizing a copy leaves the
/// original in memory. This buffer is allocated once, never copied, and always has a non-nil base address
/// (at least one byte is allocated), so empty secrets can be handed to C without special cases.
final class SecureBytes: @unchecked Sendable {
    /// The number of meaningful bytes (may be zero).
    let count: Int
    private let storage: UnsafeMutableRawBufferPointer

    /// A copy of `bytes`.
    init(_ bytes: [UInt8]) {
        count = bytes.count
        storage = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: source.count) }
        }
    }

    /// `count` zero bytes, to be filled by C code through `mutableBaseAddress`.
    init(zeroedCount: Int) {
        precondition(zeroedCount >= 0, "negative byte count")
        count = zeroedCount
        storage = .allocate(byteCount: max(zeroedCount, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    /// Never nil, even when `count` is zero.
    var baseAddress: UnsafeRawPointer { UnsafeRawPointer(storage.baseAddress!) }

    /// Never nil, even when `count` is zero. Only for filling the buffer right after `init(zeroedCount:)`.
    var mutableBaseAddress: UnsafeMutableRawPointer { storage.baseAddress! }

    /// The bytes as unsigned chars, for C functions that take `const unsigned char *`.
    var bytePointer: UnsafePointer<UInt8> { baseAddress.assumingMemoryBound(to: UInt8.self) }

    /// The bytes as chars, for C functions that take `const char *` (passphrases).
    var charPointer: UnsafePointer<CChar> { baseAddress.assumingMemoryBound(to: CChar.self) }

    /// Calls `body` with the meaningful bytes.
    func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: baseAddress, count: count))
    }

    /// A copy as an array. The caller owns the copy and should zeroize it when it holds a secret.
    var arrayCopy: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Owns one OpenSSL `EVP_PKEY`; frees it when the last reference goes. OpenSSL key objects are safe to
/// use from several threads for signing, verification and derivation once built, and this box never
/// mutates it.
final class PKeyHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }
}

extension Array where Element == UInt8 {
    /// Overwrites the bytes with zeros (for secrets, before the array is released).
    public mutating func zeroize() {
        withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            OPENSSL_cleanse(base, buffer.count)
        }
    }

    /// Calls `body` with a pointer that is never nil, even for an empty array: OpenSSL rejects a NULL
    /// input pointer in some functions even when the length is zero.
    func withNonNilBytes<Result>(_ body: (UnsafePointer<UInt8>, Int) -> Result) -> Result {
        if isEmpty {
            var placeholder: UInt8 = 0
            return body(&placeholder, 0)
        }
        return withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}
