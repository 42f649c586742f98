import Foundation
import Threads

/// Where the server listens and the limits it enforces on every client.
public struct HTTPServerConfiguration: Sendable {
    /// An IPv4 or IPv6 literal (no brackets) or "localhost"; "0.0.0.0" listens on every IPv4 interface, "::" on
    /// every interface of both families.
    public var host: String = "127.0.0.1"
    /// 0: an ephemeral port, readable from `HTTPServer.port` after `start()`.
    public var port: UInt16 = 0
    /// Open connections at most. A connection beyond it takes the place of the one idle the longest (which is
    /// closed, as an idle keep-alive connection may be at any time), or, when none is idle, is answered 503
    /// and closed: a client holding connections it does not use cannot lock others out.
    public var maxConnections: Int = 256
    /// Request line plus headers; beyond: 431 and close.
    public var maxHeaderBytes: Int = 16 * 1024
    /// A Content-Length above this gets 413 and close, without reading the body.
    public var maxBodyBytes: Int = 2 * 1024 * 1024
    /// From a request's first byte to its last; beyond: 408 and close (slow clients, slowloris).
    public var requestTimeoutMs: Int = 10_000
    /// How long a keep-alive connection waits for its next request before closing silently.
    public var idleTimeoutMs: Int = 30_000
    /// A client that accepts no response bytes for this long is dropped.
    public var writeTimeoutMs: Int = 30_000

    public init() {}
}

/// Counters since `start()`.
public struct HTTPServerStatistics: Sendable {
    public var openConnections: Int
    public var acceptedConnections: Int
    /// Answered 503 because `maxConnections` were open and busy.
    public var rejectedConnections: Int
    /// Idle connections closed to make room for a new one.
    public var reclaimedConnections: Int
    /// Requests handed to the handler.
    public var requests: Int
    /// Requests refused by the server itself (400, 408, 413, 431, 501, 505).
    public var protocolErrors: Int
}

/// An HTTP/1.1 server: one accept thread and one thread per connection, blocking on `poll()` with deadlines.
public final class HTTPServer: @unchecked Sendable {
    /// Threads run the handler too; 512 KiB leaves room for decoding and SQLite while 256 connections stay small.
    static let threadStackBytes = 512 * 1024
    /// Rejections (503) get a thread each so that a lingering close never stalls accepting; bounded so that
    /// a flood cannot multiply threads (beyond it, rejected connections are closed without an answer).
    private static let maxRejectingThreads = 16
    private static let acceptPollMs = 100
    private static let gracefulStopMs = 5_000

    private let configuration: HTTPServerConfiguration
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let registry = ConnectionRegistry()

    /// - Parameter handler: answers every request; it runs on the connection's thread, so it may block.
    public init(configuration: HTTPServerConfiguration, handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        precondition(configuration.maxConnections > 0 && configuration.maxHeaderBytes > 0 && configuration.maxBodyBytes >= 0)
        precondition(configuration.requestTimeoutMs > 0 && configuration.idleTimeoutMs > 0 && configuration.writeTimeoutMs > 0)
        self.configuration = configuration
        self.handler = handler
    }

    /// Binds (with SO_REUSEADDR), listens and starts the accept thread; returns once listening. Call once.
    public func start() throws(TransportError) {
        let listener = try Socket.listening(host: configuration.host, port: configuration.port, backlog: 512)
        registry.markStarted(port: listener.localPort)
        startThread(name: "http-accept") { [self] in acceptLoop(listener) }
    }

    /// The bound port (0 before `start()`).
    public var port: UInt16 { registry.port }

    public var statistics: HTTPServerStatistics { registry.statistics }

    /// Stops accepting, closes idle connections, lets in-flight requests finish for up to 5 s, then cuts
    /// the rest and waits for the threads to end. Idempotent; the port is free when it returns.
    public func stop() {
        registry.beginStopping()
        if !registry.waitForThreads(deadline: .afterMs(Self.gracefulStopMs)) {
            registry.shutdownAllConnections()
            _ = registry.waitForThreads(deadline: .afterMs(1_000))
        }
    }

