import Crypto
import Foundation
import TLS

/// The limits one link enforces, taken from `PeerNetworkConfiguration`.
struct PeerLinkLimits: Sendable {
    var maxFrameBytes: Int
    var handshakeTimeoutMs: Int
    var writeStallTimeoutMs: Int
    var keepaliveIntervalMs: Int
    var idleTimeoutMs: Int
    /// Frames are written in batches of up to this many bytes (one TLS write, fewer system calls).
    var maxBatchBytes = 256 * 1024

    init(_ configuration: PeerNetworkConfiguration) {
        maxFrameBytes = configuration.maxFrameBytes
        handshakeTimeoutMs = configuration.handshakeTimeoutMs
        writeStallTimeoutMs = configuration.writeStallTimeoutMs
        keepaliveIntervalMs = configuration.keepaliveIntervalMs
        idleTimeoutMs = configuration.idleTimeoutMs
    }
}

/// Turns a connected socket into an authenticated TLS connection with a checked hello: both sides send their
/// hello right after the handshake, then read the other's, all within `handshakeTimeoutMs`.
enum PeerHandshake {
    /// The TLS connection and a frame decoder holding whatever the peer sent after its hello.
    /// `expectedKey` is set for dialed connections. On failure the TLS state is closed; the caller closes the
    /// socket.
    static func run(
        socket: Socket, expectedKey: Ed25519.PublicKey?, context: TLSContext, chainID: String, limits: PeerLinkLimits
    ) throws(PeerCloseReason) -> (TLSConnection, PeerFrameDecoder) {
        let deadline = Deadline.afterMs(limits.handshakeTimeoutMs)
        let tls: TLSConnection
        do throws(TLSError) {
            if let expectedKey {
                tls = try TLSConnection.connect(
                    descriptor: socket.fileDescriptor, context: context, expectedPeerKey: expectedKey,
                    timeoutMs: limits.handshakeTimeoutMs)
            } else {
                tls = try TLSConnection.accept(
                    descriptor: socket.fileDescriptor, context: context, timeoutMs: limits.handshakeTimeoutMs)
            }
        } catch {
            throw .tls(error)
        }
        do throws(PeerCloseReason) {
            let decoder = try exchangeHello(
                tls, ours: PeerHello(chainID: chainID, key: context.localKey), limits: limits, deadline: deadline)
            return (tls, decoder)
        } catch {
            tls.close()
            throw error
        }
    }

    private static func exchangeHello(
        _ tls: TLSConnection, ours: PeerHello, limits: PeerLinkLimits, deadline: Deadline
    ) throws(PeerCloseReason) -> PeerFrameDecoder {
        do throws(TLSError) {
            try tls.write(PeerFrame.encode(ours.encode()), stallTimeoutMs: Int(deadline.remainingMs))
        } catch {
            throw .tls(error)
        }
        var decoder = PeerFrameDecoder(maxPayloadBytes: PeerHello.maxByteCount)
        var buffer = [UInt8](repeating: 0, count: 4 * 1024)
        while true {
            let payload: [UInt8]?
            do throws(PeerFrameError) { payload = try decoder.next() } catch {
                throw .malformedHello("first frame longer than a hello")
            }
            if let payload {
                try PeerHello(decoding: payload).check(chainID: ours.chainID, tlsKey: tls.peerKey)
                decoder.maxPayloadBytes = limits.maxFrameBytes
                return decoder
            }
            do throws(TLSError) {
                let count = try tls.read(into: &buffer, timeoutMs: Int(deadline.remainingMs))
                decoder.append(buffer[0..<count])
            } catch {
                throw .tls(error)
            }
        }
    }
}

/// One authenticated link to a validator (TLS done, hellos exchanged). `run()` reads frames on the calling
/// thread and writes from a second thread; it returns when the link ends, having closed the TLS state and
/// the socket.
///
/// Either direction carries payloads; this node sends only on its outbound links (the queue of an inbound
/// link only ever yields keepalives). Delivery is in order and at most once: frames taken from the queue
/// when a link fails are lost.
final class PeerLink: @unchecked Sendable {
    let peerKey: Ed25519.PublicKey
    let direction: PeerDirection
    let remoteAddress: String

    private let socket: Socket
    private let tls: TLSConnection
    private let limits: PeerLinkLimits
    private let queue: PeerSendQueue
    private let consumer: PeerSendQueue.Consumer
    private let counters: PeerCounters
    private var decoder: PeerFrameDecoder  // reader thread only

    private let lock = NSLock()
    /// False once `run()` closed the descriptor: nobody may shut it down after that.
    private var socketOpen = true
    /// The first reason recorded wins: an external `close(_:)` explains the read error that follows it.
    private var endReason: PeerCloseReason?
    private let writerDone = NSCondition()
    private var writerRunning = false

