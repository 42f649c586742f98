import Crypto
import Foundation
import TLS
import Testing

@testable import Transport

/// A fixed validator key: seed bytes all equal to `number`.
func peerKey(_ number: UInt8) -> Ed25519.PrivateKey {
    try! Ed25519.PrivateKey(seed: [UInt8](repeating: number, count: 32))
}

let testChainID = "test-chain"

/// Polls `predicate` (every 10 ms) until it holds; false after `timeoutMs`. For conditions on statistics,
/// which change without an event to wait for.
func eventually(timeoutMs: Int = 10_000, _ predicate: () -> Bool) -> Bool {
    let deadline = Deadline.afterMs(timeoutMs)
    while !predicate() {
        if deadline.hasPassed { return false }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return true
}

/// Collects what a network reports, for tests to wait on. Thread-safe.
final class PeerRecorder: @unchecked Sendable {
    private let condition = NSCondition()
    private var frames: [(peer: Ed25519.PublicKey, payload: [UInt8])] = []
    private var events: [PeerEvent] = []

    func frame(_ peer: Ed25519.PublicKey, _ payload: [UInt8]) {
        condition.lock()
        frames.append((peer, payload))
        condition.broadcast()
        condition.unlock()
    }

    func event(_ event: PeerEvent) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    var receivedFrames: [(peer: Ed25519.PublicKey, payload: [UInt8])] { locked { frames } }
    var recordedEvents: [PeerEvent] { locked { events } }

    /// Waits until `predicate` holds for the frames and events seen so far (checked on each new one); false
    /// after `timeoutMs`.
    @discardableResult
    func waitUntil(
        timeoutMs: Int = 10_000,
        _ predicate: (_ frames: [(peer: Ed25519.PublicKey, payload: [UInt8])], _ events: [PeerEvent]) -> Bool
    ) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1_000)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(frames, events) {
            if !condition.wait(until: deadline) { return predicate(frames, events) }
        }
        return true
    }

    /// Waits for an event matching `predicate`; returns it, or nil after `timeoutMs`.
    func waitForEvent(timeoutMs: Int = 10_000, _ predicate: (PeerEvent) -> Bool) -> PeerEvent? {
        var found: PeerEvent?
        waitUntil(timeoutMs: timeoutMs) { _, events in
            found = events.first(where: predicate)
            return found != nil
        }
        return found
    }

    private func locked<Result>(_ body: () -> Result) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}

extension PeerEvent {
    /// The reason code of a refusal, closed link or failed dial; nil for an established link.
    var reasonCode: String? {
        switch self {
        case .linkEstablished: nil
        case .linkClosed(_, _, let reason), .connectionRefused(_, let reason), .dialFailed(_, _, let reason, _): reason.code
        }
    }

    var isLinkEstablished: Bool {
        if case .linkEstablished = self { return true }
        return false
    }

    func isLinkEstablished(_ peer: Ed25519.PublicKey, _ direction: PeerDirection) -> Bool {
        if case .linkEstablished(peer, direction, _) = self { return true }
        return false
    }

    func isLinkClosed(_ code: String) -> Bool {
        if case .linkClosed = self { return reasonCode == code }
        return false
    }

    func isRefused(_ code: String) -> Bool {
        if case .connectionRefused = self { return reasonCode == code }
        return false
    }

    func isDialFailure(_ code: String) -> Bool {
        if case .dialFailed = self { return reasonCode == code }
        return false
    }
}

/// A consortium on loopback: one bound listener per key, so every address is known before any network starts.
final class TestConsortium {
    let keys: [Ed25519.PrivateKey]
    var listeners: [PeerListener]
    var endpoints: [PeerEndpoint]
    var networks: [PeerNetwork?]
    let recorders: [PeerRecorder]
    let adjust: (inout PeerNetworkConfiguration) -> Void

    /// Binds a listener per key on `host`; `adjust` changes each node's configuration (fast timeouts are set
    /// already).
    init(keys: [Ed25519.PrivateKey], host: String = "127.0.0.1", adjust: @escaping (inout PeerNetworkConfiguration) -> Void = { _ in }) throws {
        self.keys = keys
        listeners = try keys.map { _ in try PeerListener.bind(host: host, port: 0) }
        endpoints = zip(keys, listeners).map { PeerEndpoint(key: $0.publicKey, host: host, port: $1.port) }
        networks = keys.map { _ in nil }
        recorders = keys.map { _ in PeerRecorder() }
        self.adjust = adjust
    }

    deinit { stopAll() }

