import Foundation
import Testing

@testable import Transport

@Suite struct ClientTests {
    @Test func connectingToAClosedPortFailsQuickly() throws {
        let port = Socket.unusedPort()
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(port)", timeoutMs: 5_000)
        let start = ContinuousClock.now
        #expect {
            try client.request("GET", "/")
        } throws: { error in
            guard case .cannotConnect(let reason) = error as? TransportError else { return false }
            return reason.contains("127.0.0.1:\(port)") && "\(error)".contains("healthledger node")
        }
        #expect(elapsedMs(since: start) < 1_000)
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        // The kernel completes connections into the backlog; nobody ever accepts or answers.
        let silent = try Socket.listening(host: "127.0.0.1", port: 0, backlog: 8)
        let client = try HTTPClient(baseURL: "http://localhost:\(silent.localPort)", timeoutMs: 500)
        let start = ContinuousClock.now
        #expect(throws: TransportError.timedOut) { try client.request("GET", "/") }
        #expect((400..<3_000).contains(elapsedMs(since: start)))
    }

    @Test func readsContentLengthAndChunkedBodies() throws {
        try withServer(handler: { request in
            let pieces = ["first ", "", "second ", "third"].map { Array($0.utf8) }
            if request.path == "/chunked" {
                return HTTPResponse(status: 200, body: .stream { writer in for piece in pieces { try writer.write(piece) } })
            }
            return .text(200, "first second third")
        }) { server in
            let client = try client(server)
            let chunked = try client.request("GET", "/chunked")
            #expect(chunked.header("transfer-encoding") == "chunked")
            #expect(chunked.header("content-length") == nil)
            let length = try client.request("GET", "/length")
            #expect(length.header("content-length") == "18")
            #expect(chunked.body == length.body)
            #expect(String(decoding: length.body, as: UTF8.self) == "first second third")
            #expect(try client.request("HEAD", "/length").body.isEmpty)
            #expect(server.statistics.acceptedConnections == 1)
        }
    }

    @Test func decodesAChunkedResponseArrivingOneByteAtATime() throws {
        let listener = try Socket.listening(host: "127.0.0.1", port: 0, backlog: 1)
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n"
        let server = Thread {
            guard let (socket, _) = try? listener.acceptConnection(timeoutMs: 2_000) else { return }
            let reader = SocketReader(socket: socket)
            _ = try? reader.read(through: HTTPSyntax.headEnd, maxBytes: 4_096, deadline: .afterMs(2_000))
            for byte in response.utf8 {
                try? socket.sendAll([byte], stallTimeoutMs: 1_000)
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
        server.start()
        let received = try HTTPClient(baseURL: "http://127.0.0.1:\(listener.localPort)", timeoutMs: 2_000).request("GET", "/")
        #expect(received.status == 200)
        #expect(String(decoding: received.body, as: UTF8.self) == "hello!")
    }

    @Test func reconnectsAfterTheServerClosedAnIdleConnection() throws {
        try withServer(configure: { $0.idleTimeoutMs = 200 }) { server in
            let client = try client(server)
            #expect(try client.request("GET", "/1").status == 200)
            Thread.sleep(forTimeInterval: 0.5)
            #expect(try client.request("GET", "/2").status == 200)
            #expect(server.statistics.acceptedConnections == 2)
        }
    }

    @Test func refusesResponsesLargerThanItsLimit() throws {
        try withServer(handler: { _ in .text(200, String(repeating: "x", count: 10_000)) }) { server in
            let client = try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)", maxResponseBytes: 1_000)
            #expect(throws: TransportError.responseTooLarge) { try client.request("GET", "/") }
            #expect(try client.stream("GET", "/") { _ in }.status == 200)  // a fresh connection after the error
        }
    }

    @Test(arguments: ["https://127.0.0.1:7700", "127.0.0.1:7700", "http://", "http://host:99999", "http://a b:1", "http://h:1/x",
                      "http://::1:7700", "http://[::1]:0", "http://[::1]7700", "http://[node.example]:1", "http://h:0"])
    func refusesInvalidBaseURLs(url: String) {
        #expect(throws: TransportError.invalidURL(url)) { try HTTPClient(baseURL: url) }
    }

    @Test func acceptsBaseURLsWithNameAndTrailingSlash() throws {
        #expect(try HTTPClient.parseBaseURL("http://localhost:7700/") == ("localhost", 7700))
        #expect(try HTTPClient.parseBaseURL("http://node.example") == ("node.example", 80))
        #expect(try HTTPClient.parseBaseURL("http://[::1]:7700/") == ("::1", 7700))
        #expect(try HTTPClient.parseBaseURL("http://[2001:db8::7]") == ("2001:db8::7", 80))
    }

    @Test func refusesHeaderInjection() throws {
        let client = try HTTPClient(baseURL: "http://127.0.0.1:1")
        #expect(throws: TransportError.self) { try client.request("GET", "/", headers: [("X-A", "1\r\nX-B: 2")]) }
    }
}

extension Socket {
    /// A port nothing listens on: bound once, then released.
    static func unusedPort() -> UInt16 {
        let socket = try! Socket.listening(host: "127.0.0.1", port: 0, backlog: 1)
        defer { socket.close() }
        return socket.localPort
    }
}
