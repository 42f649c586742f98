import Foundation

/// Lets another thread answer a request while the handler is still running: a request that waits for
/// something another thread sees first (its transaction's block, appended by the consensus thread) is then
/// answered by that thread, without waiting for the handler's thread to be given a processor again
/// (measured on a busy two-core machine: 1.5 ms at the median, 15 ms at the 99th percentile,
/// docs/PERFORMANCE.md).
///
/// The answering thread never waits for the client: it sends what the socket takes at once, and the
/// connection's thread sends the rest when the handler returns. The handler's own response is then dropped.
/// Only byte bodies can be sent early.
public final class EarlyAnswer: @unchecked Sendable {
    private enum State {
        case open
        /// Answered early: what the socket did not take yet, and whether the connection stays open.
        case answered(rest: [UInt8], keepAlive: Bool)
        /// The handler returned first: too late to answer early.
        case closed
    }

    private let lock = NSLock()
    private var state = State.open
    private let socket: Socket
    /// The response's bytes on the wire and whether they keep the connection open, as the connection would
    /// send it; nil for a streamed body.
    private let encode: (HTTPResponse) -> (bytes: [UInt8], keepAlive: Bool)?

    init(socket: Socket, encode: @escaping (HTTPResponse) -> (bytes: [UInt8], keepAlive: Bool)?) {
        self.socket = socket
        self.encode = encode
    }

    /// Answers with `response` now, unless the request was answered or its handler returned already; returns
    /// whether this was the answer.
    @discardableResult
    public func send(_ response: HTTPResponse) -> Bool {
        lock.withLock {
            guard case .open = state, let (bytes, keepAlive) = encode(response) else { return false }
            do {
                let sent = try socket.sendWithoutWaiting(bytes)
                state = .answered(rest: Array(bytes[sent...]), keepAlive: keepAlive)
            } catch {
                state = .answered(rest: [], keepAlive: false)  // the client is gone: the connection closes
            }
            return true
        }
    }

    /// Whether the request was answered early (its handler's response will not be sent).
    public var hasAnswered: Bool {
        lock.withLock {
            if case .answered = state { return true }
            return false
        }
    }

    /// Called by the connection's thread once the handler returned: ends early answers, and returns what an
    /// early answer left to send, or nil when there was none.
    func finish() -> (rest: [UInt8], keepAlive: Bool)? {
        lock.withLock {
            if case let .answered(rest, keepAlive) = state { return (rest, keepAlive) }
            state = .closed
            return nil
        }
    }
}
