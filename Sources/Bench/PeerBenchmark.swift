import Crypto
import Foundation
import TestSupport
import TLS
import Transport

/// `peers`: what the TLS peer links carry between two validators on loopback (frames/s and MB/s per payload
/// size, through the public `PeerNetwork` API with end-to-end flow control so that no frame is dropped), and
/// the rate of full mutual TLS 1.3 handshakes with pinned Ed25519 keys. Figures are also given as ratios to
/// E1 (one-thread Ed25519 verifications/s, measured in the same run): a consensus message costs at least one
/// verification, so frames/s far above E1 means the links are not the bottleneck.
struct PeerBenchmark {
    struct Options {
        var secondsPerSize = 3.0
        var handshakes = 2_000
        var baselineSeconds = 3.0
    }

    static let payloadSizes = [200, 4 * 1024, 64 * 1024, 1024 * 1024]

    let options: Options

    func run() throws -> [String: Any] {
        let (e1, e2) = Ed25519Baseline.measure(seconds: options.baselineSeconds, report: progress)
        var result: [String: Any] = ["ed25519_verify_per_s_1t": Int(e1), "ed25519_verify_per_s_2t": Int(e2)]
        var throughput: [[String: Any]] = []
        for size in Self.payloadSizes {
            let (framesPerSecond, dropped) = try measureStream(payloadBytes: size)
            let megabytesPerSecond = framesPerSecond * Double(size) / 1e6
            progress(
                "stream \(size) B payloads: \(Int(framesPerSecond)) frames/s, \(rounded(megabytesPerSecond, 1)) MB/s"
                    + " = \(rounded(framesPerSecond / e1)) x E1 (dropped: \(dropped))")
            throughput.append([
                "payload_bytes": size, "frames_per_s": Int(framesPerSecond), "mb_per_s": rounded(megabytesPerSecond, 1),
                "frames_ratio_e1": rounded(framesPerSecond / e1), "dropped_frames": dropped,
            ])
        }
        result["stream"] = throughput
        let handshakesPerSecond = try measureHandshakes(count: options.handshakes)
        progress(
            "TLS 1.3 mutual handshakes (both ends in this process, 2 threads): \(Int(handshakesPerSecond))/s"
                + " = \(rounded(handshakesPerSecond / e1, 3)) x E1")
        result["handshakes_per_s"] = Int(handshakesPerSecond)
        result["handshakes_ratio_e1"] = rounded(handshakesPerSecond / e1, 3)
        return result
    }

    // MARK: Streaming

    /// Frames per second from one validator to another for `secondsPerSize`, at most `window` frames in flight.
    private func measureStream(payloadBytes: Int) throws -> (framesPerSecond: Double, dropped: Int) {
        let window = max(4, min(4_096, 32 * 1024 * 1024 / payloadBytes))
        let counter = ReceivedCounter()
        let (sender, receiver, receiverKey) = try makePair(window: window, payloadBytes: payloadBytes, counter: counter)
        defer {
            sender.stop()
            receiver.stop()
        }
        let payload = [UInt8](repeating: 0x5A, count: payloadBytes)
        let start = nowSeconds()
        var sent = 0
        while nowSeconds() - start < options.secondsPerSize {
            counter.waitUntil(atLeast: sent - window + 1)
            try sender.send(payload, to: receiverKey)
            sent += 1
        }
        counter.waitUntil(atLeast: sent)
        let elapsed = nowSeconds() - start
        let dropped = sender.statistics.peers[0].droppedFrames
        return (Double(sent) / elapsed, dropped)
    }

    /// Two connected validators on loopback; the receiver counts frames.
    private func makePair(
        window: Int, payloadBytes: Int, counter: ReceivedCounter
    ) throws -> (PeerNetwork, PeerNetwork, Ed25519.PublicKey) {
        let keys = [UInt8(1), 2].map { try! Ed25519.PrivateKey(seed: [UInt8](repeating: $0, count: 32)) }
        let listeners = try keys.map { _ in try PeerListener.bind(host: "127.0.0.1", port: 0) }
        let endpoints = zip(keys, listeners).map { PeerEndpoint(key: $0.publicKey, host: "127.0.0.1", port: $1.port) }
        func configuration(_ key: Ed25519.PrivateKey) -> PeerNetworkConfiguration {
            var configuration = PeerNetworkConfiguration(privateKey: key, chainID: "bench", validators: endpoints, jitterSeed: 1)
            configuration.maxFrameBytes = max(payloadBytes, 1024 * 1024)
            configuration.sendQueueMaxFrames = window * 2
            configuration.sendQueueMaxBytes = max(window * 2 * (payloadBytes + 4), configuration.maxFrameBytes + 4)
            return configuration
        }
        let sender = try PeerNetwork(configuration: configuration(keys[0]), listener: listeners[0], onFrame: { _, _ in })
        let receiver = try PeerNetwork(configuration: configuration(keys[1]), listener: listeners[1]) { _, _ in counter.add() }
        try sender.start()
        try receiver.start()
        let deadline = nowSeconds() + 10
        while !(sender.statistics.peers.first?.outboundConnected ?? false) {
            guard nowSeconds() < deadline else { throw PeerBenchmarkError.notConnected }
            usleep(5_000)
        }
        return (sender, receiver, keys[1].publicKey)
    }

    // MARK: Handshakes

    /// Full handshakes per second: a server thread and a client thread complete `count` handshakes over
    /// kernel socket pairs (made in batches to stay under the descriptor limit).
    private func measureHandshakes(count: Int) throws -> Double {
        let server = try Ed25519.PrivateKey(seed: [UInt8](repeating: 1, count: 32))
        let client = try Ed25519.PrivateKey(seed: [UInt8](repeating: 2, count: 32))
        let serverContext = try TLSContext(privateKey: server, allowedPeerKeys: [client.publicKey])
        let clientContext = try TLSContext(privateKey: client, allowedPeerKeys: [server.publicKey])
        let batchSize = 200
        var elapsed = 0.0
        var done = 0
        while done < count {
            let pairs = (0..<min(batchSize, count - done)).map { _ in SocketPair() }
            let start = nowSeconds()
            let failures = ReceivedCounter()
            let serverThread = startThreads(1, name: "bench-tls-server") { _ in
                for pair in pairs {
                    if (try? TLSConnection.accept(descriptor: pair.server, context: serverContext, timeoutMs: 5_000)) == nil {
                        failures.add()
                    }
                }
            }
            for pair in pairs {
                let connection = try TLSConnection.connect(
                    descriptor: pair.client, context: clientContext, expectedPeerKey: server.publicKey, timeoutMs: 5_000)
                connection.close()
            }
            serverThread()
            elapsed += nowSeconds() - start
            guard failures.value == 0 else { throw PeerBenchmarkError.handshakeFailed }
            done += pairs.count
        }
        return Double(done) / elapsed
    }
}

enum PeerBenchmarkError: Error, CustomStringConvertible {
    case notConnected
    case handshakeFailed

    var description: String {
        switch self {
        case .notConnected: "the two benchmark validators did not link within 10 s"
        case .handshakeFailed: "a benchmark TLS handshake failed"
        }
    }
}

/// Frames received so far, with a wait for a count.
private final class ReceivedCounter: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0

    func add() {
        condition.lock()
        count += 1
        condition.broadcast()
        condition.unlock()
    }

    var value: Int { condition.withLock { count } }

    func waitUntil(atLeast target: Int) {
        condition.lock()
        while count < target { condition.wait() }
        condition.unlock()
    }
}
