import Foundation

/// Where the node reads the time. The ledger core never reads a clock: the node does, here, and passes the
/// time in (block time, freshness checks), so tests can drive the node with a fixed or stepped clock.
public protocol Clock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMs() -> UInt64
}

/// The system's wall clock.
public struct SystemClock: Clock {
    public init() {}

    public func nowMs() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
}
