import Crypto
import Foundation
import TestSupport
import Testing

@testable import TLS

/// Handshakes between pinned keys over real kernel sockets and real OpenSSL: data both ways, timeouts,
/// closing, and a peer that does not speak TLS.
@Suite struct TLSConnectionTests {
    let alice = testKey(1)
    let bob = testKey(2)

    /// Alice accepting and Bob connecting over `pair`, each pinning the other's key, handshaken.
    private func connected(over pair: SocketPair) throws -> (server: TLSConnection, client: TLSConnection) {
        let outcome = handshake(pair, server: try context(alice, allowing: [bob]), client: try context(bob, allowing: [alice]),
                                expecting: alice.publicKey)
        return (try outcome.server.get(), try outcome.client.get())
    }

    @Test func handshakeExposesEachPeersKeyAndCarriesDataBothWays() throws {
        let pair = SocketPair()
        let (server, client) = try connected(over: pair)
        #expect(server.peerKey == bob.publicKey)
        #expect(client.peerKey == alice.publicKey)

        try client.write(Array("hello from bob".utf8), stallTimeoutMs: 1_000)
        #expect(try readExactly(server, 14) == Array("hello from bob".utf8))
        try server.write(Array("hello from alice".utf8), stallTimeoutMs: 1_000)
        #expect(try readExactly(client, 16) == Array("hello from alice".utf8))
    }

    @Test func oneReaderAndOneWriterRunAtTheSameTimeOnEachSide() throws {
        let pair = SocketPair()
        let (server, client) = try connected(over: pair)
        // 4 MiB each way, written and read concurrently, so each connection has a reader and a writer busy
        // at once (a single-threaded exchange would deadlock once both socket buffers are full).
        let upload = (0..<4 * 1024 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let download = (0..<4 * 1024 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let uploading = Background { Result { () throws(TLSError) in try client.write(upload, stallTimeoutMs: 5_000) } }
        let downloading = Background { Result { () throws(TLSError) in try server.write(download, stallTimeoutMs: 5_000) } }
        let receivedByServer = Background { Result { () throws(TLSError) in try readExactly(server, upload.count) } }
        let receivedByClient = try readExactly(client, download.count)
        try uploading.wait().get()
        try downloading.wait().get()
        #expect(try receivedByServer.wait().get() == upload)
        #expect(receivedByClient == download)
    }

    /// A write that must not wait for the peer (`writeIfWritable`) is taken whole while the send buffer has
    /// room for it and refused, writing nothing, once it has not; what was taken arrives whole and in order.
    @Test func writeIfWritableNeverWaitsForThePeer() throws {
        let pair = SocketPair()
        pair.shrinkBuffers()
        let (server, client) = try connected(over: pair)
        var written: [UInt8] = []
        var taken = 0
        while taken < 1_000 {
            let bytes = [UInt8](repeating: UInt8(taken % 251), count: 1_000)
            // The peer reads nothing meanwhile: a write that waited for it would fail after 50 ms.
            guard try client.writeIfWritable(bytes, stallTimeoutMs: 50) else { break }
            written += bytes
            taken += 1
        }
        #expect(taken > 0 && taken < 1_000, "\(taken) writes taken")
        #expect(try client.writeIfWritable([UInt8](repeating: 1, count: 64 * 1024), stallTimeoutMs: 50) == false)
        #expect(try readExactly(server, written.count) == written)
        #expect(try client.writeIfWritable([1, 2, 3], stallTimeoutMs: 50), "room again once the peer has read")
        #expect(try readExactly(server, 3) == [1, 2, 3])
    }

    @Test func closeSendsCloseNotifyAndThePeerReadsClosed() throws {
        let pair = SocketPair()
        let (server, client) = try connected(over: pair)
        client.close()
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(throws: TLSError.closed) { try server.read(into: &buffer, timeoutMs: 2_000) }
        #expect(throws: TLSError.closed) { try client.write([1], stallTimeoutMs: 100) }
        client.close()  // idempotent
    }

    @Test func readTimesOutWhenNothingArrives() throws {
        let pair = SocketPair()
        let connections = try connected(over: pair)  // both kept open until the end of the test
        let server = connections.server
        var buffer = [UInt8](repeating: 0, count: 64)
        let start = ContinuousClock.now
        #expect(throws: TLSError.timedOut) { try server.read(into: &buffer, timeoutMs: 200) }
        #expect(elapsedMs(since: start) >= 190)
        withExtendedLifetime(connections) {}
    }

    @Test func shuttingTheSocketDownWakesABlockedReader() throws {
        let pair = SocketPair()
        let connections = try connected(over: pair)  // both kept open until the end of the test
        let server = connections.server
        let reading = Background { () -> TLSError? in
            var buffer = [UInt8](repeating: 0, count: 64)
            do throws(TLSError) {
                _ = try server.read(into: &buffer, timeoutMs: 30_000)
                return nil
            } catch { return error }
        }
        Thread.sleep(forTimeInterval: 0.1)
        let start = ContinuousClock.now
        _ = shutdown(pair.server, Int32(SHUT_RDWR))
        #expect(reading.wait() == .closed)
        #expect(elapsedMs(since: start) < 10_000)  // woken by the shutdown, not by the 30 s timeout
        withExtendedLifetime(connections) {}
    }

    @Test func writeTimesOutWhenThePeerNeverReads() throws {
        let pair = SocketPair()
        pair.shrinkBuffers()
        let connections = try connected(over: pair)  // both kept open until the end of the test
        let client = connections.client
        let tooMuch = [UInt8](repeating: 0x55, count: 8 * 1024 * 1024)
        #expect(throws: TLSError.timedOut) { try client.write(tooMuch, stallTimeoutMs: 300) }
        withExtendedLifetime(connections) {}
    }

    @Test func plainBytesInsteadOfAClientHelloAreAProtocolError() throws {
        let pair = SocketPair()
        pair.sendRaw(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let server = try context(alice, allowing: [bob])
        do throws(TLSError) {
            _ = try TLSConnection.accept(descriptor: pair.server, context: server, timeoutMs: 2_000)
            Issue.record("a plain HTTP request completed a TLS handshake")
        } catch {
            guard case .protocolError(let reason) = error else {
                Issue.record("expected a protocol error, got \(error)")
                return
            }
            #expect(!reason.isEmpty)
        }
    }

    @Test func aClientThatStallsInTheHandshakeTimesOut() throws {
        let pair = SocketPair()
        pair.sendRaw([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])  // the first bytes of a ClientHello, then silence
        let server = try context(alice, allowing: [bob])
        let start = ContinuousClock.now
        #expect(throws: TLSError.timedOut) {
            _ = try TLSConnection.accept(descriptor: pair.server, context: server, timeoutMs: 300)
        }
        #expect(elapsedMs(since: start) >= 290)
    }
}