    /// Fast, test-sized timeouts; fixed jitter seed.
    static func configuration(_ key: Ed25519.PrivateKey, validators: [PeerEndpoint], chainID: String = testChainID) -> PeerNetworkConfiguration {
        var configuration = PeerNetworkConfiguration(privateKey: key, chainID: chainID, validators: validators, jitterSeed: 42)
        configuration.reconnectInitialDelayMs = 20
        configuration.reconnectMaxDelayMs = 200
        configuration.handshakeTimeoutMs = 3_000
        configuration.keepaliveIntervalMs = 200
        configuration.idleTimeoutMs = 3_000
        configuration.writeStallTimeoutMs = 3_000
        return configuration
    }

    /// Starts node `index` on its listener (a fresh one bound to the same port after a restart).
    func start(_ index: Int) throws {
        var configuration = Self.configuration(keys[index], validators: endpoints)
        adjust(&configuration)
        let recorder = recorders[index]
        let network = try PeerNetwork(
            configuration: configuration, listener: listeners[index],
            onFrame: { recorder.frame($0, $1) }, onEvent: { recorder.event($0) })
        try network.start()
        networks[index] = network
    }

    func startAll() throws {
        for index in keys.indices { try start(index) }
    }

    /// Stops node `index` and binds a new listener on its port, ready for `start(index)`.
    func stop(_ index: Int, rebind: Bool = false) throws {
        networks[index]?.stop()
        networks[index] = nil
        if rebind { listeners[index] = try PeerListener.bind(host: endpoints[index].host, port: endpoints[index].port) }
    }

    func stopAll() {
        for network in networks { network?.stop() }
        networks = networks.map { _ in nil }
    }

    /// Waits until every node has an outbound link to every other node.
    func waitUntilFullyConnected(timeoutMs: Int = 10_000) -> Bool {
        eventually(timeoutMs: timeoutMs) {
            networks.allSatisfy { network in
                network?.statistics.peers.allSatisfy { $0.outboundConnected && $0.inboundConnected } ?? false
            }
        }
    }
}

/// A test-controlled peer speaking the protocol by hand over the real TLS wrapper, to misbehave on purpose.
final class HandmadePeer {
    let socket: Socket
    let tls: TLSConnection
    private var decoder = PeerFrameDecoder(maxPayloadBytes: 16 * 1024 * 1024)

    /// Connects to `port` as `key`, expecting `serverKey` there.
    init(port: UInt16, key: Ed25519.PrivateKey, serverKey: Ed25519.PublicKey) throws {
        socket = try Socket.connected(host: "127.0.0.1", port: port, timeoutMs: 2_000)
        let context = try TLSContext(privateKey: key, allowedPeerKeys: [serverKey])
        tls = try TLSConnection.connect(descriptor: socket.fileDescriptor, context: context, expectedPeerKey: serverKey, timeoutMs: 3_000)
    }

    /// Accepts one connection on `listener` (a node dialing it) as `key`, expecting `clientKey`.
    init(accepting listener: PeerListener, key: Ed25519.PrivateKey, clientKey: Ed25519.PublicKey) throws {
        var accepted: (socket: Socket, remoteAddress: String)?
        let deadline = Deadline.afterMs(10_000)
        while accepted == nil && !deadline.hasPassed { accepted = try listener.socket.acceptConnection(timeoutMs: 100) }
        guard let accepted else { throw TLSError.timedOut }
        socket = accepted.socket
        let context = try TLSContext(privateKey: key, allowedPeerKeys: [clientKey])
        tls = try TLSConnection.accept(descriptor: socket.fileDescriptor, context: context, timeoutMs: 3_000)
    }

    deinit {
        tls.close()
        socket.close()
    }

    func sendHello(chainID: String = testChainID, key: Ed25519.PublicKey) throws {
        try sendRaw(PeerFrame.encode(PeerHello(chainID: chainID, key: key).encode()))
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        try tls.write(bytes, stallTimeoutMs: 3_000)
    }

    /// The next non-keepalive payload.
    func readPayload(timeoutMs: Int = 5_000) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Deadline.afterMs(timeoutMs)
        while true {
            while let payload = try decoder.next() {
                if !payload.isEmpty { return payload }
            }
            let count = try tls.read(into: &buffer, timeoutMs: Int(deadline.remainingMs))
            decoder.append(buffer[0..<count])
        }
    }

    /// Reads until the node closes the link; returns the error that ended it (nil if `timeoutMs` passed).
    func readUntilClosed(timeoutMs: Int = 10_000) -> TLSError? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Deadline.afterMs(timeoutMs)
        while true {
            do throws(TLSError) {
                _ = try tls.read(into: &buffer, timeoutMs: Int(deadline.remainingMs))
            } catch {
                return error == .timedOut ? nil : error
            }
        }
    }
}
