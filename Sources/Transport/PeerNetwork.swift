import Crypto
import Foundation
import TLS

/// A bound listening socket for peer links. Bind one yourself to learn an ephemeral port before building the
/// validator list (tests, four nodes on one machine); otherwise `PeerNetwork.start()` binds one.
public final class PeerListener: @unchecked Sendable {
    let socket: Socket
    /// The bound port.
    public let port: UInt16

    private init(socket: Socket) {
        self.socket = socket
        port = socket.localPort
    }

    /// The host that listens on every interface: "::" (IPv6 and IPv4) where this machine can open IPv6
    /// sockets, otherwise "0.0.0.0".
    public static let everyInterface: String = Socket.canOpenIPv6 ? "::" : "0.0.0.0"

    /// Listens on `host` (an IPv4 or IPv6 literal, "localhost", "0.0.0.0" or "::") and `port` (0: an ephemeral
    /// port).
    public static func bind(host: String, port: UInt16) throws(PeerError) -> PeerListener {
        do throws(TransportError) {
            return PeerListener(socket: try Socket.listening(host: host, port: port, backlog: 128))
        } catch {
            throw .cannotListen(error.description)
        }
    }
}

/// Mutually authenticated TLS 1.3 links between the validators of one chain, carrying opaque payloads.
///
/// - Listens for validators and dials every other validator of the configuration (one dialer thread each),
///   reconnecting with exponential backoff and seeded jitter (`PeerBackoff`).
/// - Each direction of a pair has its own link: a node sends on the link it dialed and receives on the links
///   its peers dialed. No tie-break between two simultaneous connections is ever needed, a link failure
///   affects one direction only, and only dialers reconnect. A validator that connects again replaces its
///   previous inbound link.
/// - `broadcast` and `send(_:to:)` enqueue to a bounded queue per peer (`PeerSendQueue`: the oldest frames
///   are dropped when full, and counted); `onFrame` receives every payload with the sender's verified key.
/// - Every limit is bounded: frame size, queue sizes, unauthenticated inbound connections, handshake time,
///   idle time, write stalls. A misbehaving connection is closed with a reason (`onEvent`) and the others
///   keep running.
///
/// Wire format and settings: docs/PEERS.md. Threads: one accept thread, one dialer per remote validator, and
/// a reader and a writer per link.
public final class PeerNetwork: @unchecked Sendable {
    /// How long `stop()` waits for threads to end after closing every connection.
    private static let stopWaitMs = 10_000
    private static let acceptPollMs = 100

    private let configuration: PeerNetworkConfiguration
    private let limits: PeerLinkLimits
    private let context: TLSContext
    /// The remote validators in configuration order, and by key.
    private let slots: [PeerSlot]
    private let slotsByKey: [Ed25519.PublicKey: PeerSlot]
    private let onFrame: @Sendable (Ed25519.PublicKey, [UInt8]) -> Void
    private let onEvent: @Sendable (PeerEvent) -> Void
    private let threads = PeerThreads()
    private let registry = PeerRegistry()
    private let providedListener: PeerListener?

    /// Builds the network (and its TLS context: certificate, pinned keys) without opening any socket.
    ///
    /// - Parameters:
    ///   - listener: an already bound listener; nil to bind `listenHost:listenPort` in `start()`.
    ///   - onFrame: every received payload with its sender's key, in order per link. It runs on the link's
    ///     reader thread: while it runs, that peer's next frames wait (back-pressure through TCP).
    ///   - onEvent: links established and closed, refused connections, failed dials (for the log).
    public init(
        configuration: PeerNetworkConfiguration, listener: PeerListener? = nil,
        onFrame: @escaping @Sendable (Ed25519.PublicKey, [UInt8]) -> Void,
        onEvent: @escaping @Sendable (PeerEvent) -> Void = { _ in }
    ) throws(PeerError) {
        try configuration.validate()
        let localKey = configuration.privateKey.publicKey
        let remotes = configuration.validators.filter { $0.key != localKey }
        do throws(TLSError) {
            context = try TLSContext(privateKey: configuration.privateKey, allowedPeerKeys: Set(remotes.map(\.key)))
        } catch {
            throw .tls(error)
        }
        self.configuration = configuration
        limits = PeerLinkLimits(configuration)
        slots = remotes.enumerated().map { index, endpoint in
            PeerSlot(
                endpoint: endpoint, index: index,
                queue: PeerSendQueue(maxFrames: configuration.sendQueueMaxFrames, maxBytes: configuration.sendQueueMaxBytes))
        }
        slotsByKey = Dictionary(uniqueKeysWithValues: slots.map { ($0.endpoint.key, $0) })
        self.onFrame = onFrame
        self.onEvent = onEvent
        providedListener = listener
    }

