import Foundation
import Testing

@testable import Transport

/// Runs `body` against a server on an ephemeral loopback port, stopping it afterwards.
func withServer(
    configure: (inout HTTPServerConfiguration) -> Void = { _ in },
    handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse = echo,
    _ body: (HTTPServer) throws -> Void
) throws {
    var configuration = HTTPServerConfiguration()
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, handler: handler)
    try server.start()
    defer { server.stop() }
    try body(server)
}

/// Answers "METHOD path" with the sorted query in `x-query` and the request body echoed in `x-body-bytes`/body.
@Sendable func echo(_ request: HTTPRequest) -> HTTPResponse {
    let query = request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    var response = HTTPResponse.text(200, "\(request.method) \(request.path)")
    response.headers += [("x-query", query), ("x-body", String(decoding: request.body, as: UTF8.self))]
    return response
}

func client(_ server: HTTPServer, timeoutMs: Int = 5_000) throws -> HTTPClient {
    try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)/", timeoutMs: timeoutMs)
}

/// A test's own socket, for sending what `HTTPClient` never would.
final class RawConnection {
    let socket: Socket

    init(port: UInt16) throws {
        socket = try Socket.connected(host: "127.0.0.1", port: port, timeoutMs: 2_000)
    }

    func send(_ text: String) throws {
        try socket.sendAll(Array(text.utf8), stallTimeoutMs: 2_000)
    }

    /// What arrives until the server closes the connection (`closed`) or `timeoutMs` passes.
    func readUntilClosed(timeoutMs: Int = 5_000) -> (text: String, closed: Bool) {
        let deadline = Deadline.afterMs(timeoutMs)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                let count = try socket.receive(into: &buffer, deadline: deadline)
                received += buffer[0..<count]
            } catch {
                return (String(decoding: received, as: UTF8.self), error == .closed)
            }
        }
    }
}

/// The status code of the first response in `text`, like 431 in "HTTP/1.1 431 ...".
func status(of text: String) -> Int? {
    let parts = text.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
    return Int(parts[1])
}

func elapsedMs(since start: ContinuousClock.Instant) -> Int {
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
