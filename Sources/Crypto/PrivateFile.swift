#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations key files need, with `EINTR` retried and failures turned into
/// `CryptoError.io` (which carries the path, never the contents).
enum PrivateFile {
    /// Owner read/write only.
    static let mode: mode_t = 0o600

    /// Creates `path` (which must not exist) with mode 0600, writes `contents` and fsyncs. `O_EXCL` makes
    /// creation fail on any existing file or symlink, so nothing is ever followed or replaced, and the mode
    /// is set at creation: the file is never readable by others, not even for an instant. A partly written
    /// file is removed.
    static func create(at path: String, contents: [UInt8]) throws(CryptoError) {
        let descriptor = try retryingInterrupts("create", path) {
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        do {
            // The umask can only clear bits from 0600; fchmod makes the mode exact whatever the umask.
            _ = try retryingInterrupts("chmod", path) { fchmod(descriptor, mode) }
            try writeAll(contents, to: descriptor, path: path)
            _ = try retryingInterrupts("fsync", path) { fsync(descriptor) }
            _ = close(descriptor)
        } catch {
            _ = close(descriptor)
            removeIgnoringErrors(path)
            throw error
        }
    }

    /// Reads a whole regular file of at most `maximumByteCount` bytes.
    static func readAll(at path: String, maximumByteCount: Int) throws(CryptoError) -> [UInt8] {
        let descriptor = try retryingInterrupts("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { _ = close(descriptor) }
        var status = stat()
        _ = try retryingInterrupts("stat", path) { fstat(descriptor, &status) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .invalidKeyFile(reason: "\(path) is not a regular file") }
        guard status.st_size <= maximumByteCount else {
            throw .invalidKeyFile(reason: "\(path) is larger than \(maximumByteCount / 1024) KiB")
        }
        // Read one byte more than allowed, so a file that grew after fstat is still caught.
        var buffer = [UInt8](repeating: 0, count: maximumByteCount + 1)
        var filled = 0
        while filled < buffer.count {
            let count = try retryingInterrupts("read", path) {
                buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            }
            if count == 0 { break }
            filled += count
        }
        guard filled <= maximumByteCount else {
            buffer.zeroize()
            throw .invalidKeyFile(reason: "\(path) is larger than \(maximumByteCount / 1024) KiB")
        }
        let contents = Array(buffer[..<filled])
        buffer.zeroize()
        return contents
    }

    static func move(_ source: String, to destination: String) throws(CryptoError) {
        _ = try retryingInterrupts("rename to \(destination) from", source) { rename(source, destination) }
    }

    /// Makes a just-created or renamed directory entry durable.
    static func syncDirectory(containing path: String) throws(CryptoError) {
        let directory = directoryName(of: path)
        let descriptor = try retryingInterrupts("open directory", directory) {
            open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        defer { _ = close(descriptor) }
        _ = try retryingInterrupts("fsync directory", directory) { fsync(descriptor) }
    }

    static func removeIgnoringErrors(_ path: String) {
        _ = unlink(path)
    }

    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(CryptoError) {
        var written = 0
        while written < bytes.count {
            written += try retryingInterrupts("write", path) {
                bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            }
        }
    }

    /// Runs a system call until it does not fail with `EINTR`; a negative result becomes `.io`.
    private static func retryingInterrupts<Result: BinaryInteger>(
        _ operation: String, _ path: String, _ call: () -> Result
    ) throws(CryptoError) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw .io(operation: operation, path: path, errno: errno) }
        }
    }
}
