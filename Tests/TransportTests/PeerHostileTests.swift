import Crypto
import Foundation
import TLS
import Testing

@testable import Transport

/// Bad peers against a real node over real sockets: each is refused or dropped with a logged reason, and the
/// node still links with a good peer afterwards.
@Suite(.serialized) struct PeerHostileTests {
    let alice = peerKey(1)
    let bob = peerKey(2)
    let carol = peerKey(3)
    let mallory = peerKey(66)

    /// Alice running, Bob and Carol listed (their listeners bound, their nodes not started).
    func aliceAlone(adjust: @escaping (inout PeerNetworkConfiguration) -> Void = { _ in }) throws -> TestConsortium {
        let consortium = try TestConsortium(keys: [alice, bob, carol], adjust: adjust)
        try consortium.start(0)
        return consortium
    }

    /// Starts the real Bob and checks that Alice and Bob link both ways and exchange a frame.
    func expectAliceStillLinksWithBob(_ consortium: TestConsortium) throws {
        try consortium.start(1)
        let linked = eventually {
            let peers = consortium.networks[1]!.statistics.peers
            return peers[0].outboundConnected && peers[0].inboundConnected
        }
        #expect(linked)
        try consortium.networks[1]!.send([7, 7], to: alice.publicKey)
        #expect(consortium.recorders[0].waitUntil { frames, _ in frames.contains { $0.peer == bob.publicKey && $0.payload == [7, 7] } })
    }

    // MARK: Keys

