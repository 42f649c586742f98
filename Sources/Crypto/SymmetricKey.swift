/// A 256-bit key for AES-256-GCM.
///
/// The bytes live in a private buffer that is wiped when the last copy of the key goes away; copying a
/// `SymmetricKey` copies a reference, never the secret.
public struct SymmetricKey: Sendable {
    /// The key length in bytes: 32 (AES-256).
    public static let byteCount = 32

    let storage: SecureBytes

    /// Wraps exactly 32 bytes of key material. The caller should zeroize its own copy afterwards.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength(what: "AES-256 key", expected: Self.byteCount, actual: bytes.count)
        }
        storage = SecureBytes(bytes)
    }

    /// A new key from the operating system's secure random source.
    public static func random() -> SymmetricKey {
        var bytes = SecureRandom.bytes(count: byteCount)
        defer { bytes.zeroize() }
        return try! SymmetricKey(bytes: bytes)  // 32 random bytes always have the right length.
    }

    /// A copy of the key bytes, for storing the key elsewhere (for example wrapped under another key).
    /// Secret: never log it, and zeroize the copy when done.
    public var bytes: [UInt8] { storage.arrayCopy }

    /// Calls `body` with the key bytes without copying them. The pointer is valid only inside `body`.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try storage.withUnsafeBytes(body)
    }
}
