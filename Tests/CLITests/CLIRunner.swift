import Foundation
import Testing

/// Runs the built `healthledger` binary as a real process, in a temporary directory of its own.
struct CLIRunner {
    /// What one run printed and how it exited.
    struct Result {
        let exitCode: Int32
        let stdout: String
        let stderr: String

        /// Stdout parsed as exactly one JSON object on one line, and nothing else.
        func json() throws -> [String: Any] {
            #expect(stdout.hasSuffix("\n") && stdout.filter { $0 == "\n" }.count == 1, "stdout is not one line: \(stdout)")
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            return try #require(object as? [String: Any], "stdout is not one JSON object: \(stdout)")
        }

        /// The error object printed with `--json` after a failure, checked against the exit code and stderr.
        func jsonError() throws -> String {
            let object = try json()
            #expect(object["exitCode"] as? Int == Int(exitCode))
            let message = try #require(object["error"] as? String)
            #expect(stderr == "error: \(message)\n")
            return message
        }
    }

    /// The package root, found from this file's path (Tests/CLITests/CLIRunner.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = packageRoot.appendingPathComponent(".build/debug/healthledger").path

    /// The directory the binary runs in; removed when the runner is released.
    let directory: ScratchDirectory

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) is missing: build first with 'swift build --build-tests' (or 'swift build --product healthledger')")
        directory = ScratchDirectory()
    }

    /// The path of `name` in the run directory.
    func file(_ name: String) -> String { directory.file(name) }

    /// Runs `healthledger arguments...` and waits for it.
    @discardableResult
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let errorData = ReadInBackground(stderr.fileHandleForReading)
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(exitCode: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                      stderr: String(decoding: errorData.wait(), as: UTF8.self))
    }
}

/// Reads a pipe to its end on another thread.
private final class ReadInBackground: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// A fresh temporary directory per test, removed when released.
final class ScratchDirectory {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-cli-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
}
