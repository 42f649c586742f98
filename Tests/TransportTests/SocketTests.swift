import Foundation
import Testing
import TestSupport

@testable import Transport

/// Sockets of both address families, through the HTTP server and client that use them.
@Suite(.enabled(if: ipv6LoopbackAvailable, "this machine has no IPv6 loopback (::1)"))
struct SocketTests {
    /// Answers with the address the server saw the request come from.
    @Sendable static func remoteAddress(_ request: HTTPRequest) -> HTTPResponse { .text(200, request.remoteAddress) }

    @Test func aServerOnIPv6LoopbackAnswersAClientGivenABracketedURL() throws {
        try withServer(configure: { $0.host = "::1" }, handler: Self.remoteAddress) { server in
            let client = try HTTPClient(baseURL: "http://[::1]:\(server.port)/", timeoutMs: 5_000)
            let response = try client.request("GET", "/")
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "::1")
        }
    }

    @Test func aServerOnEveryInterfaceTakesIPv4ClientsAndNamesThemInIPv4Form() throws {
        try withServer(configure: { $0.host = "::" }, handler: Self.remoteAddress) { server in
            for (url, seen) in [("http://127.0.0.1:\(server.port)", "127.0.0.1"), ("http://[::1]:\(server.port)", "::1")] {
                let response = try HTTPClient(baseURL: url, timeoutMs: 5_000).request("GET", "/")
                #expect(String(decoding: response.body, as: UTF8.self) == seen, "\(url)")
            }
        }
    }

    @Test func aClosedIPv6PortIsReportedWithItsBracketedAddress() throws {
        let port = try Socket.listening(host: "::1", port: 0, backlog: 1).localPort  // closed again at once
        let error = #expect(throws: TransportError.self) { try Socket.connected(host: "::1", port: port, timeoutMs: 2_000) }
        #expect(error.map { "\($0)" }?.contains("[::1]:\(port)") == true, "\(String(describing: error))")
    }

    @Test func aListenerRefusesAHostThatIsNotAnAddress() {
        #expect(throws: TransportError.self) { try Socket.listening(host: "node1.example", port: 0, backlog: 1) }
        #expect(throws: TransportError.self) { try Socket.listening(host: "[::1]", port: 0, backlog: 1) }
    }
}

/// A name's addresses are tried in the resolver's order within one timeout (IPv4 loopback, so this runs
/// everywhere; which addresses a name has is the resolver's business, what is done with them is tested here).
@Suite struct SocketAddressOrderTests {
    @Test func theFirstAddressThatAcceptsIsConnected() throws {
        let closedPort = try Socket.listening(host: "127.0.0.1", port: 0, backlog: 1).localPort  // closed again at once
        let listener = try Socket.listening(host: "127.0.0.1", port: 0, backlog: 1)
        let addresses = SocketAddress.resolve(host: "127.0.0.1", port: closedPort) + SocketAddress.resolve(host: "127.0.0.1", port: listener.localPort)
        let socket = try Socket.connected(toFirstOf: addresses, endpoint: "node1.example:7800", timeoutMs: 2_000)
        defer { socket.close() }
        let accepted = try #require(try listener.acceptConnection(timeoutMs: 2_000))
        defer { accepted.socket.close() }
        #expect(accepted.remoteAddress == "127.0.0.1")
    }

    @Test func whenNoneAcceptsTheErrorNamesTheEndpointAndTheLastFailure() throws {
        let closedPorts = try (0..<2).map { _ in try Socket.listening(host: "127.0.0.1", port: 0, backlog: 1).localPort }
        let addresses = closedPorts.flatMap { SocketAddress.resolve(host: "127.0.0.1", port: $0) }
        let error = #expect(throws: TransportError.self) {
            try Socket.connected(toFirstOf: addresses, endpoint: "node1.example:7800", timeoutMs: 2_000)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("node1.example:7800") && text.contains("refused"), "\(text)")
    }
}