    private func acceptLoop(_ listener: Socket) {
        defer { listener.close() }
        while !registry.isStopping {
            do {
                if let (socket, remoteAddress) = try listener.acceptConnection(timeoutMs: Self.acceptPollMs) {
                    admit(socket, remoteAddress: remoteAddress)
                }
            } catch {
                // Out of descriptors or memory: wait instead of spinning on a listener that stays readable.
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    private func admit(_ socket: Socket, remoteAddress: String) {
        func connection(id: Int) -> ServerConnection {
            ServerConnection(
                id: id, socket: socket, remoteAddress: remoteAddress, configuration: configuration,
                registry: registry, handler: handler)
        }
        switch registry.admit(socket, maxConnections: configuration.maxConnections, maxRejecting: Self.maxRejectingThreads) {
        case .accepted(let id):
            let accepted = connection(id: id)
            startThread(name: "http-connection") { accepted.run() }
        case .rejected:
            let rejected = connection(id: -1)  // never registered: rejections do not count as open connections
            startThread(name: "http-reject") { rejected.reject() }
        case .dropped:
            socket.close()
        }
    }

    /// Every thread is counted by the registry before it starts, so `stop()` can wait for all of them.
    private func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
        registry.threadStarting()
        let registry = registry
        Thread(named: name, stackBytes: Self.threadStackBytes) {
            body()
            registry.threadFinished()
        }.start()
    }
}

/// The server's shared state under one lock: open connections, counters, threads, and whether it is stopping.
final class ConnectionRegistry: @unchecked Sendable {
    enum Admission {
        case accepted(id: Int)
        case rejected
        case dropped
    }

    private struct Entry {
        let socket: Socket
        var isIdle: Bool
        /// When it last became idle, in `idleOrder`: the smallest has been idle the longest.
        var idleSince: Int
        /// Shut down to make room; no longer counted, and it serves no further request.
        var isReclaimed = false
    }

    private let condition = NSCondition()
    private var connections: [Int: Entry] = [:]
    private var nextID = 0
    private var idleOrder = 0
    /// Connections shut down to make room whose threads have not removed them yet.
    private var reclaimedCount = 0
    private var runningThreads = 0
    private var rejectingThreads = 0
    private var stopping = false
    private var boundPort: UInt16 = 0
    private var counters = HTTPServerStatistics(
        openConnections: 0, acceptedConnections: 0, rejectedConnections: 0, reclaimedConnections: 0, requests: 0, protocolErrors: 0)

    private func locked<Result>(_ body: () -> Result) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    var port: UInt16 { locked { boundPort } }
    var isStopping: Bool { locked { stopping } }
    var statistics: HTTPServerStatistics { locked { counters } }

    func markStarted(port: UInt16) {
        locked {
            precondition(boundPort == 0 && !stopping, "an HTTPServer starts once")
            boundPort = port
        }
    }

    func admit(_ socket: Socket, maxConnections: Int, maxRejecting: Int) -> Admission {
        locked {
            if stopping { return .dropped }
            guard connections.count - reclaimedCount < maxConnections || reclaimLongestIdle() else {
                counters.rejectedConnections += 1
                guard rejectingThreads < maxRejecting else { return .dropped }
                rejectingThreads += 1
                return .rejected
            }
            nextID += 1
            idleOrder += 1
            connections[nextID] = Entry(socket: socket, isIdle: true, idleSince: idleOrder)
            counters.acceptedConnections += 1
            counters.openConnections = connections.count - reclaimedCount
            return .accepted(id: nextID)
        }
    }

    /// Shuts down the connection idle the longest (its thread wakes, sees the end of the stream and closes);
    /// false when none is idle. The lock is held.
    private func reclaimLongestIdle() -> Bool {
        guard let (id, entry) = connections.filter({ $0.value.isIdle && !$0.value.isReclaimed })
            .min(by: { $0.value.idleSince < $1.value.idleSince })
        else { return false }
        entry.socket.shutdown(reading: true, writing: true)
        connections[id]?.isReclaimed = true
        reclaimedCount += 1
        counters.reclaimedConnections += 1
        return true
    }

    func rejectionFinished() { locked { rejectingThreads -= 1 } }

    /// Marks the connection busy with a request; false when the server is stopping or the connection was
    /// reclaimed (close instead).
    func beginRequest(connection id: Int) -> Bool {
        locked {
            guard !stopping, connections[id]?.isReclaimed == false else { return false }
            connections[id]?.isIdle = false
            return true
        }
    }

    /// Marks the connection idle again; false when the server is stopping (close instead).
    func endRequest(connection id: Int) -> Bool {
        locked {
            guard !stopping else { return false }
            idleOrder += 1
            connections[id]?.isIdle = true
            connections[id]?.idleSince = idleOrder
            return true
        }
    }

    /// Called by the connection's thread before it closes the socket, so that nobody shuts down a
    /// descriptor number the system may already have reused.
    func remove(connection id: Int) {
        locked {
            if connections.removeValue(forKey: id)?.isReclaimed == true { reclaimedCount -= 1 }
            counters.openConnections = connections.count - reclaimedCount
        }
    }

    func recordRequest() { locked { counters.requests += 1 } }
    func recordProtocolError() { locked { counters.protocolErrors += 1 } }

    /// Refuses new work and wakes idle connections (their poll returns, they see end of stream and close).
    func beginStopping() {
        locked {
            stopping = true
            for entry in connections.values where entry.isIdle { entry.socket.shutdown(reading: true, writing: true) }
        }
    }

    func shutdownAllConnections() {
        locked {
            for entry in connections.values { entry.socket.shutdown(reading: true, writing: true) }
        }
    }

    func threadStarting() { locked { runningThreads += 1 } }

    func threadFinished() {
        locked {
            runningThreads -= 1
            condition.broadcast()
        }
    }

    /// Whether every server thread ended before `deadline`.
    func waitForThreads(deadline: Deadline) -> Bool {
        locked {
            while runningThreads > 0 {
                let remainingMs = deadline.remainingMs
                if remainingMs == 0 { return false }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(remainingMs) / 1000))
            }
            return true
        }
    }
}