    @Test func aClientWithAnUnpinnedKeyIsRefusedAndSeesTheRefusal() throws {
        let consortium = try aliceAlone()
        let intruder = try HandmadePeer(port: consortium.endpoints[0].port, key: mallory, serverKey: alice.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("tls_key_not_pinned") } != nil)
        guard case .refusedByPeer = intruder.readUntilClosed() else {
            Issue.record("the intruder should read the node's alert")
            return
        }
        #expect(consortium.networks[0]!.statistics.refusedConnections >= 1)
        try expectAliceStillLinksWithBob(consortium)
    }

    @Test func aDialerRefusesAnUnpinnedKeyAtItsPeersAddress() throws {
        let consortium = try aliceAlone()
        // Mallory sits on Bob's address and accepts Alice's key; Alice must refuse Mallory's.
        #expect(throws: TLSError.self) {
            _ = try HandmadePeer(accepting: consortium.listeners[1], key: mallory, clientKey: alice.publicKey)
        }
        let failure = consortium.recorders[0].waitForEvent { $0.isDialFailure("tls_key_not_pinned") }
        #expect(failure.map { "\($0)" }?.contains("address=127.0.0.1:\(consortium.endpoints[1].port)") == true)
        #expect(consortium.networks[0]!.statistics.peers[0].linksEstablished == 0)
    }

    @Test func aDialerRefusesAnotherValidatorsKeyAtItsPeersAddress() throws {
        let consortium = try aliceAlone()
        // Carol is a genuine validator, but Alice dialed Bob's address: she expects Bob's key there.
        #expect(throws: TLSError.self) {
            _ = try HandmadePeer(accepting: consortium.listeners[1], key: carol, clientKey: alice.publicKey)
        }
        #expect(consortium.recorders[0].waitForEvent { $0.isDialFailure("tls_key_unexpected") } != nil)
    }

    // MARK: Not TLS, stalls, limits

    @Test func plainTCPGarbageIsDroppedAndTheNodeKeepsServing() throws {
        let consortium = try aliceAlone()
        let connection = try RawConnection(port: consortium.endpoints[0].port)
        try connection.send("\u{0}\u{1}GARBAGE that is not a TLS record\r\n\r\n")
        #expect(connection.readUntilClosed().closed)
        let refusal = consortium.recorders[0].waitForEvent { $0.isRefused("tls_error") }
        #expect(refusal.map { "\($0)" }?.contains("TLS protocol error") == true)
        try expectAliceStillLinksWithBob(consortium)
    }

    @Test func aClientThatStallsInTheHandshakeIsDroppedWhileOthersAreServed() throws {
        let consortium = try aliceAlone { $0.handshakeTimeoutMs = 1_500 }
        let staller = try RawConnection(port: consortium.endpoints[0].port)
        try staller.send("\u{16}\u{3}\u{1}")  // the start of a TLS record, then silence
        try expectAliceStillLinksWithBob(consortium)  // served while the staller holds its slot
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("tls_timeout") } != nil)
        #expect(staller.readUntilClosed().closed)
    }

    @Test func connectionsBeyondThePendingLimitAreClosedAtOnce() throws {
        let consortium = try aliceAlone {
            $0.maxPendingInbound = 2
            $0.handshakeTimeoutMs = 3_000
        }
        let stallers = try (0..<2).map { _ in try RawConnection(port: consortium.endpoints[0].port) }
        #expect(eventually { consortium.networks[0]!.statistics.pendingInbound == 2 })
        let third = try RawConnection(port: consortium.endpoints[0].port)
        #expect(third.readUntilClosed(timeoutMs: 1_000).closed)  // well before the handshake timeout
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("too_many_pending") } != nil)
        for staller in stallers { #expect(staller.readUntilClosed().closed) }
        #expect(consortium.networks[0]!.statistics.pendingInbound == 0)
        try expectAliceStillLinksWithBob(consortium)
    }

    // MARK: Hello

    @Test func aHelloForAnotherChainIsRefusedOnBothSides() throws {
        let consortium = try aliceAlone()
        let recorder = PeerRecorder()
        var configuration = TestConsortium.configuration(bob, validators: consortium.endpoints, chainID: "another-chain")
        configuration.reconnectInitialDelayMs = 1_000
        configuration.reconnectMaxDelayMs = 1_000
        let wrongBob = try PeerNetwork(
            configuration: configuration, listener: consortium.listeners[1], onFrame: { recorder.frame($0, $1) },
            onEvent: { recorder.event($0) })
        try wrongBob.start()
        defer { wrongBob.stop() }
        #expect(recorder.waitForEvent { $0.isDialFailure("wrong_chain") } != nil)
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("wrong_chain") } != nil)
        #expect(!consortium.recorders[0].recordedEvents.contains { $0.isLinkEstablished })
        #expect(!recorder.recordedEvents.contains { $0.isLinkEstablished })
    }

    @Test func aHelloNamingAnotherKeyThanTheTLSKeyIsRefused() throws {
        let consortium = try aliceAlone()
        let bobInDisguise = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try bobInDisguise.sendHello(key: carol.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("hello_key_mismatch") } != nil)
        #expect(bobInDisguise.readUntilClosed() != nil)
    }

    static let malformedFirstFrames: [(bytes: [UInt8], reason: String)] = [
        (PeerFrame.encode(Array("not a hello at all".utf8)), "not a hello (bad magic)"),
        ([0, 0, 8, 0] + [UInt8](repeating: 0, count: 2_048), "first frame longer than a hello"),
        (PeerFrame.keepalive, "not a hello (bad magic)"),
    ]

    @Test(arguments: malformedFirstFrames)
    func aMalformedHelloIsRefused(firstBytes: [UInt8], reason: String) throws {
        let consortium = try aliceAlone()
        let peer = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try peer.sendRaw(firstBytes)
        let refusal = consortium.recorders[0].waitForEvent { $0.isRefused("malformed_hello") }
        #expect(refusal.map { "\($0)" }?.contains(reason) == true)
        try expectAliceStillLinksWithBob(consortium)
    }

    // MARK: Frames and links

    @Test func anOversizedFrameLengthClosesTheLinkAndTheNodeRelinks() throws {
        let consortium = try aliceAlone { $0.maxFrameBytes = 1024 * 1024 }
        let peer = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try peer.sendHello(key: bob.publicKey)
        #expect(try PeerHello(decoding: peer.readPayload()) == PeerHello(chainID: testChainID, key: alice.publicKey))
        try peer.sendRaw(PeerFrame.encode([1, 2, 3]))
        try peer.sendRaw([0x00, 0x10, 0x00, 0x01])  // 1 MiB + 1, and no payload follows
        let closed = consortium.recorders[0].waitForEvent { $0.isLinkClosed("frame_too_large") }
        #expect(closed.map { "\($0)" }?.contains("frame of 1048577 bytes announced, at most 1048576 accepted") == true)
        #expect(peer.readUntilClosed() != nil)
        // The frame before the bad header was delivered; nothing after it.
        #expect(consortium.recorders[0].receivedFrames.map(\.payload) == [[1, 2, 3]])
        try expectAliceStillLinksWithBob(consortium)
    }

    @Test func aForgedRecordInsideAnAuthenticatedLinkClosesItAndTheNodeRelinks() throws {
        let consortium = try aliceAlone()
        let peer = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try peer.sendHello(key: bob.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isLinkEstablished(bob.publicKey, .inbound) } != nil)
        // An application-data record written beside TLS: 32 bytes that do not decrypt under the session keys.
        try peer.socket.sendAll([0x17, 0x03, 0x03, 0x00, 0x20] + [UInt8](repeating: 0x42, count: 32), stallTimeoutMs: 1_000)
        let closed = consortium.recorders[0].waitForEvent { $0.isLinkClosed("tls_error") }
        #expect(closed.map { "\($0)" }?.contains("bad record mac") == true, "\(String(describing: closed))")
        #expect(consortium.recorders[0].receivedFrames.isEmpty)
        try expectAliceStillLinksWithBob(consortium)
    }

    @Test func aPeerThatGoesSilentIsDroppedAfterTheIdleTimeout() throws {
        let consortium = try aliceAlone {
            $0.keepaliveIntervalMs = 100
            $0.idleTimeoutMs = 600
        }
        let peer = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try peer.sendHello(key: bob.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isLinkEstablished(bob.publicKey, .inbound) } != nil)
        // The handmade peer never sends a keepalive.
        #expect(consortium.recorders[0].waitForEvent { $0.isLinkClosed("idle") } != nil)
    }

    @Test func aPeerThatConnectsAgainReplacesItsOldLink() throws {
        let consortium = try aliceAlone()
        let first = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try first.sendHello(key: bob.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isLinkEstablished(bob.publicKey, .inbound) } != nil)
        let second = try HandmadePeer(port: consortium.endpoints[0].port, key: bob, serverKey: alice.publicKey)
        try second.sendHello(key: bob.publicKey)
        #expect(consortium.recorders[0].waitForEvent { $0.isLinkClosed("replaced") } != nil)
        #expect(first.readUntilClosed() != nil)
        try second.sendRaw(PeerFrame.encode([9]))
        #expect(consortium.recorders[0].waitUntil { frames, _ in frames.map(\.payload) == [[9]] })
        #expect(consortium.networks[0]!.statistics.peers[0].inboundConnected)
    }

    @Test func theSendQueueBoundHoldsUnderAPeerThatNeverReads() throws {
        let consortium = try aliceAlone {
            $0.maxFrameBytes = 64 * 1024
            $0.sendQueueMaxFrames = 100
            $0.sendQueueMaxBytes = 1024 * 1024
            $0.writeStallTimeoutMs = 1_500
            $0.idleTimeoutMs = 60_000  // the sink sends no keepalives: only the write stall may end its link
        }
        // A genuine Bob key that accepts Alice's dial, says hello, and then never reads a byte.
        let sink = try HandmadePeer(accepting: consortium.listeners[1], key: bob, clientKey: alice.publicKey)
        try sink.sendHello(key: bob.publicKey)
        let recorder = consortium.recorders[0]
        #expect(recorder.waitForEvent { $0.isLinkEstablished(bob.publicKey, .outbound) } != nil)
        let network = consortium.networks[0]!
        let payload = [UInt8](repeating: 0xAB, count: 32 * 1024)
        // Keep the queue full until the socket buffers are full and the writer gives up on the stalled peer.
        var offered = 0
        let deadline = Deadline.afterMs(30_000)
        while !recorder.recordedEvents.contains(where: { $0.isLinkClosed("write_stalled") }) && !deadline.hasPassed {
            try network.send(payload, to: bob.publicKey)
            offered += 1
            let peer = network.statistics.peers[0]
            #expect(peer.queuedFrames <= 100 && peer.queuedBytes <= 1024 * 1024)
            if peer.queuedFrames == 100 || peer.queuedBytes + payload.count + 4 > 1024 * 1024 {
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
        #expect(recorder.recordedEvents.contains { $0.isLinkClosed("write_stalled") })
        let statistics = network.statistics.peers[0]
        #expect(statistics.droppedFrames > 0)
        #expect(statistics.sentFrames > 0)
        #expect(statistics.queuedFrames <= 100 && statistics.queuedBytes <= 1024 * 1024)
        #expect(statistics.sentFrames + statistics.droppedFrames + statistics.queuedFrames <= offered)
        withExtendedLifetime(sink) {}
    }
}