    // MARK: Lifecycle

    /// Listens, starts the accept thread and one dialer per remote validator. Call once.
    public func start() throws(PeerError) {
        let listener: PeerListener
        if let providedListener {
            listener = providedListener
        } else {
            listener = try PeerListener.bind(host: configuration.listenHost, port: configuration.resolvedListenPort)
        }
        registry.markStarted(port: listener.port)
        threads.start(name: "peer-accept") { [self] in acceptLoop(listener) }
        for slot in slots {
            threads.start(name: "peer-dialer") { [self] in dialLoop(slot) }
        }
    }

    /// The listening port (0 before `start()`).
    public var port: UInt16 { registry.port }

    /// Closes every link and connection, stops dialing and listening, and waits for the threads to end.
    /// Queued frames are discarded. Idempotent.
    public func stop() {
        registry.beginStopping()
        _ = threads.waitForAll(deadline: .afterMs(Self.stopWaitMs))
    }

    // MARK: Sending

    /// Queues `payload` for every remote validator.
    public func broadcast(_ payload: [UInt8]) throws(PeerError) {
        try broadcast(all: [payload])
    }

    /// Queues `payloads`, in order, for every remote validator; each link takes them in one write when its
    /// socket has room (`PeerSendQueue.enqueue`). Throws, queuing none, when one is empty or too large.
    public func broadcast(all payloads: [[UInt8]]) throws(PeerError) {
        var frames: [[UInt8]] = []
        frames.reserveCapacity(payloads.count)
        for payload in payloads { frames.append(try encode(payload)) }
        for slot in slots { slot.queue.enqueue(all: frames) }
    }

    /// Queues `payload` for one remote validator.
    public func send(_ payload: [UInt8], to peer: Ed25519.PublicKey) throws(PeerError) {
        guard let slot = slotsByKey[peer] else { throw .unknownPeer }
        slot.queue.enqueue(try encode(payload))
    }

    private func encode(_ payload: [UInt8]) throws(PeerError) -> [UInt8] {
        guard !payload.isEmpty && payload.count <= configuration.maxFrameBytes else {
            throw .payloadSize(bytes: payload.count, maxBytes: configuration.maxFrameBytes)
        }
        return PeerFrame.encode(payload)
    }

    // MARK: Observing

    /// Counters per remote validator and for the whole network.
    public var statistics: PeerNetworkStatistics {
        let snapshot = registry.snapshot()
        let peers = slots.map { slot in
            let queue = slot.queue.counts
            let counters = slot.counters.values
            return PeerStatistics(
                peer: slot.endpoint.key, outboundConnected: snapshot.outbound.contains(slot.endpoint.key),
                inboundConnected: snapshot.inbound.contains(slot.endpoint.key), queuedFrames: queue.queuedFrames,
                queuedBytes: queue.queuedBytes, droppedFrames: queue.droppedFrames, sentFrames: counters.sent,
                receivedFrames: counters.received, linksEstablished: counters.links)
        }
        return PeerNetworkStatistics(
            peers: peers, refusedConnections: snapshot.refused, failedDials: snapshot.failedDials,
            pendingInbound: snapshot.pendingInbound)
    }

    // MARK: Inbound

    private func acceptLoop(_ listener: PeerListener) {
        defer { listener.socket.close() }
        while !registry.isStopping {
            let accepted: (socket: Socket, remoteAddress: String)?
            do { accepted = try listener.socket.acceptConnection(timeoutMs: Self.acceptPollMs) } catch {
                Thread.sleep(forTimeInterval: 0.05)  // out of descriptors: do not spin on a readable listener
                continue
            }
            guard let (socket, remoteAddress) = accepted else { continue }
            guard let pendingID = registry.beginPending(socket, inbound: true, maxInbound: configuration.maxPendingInbound) else {
                socket.close()
                registry.countRefused()
                onEvent(.connectionRefused(remoteAddress: remoteAddress, reason: .tooManyPendingConnections))
                continue
            }
            threads.start(name: "peer-inbound") { [self] in
                serveInbound(socket, remoteAddress: remoteAddress, pendingID: pendingID)
            }
        }
    }

