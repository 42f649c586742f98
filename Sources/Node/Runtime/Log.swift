import Foundation
import Ledger
import Transport

/// Structured logs: one JSON object per line on standard error, e.g.
/// `{"ts":"2026-11-24T10:00:00.000Z","level":"info","event":"block.committed","height":12,"entries":3}`.
///
/// Fields are chosen by the code, never copied from requests: no record content, key material or request
/// body can reach a log line.
public final class Log: @unchecked Sendable {
    public enum Level: String, Sendable { case info, error }

    private let lock = NSLock()
    private let clock: any Clock
    private let write: @Sendable (String) -> Void

    /// Logs to standard error.
    public init(clock: any Clock = SystemClock()) {
        self.clock = clock
        write = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// Logs through `write` (for tests).
    public init(clock: any Clock, write: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.write = write
    }

    public func info(_ event: String, _ fields: [String: any Sendable] = [:]) { emit(.info, event, fields) }
    public func error(_ event: String, _ fields: [String: any Sendable] = [:]) { emit(.error, event, fields) }

    private func emit(_ level: Level, _ event: String, _ fields: [String: any Sendable]) {
        var object: [String: Any] = fields
        object["ts"] = Timestamp.format(clock.nowMs())
        object["level"] = level.rawValue
        object["event"] = event
        // A value JSON cannot hold is logged as its description rather than losing the line.
        guard let line = JSONWriter.text(object)
            ?? JSONWriter.text(object.mapValues { JSONWriter.text($0) == nil ? String(describing: $0) : $0 })
        else { return }
        lock.withLock { write(line) }
    }
}
