import Foundation
import Testing

@testable import Transport

/// Hostile and malformed clients, with raw sockets: each is refused, and the server keeps serving.
@Suite struct LimitsTests {
    @Test func headerOverTheLimitGets431() throws {
        try withServer(configure: { $0.maxHeaderBytes = 1024 }) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 2_000))\r\n\r\n")
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 431)
            #expect(text.contains(#""code":"headers-too-large""#))
            #expect(text.contains("application/problem+json"))
            #expect(closed)
            try expectStillServes(server)
        }
    }

    @Test func contentLengthOverTheLimitGets413WithoutReadingTheBody() throws {
        try withServer(configure: { $0.maxBodyBytes = 1_000 }) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("POST /records HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
            let start = ContinuousClock.now
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 413)
            #expect(text.contains(#""code":"content-too-large""#))
            #expect(closed)
            #expect(elapsedMs(since: start) < 2_000)  // answered at once, not after waiting for 5 MB
            #expect(server.statistics.requests == 0)
            try expectStillServes(server)
        }
    }

    @Test func slowClientGets408WhileOthersAreServed() throws {
        try withServer(configure: { $0.requestTimeoutMs = 1_000 }) { server in
            let slow = try RawConnection(port: server.port)
            let normal = try client(server)
            let start = ContinuousClock.now
            var answer = ""
            for (index, byte) in "GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Trickle: 1234567890\r\n\r\n".enumerated() {
                try? slow.send(String(byte))
                if index == 2 { #expect(try normal.request("GET", "/fast").status == 200) }
                answer = slow.readUntilClosed(timeoutMs: 200).text  // doubles as the 200 ms pause
                if !answer.isEmpty { break }
            }
            #expect(status(of: answer) == 408)
            #expect(answer.contains(#""code":"request-timeout""#))
            #expect(elapsedMs(since: start) < 5_000)
            #expect(server.statistics.protocolErrors == 1)
            try expectStillServes(server)
        }
    }

    @Test func garbageGets400AndClose() throws {
        try withServer { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("\u{0}\u{1}GARBAGE\r\n\r\n")
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 400)
            #expect(closed)
            try expectStillServes(server)
        }
    }

    @Test(arguments: [
        ("get / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  // lowercase method
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  // two spaces
        ("GET relative HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", 400),  // bare LF
        ("GET / HTTP/1.1\nHost: x\n\n", 400),  // only bare LFs: refused at once, not after the 10 s timeout
        ("GET / HTTP/1.1\r\nHost: x\r\n\n", 400),  // a head ended by CRLF then a bare LF
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET /%00 HTTP/1.1\r\n\r\n", 400),
    ])
    func malformedRequestsAreRefused(request: String, expectedStatus: Int) throws {
        try withServer { server in
            let connection = try RawConnection(port: server.port)
            try connection.send(request)
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == expectedStatus)
            #expect(text.contains(expectedStatus == 505 ? #""code":"http-version-not-supported""# : #""code":"bad-request""#))
            #expect(closed)
        }
    }

    @Test func transferEncodingRequestGets501() throws {
        try withServer { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 501)
            #expect(text.contains(#""code":"not-implemented""#))
            #expect(closed)
            try expectStillServes(server)
        }
    }

    @Test func connectionsBeyondTheLimitGet503WhenNoneIsIdle() throws {
        try withServer(configure: { $0.maxConnections = 2 }) { server in
            // Busy: each is inside a request (its head not complete yet).
            let held = try (0..<2).map { _ in try RawConnection(port: server.port) }
            for connection in held { try connection.send("GET /slow HTTP/1.1\r\n") }
            try waitUntil { server.statistics.openConnections == 2 }
            Thread.sleep(forTimeInterval: 0.2)  // both threads have seen their first bytes
            let third = try RawConnection(port: server.port)
            let (text, closed) = third.readUntilClosed()
            #expect(status(of: text) == 503)
            #expect(text.contains(#""code":"too-many-connections""#) && text.lowercased().contains("retry-after: 1\r\n"))
            #expect(closed)
            #expect(server.statistics.rejectedConnections == 1)
            withExtendedLifetime(held) {}
        }
    }

    /// A client that holds connections it does not use cannot lock others out: a new connection beyond the
    /// limit takes the place of the one idle the longest, which is closed without an answer.
    @Test func anIdleConnectionMakesRoomForANewOne() throws {
        try withServer(configure: { $0.maxConnections = 2 }) { server in
            let oldest = try RawConnection(port: server.port)
            try waitUntil { server.statistics.openConnections == 1 }
            let newer = try RawConnection(port: server.port)
            try waitUntil { server.statistics.openConnections == 2 }
            try expectStillServes(server)  // a third connection, served in the oldest one's place
            let (text, closed) = oldest.readUntilClosed()
            #expect(text.isEmpty && closed, "the connection idle the longest is closed without an answer")
            #expect(server.statistics.reclaimedConnections >= 1 && server.statistics.rejectedConnections == 0)
            try newer.send("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(status(of: newer.readUntilClosed().text) == 200, "the newer idle connection still serves")
        }
    }

    @Test func idleKeepAliveConnectionIsClosedSilently() throws {
        try withServer(configure: { $0.idleTimeoutMs = 300 }) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /once HTTP/1.1\r\nHost: x\r\n\r\n")
            let start = ContinuousClock.now
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 200)
            #expect(text.hasSuffix("GET /once"))  // nothing after the response
            #expect(closed)
            #expect(elapsedMs(since: start) < 3_000)
            try expectStillServes(server)
        }
    }

    @Test func expectContinueGetsAnInterimResponseBeforeTheBody() throws {
        try withServer { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
            var buffer = [UInt8](repeating: 0, count: 1024)
            let count = try connection.socket.receive(into: &buffer, deadline: .afterMs(2_000))
            #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
            try connection.send("hello")
            let (text, closed) = connection.readUntilClosed()
            #expect(status(of: text) == 200)
            #expect(text.contains("x-body: hello"))
            #expect(text.contains("connection: close"))
            #expect(closed)
        }
    }

    @Test func pipelinedAndHTTP10Requests() throws {
        try withServer { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\n\r\n")
            let (text, closed) = connection.readUntilClosed()
            #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(text.hasSuffix("GET /2"))
            #expect(closed)  // HTTP/1.0 without keep-alive
        }
    }
}

/// A normal request through `HTTPClient` succeeds.
func expectStillServes(_ server: HTTPServer) throws {
    let response = try client(server).request("GET", "/still-serving")
    #expect(response.status == 200)
}

/// Polls `condition` every 10 ms for up to 2 s.
func waitUntil(_ condition: () -> Bool) throws {
    let deadline = Deadline.afterMs(2_000)
    while !condition() {
        guard !deadline.hasPassed else { throw TransportError.timedOut }
        Thread.sleep(forTimeInterval: 0.01)
    }
}