    private func serveInbound(_ socket: Socket, remoteAddress: String, pendingID: Int) {
        let handshake = Result { () throws(PeerCloseReason) in
            try PeerHandshake.run(
                socket: socket, expectedKey: nil, context: context, chainID: configuration.chainID, limits: limits)
        }
        registry.endPending(pendingID)
        switch handshake {
        case .failure(let reason):
            socket.close()
            registry.countRefused()
            onEvent(.connectionRefused(remoteAddress: remoteAddress, reason: reason))
        case .success(let (tls, decoder)):
            // The TLS pin admits exactly the remote validators' keys.
            let slot = slotsByKey[tls.peerKey]!
            // This node sends only on links it dialed: an inbound link's own queue only ever yields keepalives.
            let link = PeerLink(
                socket: socket, tls: tls, decoder: decoder, direction: .inbound, remoteAddress: remoteAddress,
                queue: PeerSendQueue(maxFrames: 1, maxBytes: PeerFrame.headerByteCount), counters: slot.counters,
                limits: limits)
            runLink(link, slot: slot)
        }
    }

    // MARK: Outbound

    private func dialLoop(_ slot: PeerSlot) {
        var backoff = PeerBackoff(
            initialDelayMs: configuration.reconnectInitialDelayMs, maxDelayMs: configuration.reconnectMaxDelayMs,
            seed: configuration.jitterSeed &+ UInt64(slot.index) &* 0x9E37_79B9_7F4A_7C15)
        while !registry.isStopping {
            switch dial(slot) {
            case .failure(let reason):
                registry.countFailedDial()
                let delayMs = backoff.nextDelayMs()
                if reason != .stopping {
                    onEvent(.dialFailed(
                        peer: slot.endpoint.key, address: slot.endpoint.address, reason: reason, retryInMs: delayMs))
                }
                registry.sleep(ms: delayMs)
            case .success(let link):
                let startedAt = Deadline.afterMs(configuration.stableLinkMs)
                runLink(link, slot: slot)
                if startedAt.hasPassed { backoff.reset() }
                registry.sleep(ms: backoff.nextDelayMs())
            }
        }
    }

    private func dial(_ slot: PeerSlot) -> Result<PeerLink, PeerCloseReason> {
        let endpoint = slot.endpoint
        let socket: Socket
        do throws(TransportError) {
            socket = try Socket.connected(host: endpoint.host, port: endpoint.port, timeoutMs: configuration.connectTimeoutMs)
        } catch {
            guard case .cannotConnect(let reason) = error else { return .failure(.cannotConnect(error.description)) }
            return .failure(.cannotConnect(reason))
        }
        guard let pendingID = registry.beginPending(socket, inbound: false, maxInbound: 0) else {
            socket.close()
            return .failure(.stopping)
        }
        let handshake = Result { () throws(PeerCloseReason) in
            try PeerHandshake.run(
                socket: socket, expectedKey: endpoint.key, context: context, chainID: configuration.chainID, limits: limits)
        }
        registry.endPending(pendingID)
        switch handshake {
        case .failure(let reason):
            socket.close()
            return .failure(reason)
        case .success(let (tls, decoder)):
            return .success(PeerLink(
                socket: socket, tls: tls, decoder: decoder, direction: .outbound, remoteAddress: endpoint.address,
                queue: slot.queue, counters: slot.counters, limits: limits))
        }
    }

    // MARK: Links

    /// Registers `link` (replacing an older one of the same peer and direction), runs it to its end on this
    /// thread, and reports both ends.
    private func runLink(_ link: PeerLink, slot: PeerSlot) {
        let onFrame = onFrame
        guard registry.register(link) else {
            link.close(.stopping)  // stopping: tear the link down without ever announcing it
            _ = link.run(threads: threads) { _, _ in }
            return
        }
        slot.counters.addLink()
        onEvent(.linkEstablished(peer: link.peerKey, direction: link.direction, remoteAddress: link.remoteAddress))
        let reason = link.run(threads: threads) { key, payload in onFrame(key, payload) }
        registry.unregister(link)
        onEvent(.linkClosed(peer: link.peerKey, direction: link.direction, reason: reason))
    }
}