    init(
        socket: Socket, tls: TLSConnection, decoder: PeerFrameDecoder, direction: PeerDirection, remoteAddress: String,
        queue: PeerSendQueue, counters: PeerCounters, limits: PeerLinkLimits
    ) {
        self.socket = socket
        self.tls = tls
        self.decoder = decoder
        self.direction = direction
        self.remoteAddress = remoteAddress
        self.queue = queue
        self.consumer = queue.makeConsumer()
        self.counters = counters
        self.limits = limits
        peerKey = tls.peerKey
    }

    /// Runs the link until it ends; returns why. `onFrame` runs on this thread for every payload, in order.
    func run(threads: PeerThreads, onFrame: (Ed25519.PublicKey, [UInt8]) -> Void) -> PeerCloseReason {
        writerDone.lock()
        writerRunning = true
        writerDone.unlock()
        threads.start(name: "peer-writer") { [self] in
            writeLoop()
            writerDone.lock()
            writerRunning = false
            writerDone.broadcast()
            writerDone.unlock()
        }
        close(readLoop(onFrame: onFrame))
        writerDone.lock()
        while writerRunning { writerDone.wait() }
        writerDone.unlock()
        queue.waitForDirectWrites(consumer)
        tls.close()
        return lock.withLock {
            socket.close()
            socketOpen = false
            return endReason!
        }
    }

    /// Ends the link from any thread: records `reason` (unless one is recorded already) and wakes both the
    /// reader and the writer. Returns at once; `run()` finishes the teardown.
    func close(_ reason: PeerCloseReason) {
        lock.withLock {
            if endReason == nil { endReason = reason }
            if socketOpen { socket.shutdown(reading: true, writing: true) }
        }
        queue.cancel(consumer)
    }

    /// Reads and delivers frames until an error; returns the reason the link ends.
    private func readLoop(onFrame: (Ed25519.PublicKey, [UInt8]) -> Void) -> PeerCloseReason {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do throws(PeerFrameError) {
                while let payload = try decoder.next() {
                    guard !payload.isEmpty else { continue }  // keepalive
                    counters.addReceived()
                    onFrame(peerKey, payload)
                }
            } catch {
                switch error {
                case .tooLarge(let announced, let max): return .frameTooLarge(announcedBytes: announced, maxBytes: max)
                }
            }
            do throws(TLSError) {
                let count = try tls.read(into: &buffer, timeoutMs: limits.idleTimeoutMs)
                decoder.append(buffer[0..<count])
            } catch {
                return error == .timedOut ? .idle(timeoutMs: limits.idleTimeoutMs) : .tls(error)
            }
        }
    }

    /// Writes queued frames (or a keepalive when the queue stays empty) until the link closes. While it
    /// waits, senders may write small frames themselves (`directWrite`).
    private func writeLoop() {
        queue.attach(consumer) { [self] frames in directWrite(frames) }
        while true {
            let bytes: [UInt8]
            let frameCount: Int
            switch queue.take(for: consumer, maxBatchBytes: limits.maxBatchBytes, timeoutMs: limits.keepaliveIntervalMs) {
            case .cancelled: return
            case .idle: (bytes, frameCount) = (PeerFrame.keepalive, 0)
            case .frames(let frames):
                (bytes, frameCount) = (frames.count == 1 ? frames[0] : Array(frames.joined()), frames.count)
            }
            do throws(TLSError) {
                try tls.write(bytes, stallTimeoutMs: limits.writeStallTimeoutMs)
                counters.addSent(frameCount)
            } catch {
                close(error == .timedOut ? .writeStalled(timeoutMs: limits.writeStallTimeoutMs) : .tls(error))
                return
            }
        }
    }
}

extension PeerLink {
    /// Writes `frames` on the sender's thread if the socket has room for them now (they then go out in one
    /// non-blocking write); never waits for the peer. A failure closes the link, as in the writer thread.
    fileprivate func directWrite(_ frames: [[UInt8]]) -> PeerSendQueue.DirectWriteResult {
        let bytes = frames.count == 1 ? frames[0] : Array(frames.joined())
        do throws(TLSError) {
            guard try tls.writeIfWritable(bytes, stallTimeoutMs: limits.writeStallTimeoutMs) else { return .notReady }
            counters.addSent(frames.count)
        } catch {
            close(error == .timedOut ? .writeStalled(timeoutMs: limits.writeStallTimeoutMs) : .tls(error))
        }
        return .consumed
    }
}

/// Frame and link counters of one peer, shared by its links.
final class PeerCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = 0
    private var received = 0
    private var links = 0

    func addSent(_ count: Int) { lock.withLock { sent += count } }
    func addReceived() { lock.withLock { received += 1 } }
    func addLink() { lock.withLock { links += 1 } }
    var values: (sent: Int, received: Int, links: Int) { lock.withLock { (sent, received, links) } }
}
