import Glibc

/// The POSIX file operations the consensus files need (append, sync, truncate, remove), with `EINTR`
/// retried and failures turned into `StorageError.io`, which names the path and the call, never the bytes.
struct DurableFile {
    let path: String
    let descriptor: Int32

    /// Opens `path` for reading and writing, creating it (mode 0600) when absent.
    static func open(_ path: String) throws(StorageError) -> DurableFile {
        let descriptor = try call("open", path) { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        return DurableFile(path: path, descriptor: descriptor)
    }

    func close() { _ = Glibc.close(descriptor) }

    /// The file's size in bytes.
    func size() throws(StorageError) -> Int {
        var status = stat()
        _ = try Self.call("stat", path) { fstat(descriptor, &status) }
        return Int(status.st_size)
    }

    /// Reads `count` bytes at `offset`; fewer when the file ends first.
    func read(count: Int, at offset: Int) throws(StorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = try Self.call("read", path) {
                bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes[..<filled])
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
        var written = 0
        while written < bytes.count {
            written += try Self.call("write", path) {
                bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + written, $0.count - written, off_t(offset + written)) }
            }
        }
    }

    func truncate(to length: Int) throws(StorageError) {
        _ = try Self.call("truncate", path) { ftruncate(descriptor, off_t(length)) }
    }

    /// Makes everything written so far durable.
    func sync() throws(StorageError) {
        _ = try Self.call("fsync", path) { fdatasync(descriptor) }
    }

    /// Deletes `path` (nothing to do when it is absent) and syncs its directory.
    static func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0, errno != ENOENT { throw .io(operation: "unlink", path: path, detail: errnoText()) }
        try syncDirectory(containing: path)
    }

    /// Reads a whole small file, or nil when it does not exist.
    static func readIfPresent(_ path: String, maximumByteCount: Int) throws(StorageError) -> [UInt8]? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw .io(operation: "open", path: path, detail: errnoText())
        }
        let file = DurableFile(path: path, descriptor: descriptor)
        defer { file.close() }
        let size = try file.size()
        guard size <= maximumByteCount else { throw .corrupt(path: path, detail: "larger than \(maximumByteCount) bytes") }
        return try file.read(count: size, at: 0)
    }

    static func syncDirectory(containing path: String) throws(StorageError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let descriptor = try call("open directory", directory) { Glibc.open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = Glibc.close(descriptor) }
        _ = try call("fsync directory", directory) { fsync(descriptor) }
    }

    private static func call<Result: BinaryInteger>(_ operation: String, _ path: String, _ body: () -> Result) throws(StorageError) -> Result {
        while true {
            let result = body()
            if result >= 0 { return result }
            if errno != EINTR { throw .io(operation: operation, path: path, detail: errnoText()) }
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