/// One remote validator: where it is, its send queue (which outlives its links) and its counters.
final class PeerSlot: Sendable {
    let endpoint: PeerEndpoint
    let index: Int
    let queue: PeerSendQueue
    let counters = PeerCounters()

    init(endpoint: PeerEndpoint, index: Int, queue: PeerSendQueue) {
        self.endpoint = endpoint
        self.index = index
        self.queue = queue
    }
}

/// The network's shared state under one lock: the links, the sockets still in their handshake, counters, and
/// whether it is stopping. Lock order: this lock, then a link's own.
final class PeerRegistry: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopping = false
    private var boundPort: UInt16 = 0
    private var outbound: [Ed25519.PublicKey: PeerLink] = [:]
    private var inbound: [Ed25519.PublicKey: PeerLink] = [:]
    /// Sockets in the TLS handshake or hello, so that `beginStopping` can wake them. Their owner removes
    /// them (`endPending`) before it closes or hands them on.
    private var pending: [Int: (socket: Socket, inbound: Bool)] = [:]
    private var pendingInbound = 0
    private var nextPendingID = 0
    private var refused = 0
    private var failedDials = 0

    private func locked<Result>(_ body: () -> Result) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    var isStopping: Bool { locked { stopping } }
    var port: UInt16 { locked { boundPort } }

    func markStarted(port: UInt16) {
        locked {
            precondition(boundPort == 0 && !stopping, "a PeerNetwork starts once")
            boundPort = port
        }
    }

    /// Tracks a socket entering its handshake; nil when stopping or, for inbound sockets, when `maxInbound`
    /// are pending already.
    func beginPending(_ socket: Socket, inbound isInbound: Bool, maxInbound: Int) -> Int? {
        locked {
            guard !stopping, !isInbound || pendingInbound < maxInbound else { return nil }
            nextPendingID += 1
            pending[nextPendingID] = (socket, isInbound)
            if isInbound { pendingInbound += 1 }
            return nextPendingID
        }
    }

    func endPending(_ id: Int) {
        locked {
            guard let entry = pending.removeValue(forKey: id) else { preconditionFailure("pending socket \(id) is tracked") }
            if entry.inbound { pendingInbound -= 1 }
        }
    }

    /// Makes `link` the current one for its peer and direction, closing the one it replaces; false when
    /// stopping (the caller closes it).
    func register(_ link: PeerLink) -> Bool {
        locked {
            guard !stopping else { return false }
            let previous: PeerLink?
            switch link.direction {
            case .inbound: previous = inbound.updateValue(link, forKey: link.peerKey)
            case .outbound: previous = outbound.updateValue(link, forKey: link.peerKey)
            }
            previous?.close(.replaced)
            return true
        }
    }

    /// Forgets `link` if it is still the current one (a replaced link must not remove its successor).
    func unregister(_ link: PeerLink) {
        locked {
            switch link.direction {
            case .inbound: if inbound[link.peerKey] === link { inbound[link.peerKey] = nil }
            case .outbound: if outbound[link.peerKey] === link { outbound[link.peerKey] = nil }
            }
        }
    }

    func countRefused() { locked { refused += 1 } }
    func countFailedDial() { locked { failedDials += 1 } }

    func snapshot() -> (
        outbound: Set<Ed25519.PublicKey>, inbound: Set<Ed25519.PublicKey>, refused: Int, failedDials: Int, pendingInbound: Int
    ) {
        locked { (Set(outbound.keys), Set(inbound.keys), refused, failedDials, pendingInbound) }
    }

    /// Waits `ms`, or less if the network starts stopping.
    func sleep(ms: Int) {
        let deadline = Date(timeIntervalSinceNow: Double(ms) / 1_000)
        locked {
            while !stopping && condition.wait(until: deadline) {}
        }
    }

    /// Refuses new work, closes every link, wakes every socket in a handshake and every sleeping dialer.
    func beginStopping() {
        locked {
            stopping = true
            for link in outbound.values { link.close(.stopping) }
            for link in inbound.values { link.close(.stopping) }
            for entry in pending.values { entry.socket.shutdown(reading: true, writing: true) }
            condition.broadcast()
        }
    }
}
