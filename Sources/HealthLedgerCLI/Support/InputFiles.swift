import Crypto
import Foundation

/// Reading and writing the small files commands take and make (passphrase files, genesis files, public
/// keys). Reads are bounded, because a path on the command line may name anything.
enum InputFiles {
    /// The whole file at `path`, refused when larger than `maximumByteCount`. Read with POSIX calls into
    /// one array, so that callers holding secrets can wipe the only copy.
    static func load(_ path: String, what: String, maximumByteCount: Int) throws(CLIError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw cannotRead(path, what: what, errno: errno) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: maximumByteCount + 1)
        var count = 0
        while count < bytes.count {
            let result = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if result < 0, errno == EINTR { continue }
            guard result >= 0 else { throw cannotRead(path, what: what, errno: errno) }
            if result == 0 { break }
            count += result
        }
        guard count <= maximumByteCount else {
            bytes.zeroize()
            throw .badInput("\(what) \(path) is larger than \(maximumByteCount) bytes", "check that this is the right file")
        }
        let contents = Array(bytes[..<count])
        bytes.zeroize()
        return contents
    }

    /// The passphrase on the first line of the file at `path` (without the line break). The caller wipes it.
    static func passphrase(at path: String) throws(CLIError) -> [UInt8] {
        var contents = try load(path, what: "passphrase file", maximumByteCount: 64 * 1024)
        defer { contents.zeroize() }
        var line = Array(contents.prefix { $0 != UInt8(ascii: "\n") })
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else {
            throw .badInput("the first line of passphrase file \(path) is empty", "write the passphrase on its first line")
        }
        return line
    }

    /// Writes `bytes` to `path` atomically (a temporary file renamed into place). Refuses to replace an
    /// existing file unless `overwrite`.
    static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(CLIError) {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw alreadyExists(path) }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .failure("cannot write \(path): \(error.localizedDescription)", "check that its directory exists and is writable")
        }
    }

    static func alreadyExists(_ path: String) -> CLIError {
        .badInput("\(path) already exists", "pass --force to replace it, or choose another file")
    }

    private static func cannotRead(_ path: String, what: String, errno code: Int32) -> CLIError {
        .failure("cannot read \(what) \(path): \(String(cString: strerror(code)))", "check the path and its permissions")
    }
}

extension CLIError {
    /// A key-file failure from `Crypto`, phrased for the command line. `CryptoError` texts carry no key
    /// material or passphrase, only reasons and paths.
    static func keyFile(_ error: CryptoError, path: String) -> CLIError {
        switch error {
        case let .io(_, _, code) where code == EEXIST:
            return InputFiles.alreadyExists(path)
        case let .io(operation, _, code):
            return .failure("cannot \(operation) key file \(path): \(String(cString: strerror(code)))",
                            "check the path and its permissions")
        case let .invalidKeyFile(reason):
            return .badInput("cannot use key file \(path): \(reason)", "check the file, and --passphrase-file if it is encrypted")
        case let .invalidArgument(reason):
            return .badInput(reason, "check --passphrase-file")
        default:
            return .failure("key file \(path): \(error)", "try again; if it persists, report it")
        }
    }
}
