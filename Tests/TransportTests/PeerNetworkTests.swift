import Crypto
import Foundation
import TLS
import Testing
import TestSupport

@testable import Transport

/// Peer networks over real loopback sockets and real OpenSSL: exchange, broadcast, reconnection, keepalives,
/// and the API's own checks. Hostile peers are in PeerHostileTests.
@Suite(.serialized) struct PeerNetworkTests {
    @Test func twoValidatorsExchangeFramesBothWays() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)])
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        let (alice, bob) = (consortium.keys[0].publicKey, consortium.keys[1].publicKey)
        try consortium.networks[0]!.send(Array("to bob".utf8), to: bob)
        try consortium.networks[1]!.send(Array("to alice".utf8), to: alice)
        #expect(consortium.recorders[1].waitUntil { frames, _ in frames.count == 1 })
        #expect(consortium.recorders[0].waitUntil { frames, _ in frames.count == 1 })
        #expect(consortium.recorders[1].receivedFrames.map(\.peer) == [alice])
        #expect(consortium.recorders[1].receivedFrames.map(\.payload) == [Array("to bob".utf8)])
        #expect(consortium.recorders[0].receivedFrames.map(\.peer) == [bob])
        #expect(consortium.recorders[0].receivedFrames.map(\.payload) == [Array("to alice".utf8)])
    }

    @Test(.enabled(if: ipv6LoopbackAvailable, "this machine has no IPv6 loopback (::1)"))
    func threeValidatorsLinkOverIPv6() throws {
        let consortium = try TestConsortium(keys: (1...3).map { peerKey($0) }, host: "::1")
        #expect(consortium.endpoints[0].address.hasPrefix("[::1]:"))
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        try consortium.networks[0]!.broadcast(Array("over IPv6".utf8))
        for recorder in consortium.recorders.dropFirst() {
            #expect(recorder.waitUntil { frames, _ in frames.map(\.payload) == [Array("over IPv6".utf8)] })
        }
        let established = consortium.recorders[1].recordedEvents.compactMap { event -> String? in
            if case let .linkEstablished(_, _, remoteAddress) = event { return remoteAddress } else { return nil }
        }
        #expect(!established.isEmpty && established.allSatisfy { $0 == "::1" || $0.hasPrefix("[::1]:") }, "\(established)")
    }

    @Test func fourValidatorsBroadcastToEveryOtherInOrder() throws {
        let consortium = try TestConsortium(keys: (1...4).map { peerKey($0) })
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        let messagesEach = 200
        for (index, network) in consortium.networks.enumerated() {
            for number in 0..<messagesEach { try network!.broadcast([UInt8(index), UInt8(number), 0xEE]) }
        }
        for (index, recorder) in consortium.recorders.enumerated() {
            #expect(recorder.waitUntil { frames, _ in frames.count == 3 * messagesEach }, "node \(index)")
            let frames = recorder.receivedFrames
            #expect(frames.count == 3 * messagesEach)
            for (senderIndex, sender) in consortium.keys.enumerated() where senderIndex != index {
                let fromSender = frames.filter { $0.peer == sender.publicKey }.map(\.payload)
                // Every payload names its true sender, and each sender's frames arrive in the order sent.
                #expect(fromSender == (0..<messagesEach).map { [UInt8(senderIndex), UInt8($0), 0xEE] })
            }
        }
        let statistics = consortium.networks[0]!.statistics
        #expect(statistics.peers.map(\.sentFrames) == [messagesEach, messagesEach, messagesEach])
        #expect(statistics.peers.map(\.receivedFrames) == [messagesEach, messagesEach, messagesEach])
        #expect(statistics.peers.allSatisfy { $0.droppedFrames == 0 && $0.queuedFrames == 0 })
    }

    @Test func largeFramesUpToTheLimitArriveIntact() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)]) { $0.maxFrameBytes = 3 * 1024 * 1024 }
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        let large = (0..<(3 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try consortium.networks[0]!.broadcast(large)
        try consortium.networks[0]!.broadcast([1])
        #expect(consortium.recorders[1].waitUntil { frames, _ in frames.count == 2 })
        #expect(consortium.recorders[1].receivedFrames.map(\.payload) == [large, [1]])
        #expect(throws: PeerError.payloadSize(bytes: large.count + 1, maxBytes: large.count)) {
            try consortium.networks[0]!.broadcast(large + [0])
        }
    }

    @Test func aValidatorReconnectsAfterItsPeerRestartsAndQueuedFramesFollow() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)])
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        let bob = consortium.keys[1].publicKey
        try consortium.networks[0]!.send([1], to: bob)
        #expect(consortium.recorders[1].waitUntil { frames, _ in frames.count == 1 })

        try consortium.stop(1, rebind: true)
        #expect(eventually { !consortium.networks[0]!.statistics.peers[0].outboundConnected })
        // Sent while Bob is down: they wait in Alice's queue for Bob, not in a dead link.
        try consortium.networks[0]!.send([2], to: bob)
        try consortium.networks[0]!.send([3], to: bob)
        #expect(consortium.networks[0]!.statistics.peers[0].queuedFrames == 2)

        try consortium.start(1)
        #expect(consortium.waitUntilFullyConnected())
        #expect(consortium.recorders[1].waitUntil { frames, _ in frames.count == 3 })
        #expect(consortium.recorders[1].receivedFrames.map(\.payload) == [[1], [2], [3]])
        #expect(consortium.networks[0]!.statistics.peers[0].linksEstablished == 4)  // two links before the restart, two after
    }

    @Test func aDialerKeepsTryingWithBackoffUntilThePeerAppears() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)])
        // Bob's port is bound but nobody accepts: close it so that dials are refused.
        let bobPort = consortium.endpoints[1].port
        consortium.listeners[1].socket.close()
        try consortium.start(0)
        let recorder = consortium.recorders[0]
        #expect(recorder.waitUntil { _, events in events.filter { $0.isDialFailure("cannot_connect") }.count >= 4 })
        // Delays grow: each announced retry is at most the configured maximum, and they are not all equal.
        let retries = recorder.recordedEvents.compactMap { event -> Int? in
            if case .dialFailed(_, _, _, let retryInMs) = event { return retryInMs }
            return nil
        }
        #expect(retries.allSatisfy { (10...200).contains($0) })
        #expect(Set(retries).count > 1)
        consortium.listeners[1] = try PeerListener.bind(host: "127.0.0.1", port: bobPort)
        try consortium.start(1)
        #expect(consortium.waitUntilFullyConnected())
    }

    @Test func keepalivesHoldAQuietLinkOpenPastTheIdleTimeout() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)]) {
            $0.keepaliveIntervalMs = 50
            $0.idleTimeoutMs = 1_000
        }
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        Thread.sleep(forTimeInterval: 2.5)  // two and a half idle timeouts without a payload
        #expect(!consortium.recorders[0].recordedEvents.contains { $0.isLinkClosed("idle") })
        #expect(consortium.networks[0]!.statistics.peers[0].linksEstablished == 2)
        try consortium.networks[1]!.broadcast([42])
        #expect(consortium.recorders[0].waitUntil { frames, _ in frames.map(\.payload) == [[42]] })
    }

    @Test func aNodeListedWithoutItselfStillLinksAndTheAPIChecksItsInput() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2)])
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        let network = consortium.networks[0]!
        #expect(throws: PeerError.unknownPeer) { try network.send([1], to: peerKey(9).publicKey) }
        #expect(throws: PeerError.unknownPeer) { try network.send([1], to: consortium.keys[0].publicKey) }  // itself
        #expect(throws: PeerError.payloadSize(bytes: 0, maxBytes: 8 * 1024 * 1024)) { try network.broadcast([]) }
    }

    @Test func configurationsOutOfRangeAreRefused() throws {
        let key = peerKey(1)
        let endpoint = try PeerEndpoint(key: peerKey(2).publicKey, address: "127.0.0.1:7000")
        #expect(endpoint.host == "127.0.0.1" && endpoint.port == 7000)
        for address in ["127.0.0.1", ":7000", "host:0", "host:70000", "host:port"] {
            #expect(throws: PeerError.self, "\(address)") { try PeerEndpoint(key: key.publicKey, address: address) }
        }
        let adjustments: [(inout PeerNetworkConfiguration) -> Void] = [
            { $0.chainID = "" },
            { $0.validators = [endpoint, endpoint] },
            { $0.maxFrameBytes = 0 },
            { $0.sendQueueMaxBytes = $0.maxFrameBytes },
            { $0.keepaliveIntervalMs = $0.idleTimeoutMs },
            { $0.reconnectMaxDelayMs = 1 },
            { $0.maxPendingInbound = 0 },
        ]
        for adjust in adjustments {
            var configuration = TestConsortium.configuration(key, validators: [endpoint])
            adjust(&configuration)
            #expect(throws: PeerError.self) { try PeerNetwork(configuration: configuration, onFrame: { _, _ in }) }
        }
    }

    @Test func stopClosesEveryLinkAndIsIdempotent() throws {
        let consortium = try TestConsortium(keys: [peerKey(1), peerKey(2), peerKey(3)])
        try consortium.startAll()
        #expect(consortium.waitUntilFullyConnected())
        consortium.networks[0]!.stop()
        consortium.networks[0]!.stop()
        let closedByStop = consortium.recorders[0].recordedEvents.filter { $0.isLinkClosed("stopping") }
        #expect(closedByStop.count == 4)  // two outbound and two inbound links
        // The others notice and keep dialing; they stay linked with each other.
        #expect(eventually {
            let peers = consortium.networks[1]!.statistics.peers
            return !peers[0].outboundConnected && peers[1].outboundConnected
        })
    }
}
