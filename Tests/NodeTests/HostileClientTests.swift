import Foundation
import Testing
import Ledger
import Node
import Storage
import Transport
#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP client for bytes no HTTP client would send. Test code only.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "cannot connect to 127.0.0.1:\(port)")
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Everything the server sends until it closes or `timeoutMs` passes.
    func readAll(timeoutMs: Int32) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) >= 0 else { break }
            if poller.revents == 0 { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// Hostile and broken clients get a clear 4xx or a closed connection, and the node keeps serving others.
@Suite(.serialized) struct HostileClientTests {
    @Test func oversizedBodiesGarbageAndSlowClientsDoNotStopTheNode() throws {
        let node = try TestNode()
        let port = node.runtime.port

        let oversized = try RawConnection(port: port)
        oversized.send(Array("POST /v1/transactions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n".utf8))
        #expect(oversized.readAll(timeoutMs: 3_000).hasPrefix("HTTP/1.1 413"))

        let garbage = try RawConnection(port: port)
        garbage.send([0, 1, 2, 255] + Array("GARBAGE\r\n\r\n".utf8))
        #expect(garbage.readAll(timeoutMs: 3_000).hasPrefix("HTTP/1.1 400"))

        // One byte at a time, slowly: the node must keep answering everyone else meanwhile.
        let slow = try RawConnection(port: port)
        let slowRequest = Array("GET /health HTTP/1.1\r\nhost: x\r\n\r\n".utf8)
        let dripping = Thread {
            for byte in slowRequest.prefix(6) {
                slow.send([byte])
                Thread.sleep(forTimeInterval: 1)
            }
        }
        dripping.start()
        for _ in 0..<5 {
            #expect(try node.client.head()["chainId"] as? String == node.signer.chainID.value)
            Thread.sleep(forTimeInterval: 0.2)
        }
        // A request that has not arrived within the request time limit (10 s) is answered 408 and closed.
        let answer = slow.readAll(timeoutMs: 15_000)
        #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(80))")
        #expect(try node.client.head()["height"] != nil)
        // The refusals are counted where an operator looks (OPERATIONS.md section 6).
        let metrics = String(decoding: try HTTPClient(baseURL: node.runtime.url).request("GET", "/metrics").body, as: UTF8.self)
        #expect(metricValue(metrics, "healthledger_http_protocol_errors_total").map { $0 >= 2 } == true, "413 and 400 at least")
        #expect(metricValue(metrics, "healthledger_http_connections_open").map { $0 >= 1 } == true)
        #expect(metricValue(metrics, "healthledger_http_connections_reclaimed_total") == 0)
    }

    private func metricValue(_ exposition: String, _ name: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    @Test func aFullMempoolAnswersBusy() {
        let mempool = Mempool(capacity: 2)
        let builder = ChainBuilderForMempool()
        #expect(mempool.add(builder.next()) == .admitted)
        let second = builder.next()
        #expect(mempool.add(second) == .admitted)
        #expect(mempool.add(second) == .duplicate)
        #expect(mempool.add(builder.next()) == .full)
        mempool.remove([second.id])
        #expect(mempool.add(builder.next()) == .admitted)
        #expect(mempool.count == 2)
    }

    @Test func aNodeRefusesADamagedDataDirectorySayingWhy() throws {
        let node = try TestNode()
        let directory = node.dataDirectory
        node.runtime.stop()
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: directory.ledgerDatabase))
        try? FileManager.default.removeItem(atPath: directory.ledgerDatabase + "-wal")
        try? FileManager.default.removeItem(atPath: directory.ledgerDatabase + "-shm")
        var configuration = NodeConfiguration(dataDirectory: directory)
        configuration.listenPort = 0
        do {
            let runtime = try NodeRuntime.start(configuration, log: Log(clock: SystemClock()) { _ in })
            runtime.stop()
            Issue.record("the node started on a damaged ledger database")
        } catch {
            #expect("\(error)".contains("not a HealthLedger database") || "\(error)".contains("corrupt") || "\(error)".contains("not a database"),
                    "\(error)")
        }
    }
}

/// Signed transactions for mempool tests.
final class ChainBuilderForMempool {
    private let key = Ed25519.PrivateKey()
    private var counter: UInt64 = 0
    private let signer = RequestSigner(chainID: ChainID("test-chain")!)

    func next() -> SignedTransaction {
        counter += 1
        return signer.transaction(.revokeConsent(RevokeConsent(grant: TransactionID(digest: SHA256.hash(counter.description.utf8.map { $0 })))), by: key)
    }
}
