import Foundation
import Testing

@testable import Transport

@Suite struct ServerTests {
    @Test func getAndPostRoundTrips() throws {
        try withServer { server in
            let client = try client(server)
            let get = try client.request("GET", "/health")
            #expect(get.status == 200)
            #expect(String(decoding: get.body, as: UTF8.self) == "GET /health")
            #expect(get.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(get.header("connection") == "keep-alive")

            let post = try client.request("POST", "/records", headers: [("X-Patient", "p1")], body: Array("hello".utf8))
            #expect(post.status == 200)
            #expect(String(decoding: post.body, as: UTF8.self) == "POST /records")
            #expect(post.header("x-body") == "hello")
        }
    }

    @Test func handlerSeesHeadersInOrderWithLowercasedNames() throws {
        let seen = LockedBox<[(name: String, value: String)]>([])
        try withServer(handler: { request in
            seen.set(request.headers.filter { $0.name.hasPrefix("x-") })
            return .json(201, Array("{}".utf8))
        }) { server in
            let response = try client(server).request("PUT", "/a", headers: [("X-One", "1"), ("X-Two", " 2 ")])
            #expect(response.status == 201)
            #expect(response.header("content-type") == "application/json")
        }
        #expect(seen.get().map(\.name) == ["x-one", "x-two"])
        #expect(seen.get().map(\.value) == ["1", "2"])
    }

    @Test func keepAliveReusesOneConnection() throws {
        try withServer { server in
            let client = try client(server)
            for index in 0..<200 {
                #expect(try client.request("GET", "/n/\(index)").status == 200)
            }
            #expect(server.statistics.acceptedConnections == 1)
            #expect(server.statistics.requests == 200)
        }
    }

    @Test func decodesQueryParameters() throws {
        try withServer { server in
            let response = try client(server).request("GET", "/search?b=2&a=x+y&c=%26%3D&a=last&empty=")
            #expect(response.header("x-query") == "a=last&b=2&c=&=&empty=")
        }
    }

    @Test func percentDecodesThePath() throws {
        try withServer { server in
            let response = try client(server).request("GET", "/patients/Jos%C3%A9%20Mart%C3%ADnez?q=1")
            #expect(String(decoding: response.body, as: UTF8.self) == "GET /patients/José Martínez")
            #expect(try client(server).request("GET", "/bad%zz").status == 400)
        }
    }

    @Test func problemResponsesFollowRFC9457() throws {
        let response = HTTPResponse.problem(
            404, title: "Not Found", detail: "no \"record\"", extra: ["recordId": "r1", "status": "ignored"])
        #expect(response.headers.first?.value == "application/problem+json")
        guard case .bytes(let body) = response.body else { Issue.record("expected bytes"); return }
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"type":"about:blank","title":"Not Found","status":404,"detail":"no \"record\"","recordId":"r1"}"#)
    }

    @Test func sixteenConcurrentClientsAllSucceed() throws {
        try withServer { server in
            let failures = LockedBox(0)
            DispatchQueue.concurrentPerform(iterations: 16) { clientIndex in
                do {
                    let client = try client(server)
                    for requestIndex in 0..<50 {
                        let response = try client.request("POST", "/c/\(clientIndex)", body: Array("\(requestIndex)".utf8))
                        if response.status != 200 || response.header("x-body") != "\(requestIndex)" { failures.update { $0 += 1 } }
                    }
                } catch {
                    failures.update { $0 += 1 }
                }
            }
            #expect(failures.get() == 0)
            #expect(server.statistics.requests == 800)
        }
    }

    @Test func stopReturnsPromptlyWithIdleConnectionsAndFreesThePort() throws {
        var configuration = HTTPServerConfiguration()
        configuration.idleTimeoutMs = 60_000
        let server = HTTPServer(configuration: configuration, handler: echo)
        try server.start()
        let port = server.port
        let clients = try (0..<3).map { _ in try client(server) }
        for client in clients { #expect(try client.request("GET", "/").status == 200) }
        #expect(server.statistics.openConnections == 3)

        let start = ContinuousClock.now
        server.stop()
        #expect(elapsedMs(since: start) < 3_000)
        #expect(server.statistics.openConnections == 0)
        server.stop()  // idempotent

        configuration.port = port
        let again = HTTPServer(configuration: configuration, handler: echo)
        try again.start()
        #expect(again.port == port)
        again.stop()
    }

    @Test func bindingATakenPortFails() throws {
        try withServer { server in
            var configuration = HTTPServerConfiguration()
            configuration.port = server.port
            #expect(throws: TransportError.self) { try HTTPServer(configuration: configuration, handler: echo).start() }
        }
    }
}

/// A value shared between test threads.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { update { $0 } }

    func set(_ newValue: Value) { update { $0 = newValue } }

    @discardableResult
    func update<Result>(_ change: (inout Value) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return change(&value)
    }
}
