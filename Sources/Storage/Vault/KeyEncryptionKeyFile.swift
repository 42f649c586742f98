import Crypto
import Foundation

/// The vault's key-encryption key on disk: 32 raw random bytes in a file of its own, mode 0600, kept
/// outside the SQLite file so that a copy of the database alone reveals nothing.
///
/// Created with `O_CREAT | O_EXCL` and mode 0600 in the same call, so the key is never readable by others,
/// not even for a moment, and an existing key is never overwritten.
enum KeyEncryptionKeyFile {
    static let byteCount = 32

    /// Loads the key at `path`, or creates the file with a fresh random key when there is none.
    static func loadOrCreate(at path: String) throws(VaultError) -> SymmetricKey {
        if let created = try createIfAbsent(at: path) { return created }
        return try load(at: path)
    }

    /// Creates the file with a new key; nil when a file already exists at `path`.
    private static func createIfAbsent(at path: String) throws(VaultError) -> SymmetricKey? {
        let descriptor = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        if descriptor < 0 && errno == EEXIST { return nil }
        guard descriptor >= 0 else { throw .keyFile(path: path, .systemCall("open", errno: errno)) }
        defer { close(descriptor) }
        var keyBytes = SecureRandom.bytes(count: byteCount)
        defer { keyBytes.zeroize() }
        do throws(VaultError) {
            try writeAll(keyBytes, to: descriptor, path: path)
            // The key must be on disk before any record is sealed under it, or a crash could lose every record.
            guard fsync(descriptor) == 0 else { throw .keyFile(path: path, .systemCall("fsync", errno: errno)) }
            try syncDirectory(containing: path)
        } catch {
            // Nothing was sealed under the half-written key, so removing it lets the next start begin afresh
            // instead of failing on a file of the wrong size.
            unlink(path)
            throw error
        }
        return try makeKey(keyBytes)
    }

    private static func load(at path: String) throws(VaultError) -> SymmetricKey {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .keyFile(path: path, .systemCall("open", errno: errno)) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .keyFile(path: path, .systemCall("fstat", errno: errno))
        }
        try checkStatus(status, path: path)
        var keyBytes = try readAll(byteCount, from: descriptor, path: path)
        defer { keyBytes.zeroize() }
        return try makeKey(keyBytes)
    }

    /// Refuses anything but a regular file of the right size that only its owner can access.
    private static func checkStatus(_ status: stat, path: String) throws(VaultError) {
        guard status.st_mode & S_IFMT == S_IFREG else { throw .keyFile(path: path, .notARegularFile) }
        let permissions = status.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw .keyFile(path: path, .accessibleByOthers(permissions: String(permissions, radix: 8)))
        }
        guard status.st_size == byteCount else { throw .keyFile(path: path, .wrongSize(actual: Int(status.st_size))) }
    }

    private static func makeKey(_ bytes: [UInt8]) throws(VaultError) -> SymmetricKey {
        do { return try SymmetricKey(bytes: bytes) } catch { throw .crypto(error) }
    }

    // MARK: System calls

    /// Writes `bytes` in one call: a regular file takes a 32-byte write whole or fails.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(VaultError) {
        let written = retryingOnInterrupt { write(descriptor, bytes, bytes.count) }
        guard written == bytes.count else { throw .keyFile(path: path, .systemCall("write", errno: errno)) }
    }

    /// Reads exactly `count` bytes; a short read means the file shrank after `fstat`, and a short key is
    /// never used.
    private static func readAll(_ count: Int, from descriptor: Int32, path: String) throws(VaultError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = retryingOnInterrupt { read(descriptor, &bytes, count) }
        guard got >= 0 else { throw .keyFile(path: path, .systemCall("read", errno: errno)) }
        guard got == count else {
            bytes.zeroize()
            throw .keyFile(path: path, .wrongSize(actual: got))
        }
        return bytes
    }

    /// Makes the new directory entry durable: without it a crash could lose the file but keep records sealed
    /// under its key.
    private static func syncDirectory(containing path: String) throws(VaultError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = retryingOnInterrupt { open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .keyFile(path: path, .systemCall("open directory", errno: errno)) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .keyFile(path: path, .systemCall("fsync directory", errno: errno)) }
    }

    private static func retryingOnInterrupt<Result: BinaryInteger>(_ call: () -> Result) -> Result {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}
