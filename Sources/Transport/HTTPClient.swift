import Foundation

/// A minimal HTTP/1.1 client for talking to a node: one keep-alive connection, reconnecting when closed.
public final class HTTPClient: @unchecked Sendable {
    private static let maxResponseHeadBytes = 64 * 1024
    private static let maxChunkLineBytes = 1024
    /// Pieces handed to a sink; large enough for few calls, small enough never to hold a big body.
    private static let pieceBytes = 64 * 1024
    /// Methods that may be sent again when a kept-alive connection turns out to have been closed by the server.
    private static let idempotentMethods: Set<String> = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]

    private let host: String
    private let port: UInt16
    private let timeoutMs: Int
    private let maxResponseBytes: Int
    private let lock = NSLock()
    /// The kept-alive connection; guarded by `lock`.
    private var connection: SocketReader?

    /// `baseURL` like "http://127.0.0.1:7700" or "http://[::1]:7700" (http only; a host name, an IPv4 address
    /// or an IPv6 one in brackets; optional trailing slash).
    /// One keep-alive connection, reconnecting when closed; calls are serialised by a lock.
    ///
    /// - Parameters:
    ///   - timeoutMs: bounds connecting, the wait for the response head, and each wait for more body bytes.
    ///   - maxResponseBytes: the largest body `request` holds in memory (`stream` has no limit).
    public init(baseURL: String, timeoutMs: Int = 30_000, maxResponseBytes: Int = 64 * 1024 * 1024) throws(TransportError) {
        precondition(timeoutMs > 0 && maxResponseBytes >= 0)
        (host, port) = try Self.parseBaseURL(baseURL)
        self.timeoutMs = timeoutMs
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends a request and returns the whole response. `path` may include "?query"; bytes outside visible
    /// ASCII are percent-encoded. `host` and `content-length` are added; `transfer-encoding` is not allowed.
    public func request(
        _ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws(TransportError) -> HTTPClientResponse {
        var received: [UInt8] = []
        let maxResponseBytes = maxResponseBytes
        let head = try exchange(method, path, headers: headers, body: body) { piece throws(TransportError) in
            guard received.count + piece.count <= maxResponseBytes else { throw .responseTooLarge }
            received += piece
        }
        return HTTPClientResponse(status: head.status, headers: head.headers, body: received)
    }

    /// Streams the response body (Content-Length or chunked) into `sink` without holding it in memory;
    /// returns status and headers (body empty).
    /// An error thrown by `sink` ends the call (as `.io` unless it is a `TransportError`) and closes the connection.
    public func stream(
        _ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        into sink: ([UInt8]) throws -> Void
    ) throws(TransportError) -> HTTPClientResponse {
        let head = try exchange(method, path, headers: headers, body: body) { piece throws(TransportError) in
            do { try sink(piece) } catch let error as TransportError { throw error } catch {
                throw .io("the sink failed with \(type(of: error))")
            }
        }
        return HTTPClientResponse(status: head.status, headers: head.headers, body: [])
    }

    // MARK: Exchanges

    private func exchange(
        _ method: String, _ path: String, headers: [(name: String, value: String)], body: [UInt8],
        sink: ([UInt8]) throws(TransportError) -> Void
    ) throws(TransportError) -> ResponseHead {
        let requestBytes = try encodeRequest(method, path, headers: headers, body: body)
        let request = (bytes: requestBytes, method: method, asksToClose: HTTPSyntax.asksToClose(headers))
        lock.lock()
        defer { lock.unlock() }
        let kept = connection.flatMap { $0.socket.isClosedByPeer ? nil : $0 }
        connection = nil  // put back only after a complete exchange that keeps the connection alive
        let reused = kept != nil
        let reader = if let kept { kept } else { try connect() }
        let receivedBefore = reader.receivedByteCount
        do {
            return try exchange(request, on: reader, sink: sink)
        } catch .connectionClosed
            where reused && reader.receivedByteCount == receivedBefore && Self.idempotentMethods.contains(method)
        {
            // The server closed the idle connection as we sent: nothing was processed, so sending again is safe.
            return try exchange(request, on: connect(), sink: sink)
        }
    }

    /// Sends `request` on `reader` and reads the response; keeps the connection when both sides allow it.
    private func exchange(
        _ request: (bytes: [UInt8], method: String, asksToClose: Bool), on reader: SocketReader,
        sink: ([UInt8]) throws(TransportError) -> Void
    ) throws(TransportError) -> ResponseHead {
        try io { () throws(ConnectionError) in try reader.socket.sendAll(request.bytes, stallTimeoutMs: timeoutMs) }
        let head = try readResponseHead(reader)
        let framing = try Self.framing(of: head, method: request.method)
        try readBody(framing, from: reader, into: sink)
        if Self.keepsAlive(head, framing: framing) && !request.asksToClose { connection = reader }
        return head
    }

    private func connect() throws(TransportError) -> SocketReader {
        SocketReader(socket: try Socket.connected(host: host, port: port, timeoutMs: timeoutMs))
    }

    /// The final response head, skipping interim (1xx) responses such as "100 Continue".
    private func readResponseHead(_ reader: SocketReader) throws(TransportError) -> ResponseHead {
        let deadline = Deadline.afterMs(timeoutMs)
        while true {
            let bytes: [UInt8]
            do {
                bytes = try reader.read(through: HTTPSyntax.headEnd, maxBytes: Self.maxResponseHeadBytes, deadline: deadline)
            } catch .tooLarge {
                throw .malformedResponse("the response head exceeds \(Self.maxResponseHeadBytes) bytes")
            } catch {
                throw error.transportError
            }
            guard let head = ResponseHead(parsing: bytes) else { throw .malformedResponse("invalid status line or header") }
            if !(100..<200).contains(head.status) || head.status == 101 { return head }
        }
    }

    private static func framing(of head: ResponseHead, method: String) throws(TransportError) -> ResponseFraming {
        if method == "HEAD" || HTTPSyntax.statusForbidsBody(head.status) {
            return .none(announcedLength: nil)
        }
        if head.headers.contains(where: { $0.name == "transfer-encoding" }) {
            guard HTTPSyntax.tokens(head.headers, named: "transfer-encoding") == ["chunked"] else {
                throw .malformedResponse("unsupported transfer-encoding")
            }
            return .chunked
        }
        let lengths = Set(head.headers.filter { $0.name == "content-length" }.map(\.value))
        guard let length = lengths.first else { return .untilClose }
        guard lengths.count == 1, let count = Int(length), count >= 0 else {
            throw .malformedResponse("invalid content-length")
        }
        return .length(count)
    }

    private static func keepsAlive(_ head: ResponseHead, framing: ResponseFraming) -> Bool {
        HTTPSyntax.isPersistent(version: head.version, headers: head.headers) && framing != .untilClose
    }

    // MARK: Bodies

    private func readBody(
        _ framing: ResponseFraming, from reader: SocketReader, into sink: ([UInt8]) throws(TransportError) -> Void
    ) throws(TransportError) {
        switch framing {
        case .none: return
        case .length(let count): try readBytes(count, from: reader, into: sink)
        case .chunked: try readChunks(from: reader, into: sink)
        case .untilClose: while let piece = try nextPieceBeforeClose(from: reader) { try sink(piece) }
        }
    }

    /// The next piece of a body that ends where the server closes the connection; nil at that end.
    private func nextPieceBeforeClose(from reader: SocketReader) throws(TransportError) -> [UInt8]? {
        do { return try reader.readSome(maxCount: Self.pieceBytes, deadline: .afterMs(timeoutMs)) } catch .closed {
            return nil
        } catch { throw error.transportError }
    }

    /// Hands exactly `count` bytes to `sink`, piece by piece as they arrive.
    private func readBytes(
        _ count: Int, from reader: SocketReader, into sink: ([UInt8]) throws(TransportError) -> Void
    ) throws(TransportError) {
        var remaining = count
        while remaining > 0 {
            let piece = try io { () throws(ConnectionError) in
                try reader.readSome(maxCount: min(remaining, Self.pieceBytes), deadline: .afterMs(timeoutMs))
            }
            remaining -= piece.count
            try sink(piece)
        }
    }

    /// Decodes `Transfer-Encoding: chunked` (RFC 9112 section 7.1): size line, data, CRLF; size 0 ends the
    /// body, then trailers.
    private func readChunks(
        from reader: SocketReader, into sink: ([UInt8]) throws(TransportError) -> Void
    ) throws(TransportError) {
        while true {
            let sizeLine = try readLine(from: reader, maxBytes: Self.maxChunkLineBytes)
            let sizeDigits = sizeLine.prefix { $0 != UInt8(ascii: ";") }
            guard (1...15).contains(sizeDigits.count),
                let size = Int(String(decoding: sizeDigits, as: UTF8.self), radix: 16)
            else {
                throw .malformedResponse("invalid chunk size")
            }
            if size == 0 { break }
            try readBytes(size, from: reader, into: sink)
            guard try readLine(from: reader, maxBytes: 0).isEmpty else { throw .malformedResponse("chunk without CRLF") }
        }
        while try !readLine(from: reader, maxBytes: Self.maxResponseHeadBytes).isEmpty {}  // trailers: ignored
    }

    private func readLine(from reader: SocketReader, maxBytes: Int) throws(TransportError) -> [UInt8] {
        do {
            return try reader.read(through: HTTPSyntax.lineEnd, maxBytes: maxBytes, deadline: .afterMs(timeoutMs))
        } catch .tooLarge {
            throw .malformedResponse("a chunk line is too long")
        } catch { throw error.transportError }
    }

    private func io<Value>(_ operation: () throws(ConnectionError) -> Value) throws(TransportError) -> Value {
        do { return try operation() } catch { throw error.transportError }
    }

    // MARK: Requests and URLs

    private func encodeRequest(
        _ method: String, _ path: String, headers: [(name: String, value: String)], body: [UInt8]
    ) throws(TransportError) -> [UInt8] {
        guard HTTPSyntax.isToken(method) else { throw .io("the method is not an HTTP token") }
        guard path.hasPrefix("/") else { throw .io("the path must start with \"/\"") }
        for header in headers where !HTTPSyntax.isToken(header.name) || !HTTPSyntax.isValidFieldValue(header.value) {
            throw .io("the header \"\(header.name)\" has an invalid name or a line break in its value")
        }
        guard !headers.contains(where: { $0.name.lowercased() == "transfer-encoding" }) else {
            throw .io("the client sends bodies with content-length only")
        }
        var text = "\(method) \(Self.percentEncodingInvisible(path)) HTTP/1.1\r\n"
        if headers.firstValue(named: "host") == nil {
            text += "host: \(port == 80 ? HostPort.bracketed(host) : HostPort(host: host, port: port).text)\r\n"
        }
        for header in headers where header.name.lowercased() != "content-length" {
            text += "\(header.name): \(header.value)\r\n"
        }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) { text += "content-length: \(body.count)\r\n" }
        return Array((text + "\r\n").utf8) + body
    }

    /// Spaces, control characters and non-ASCII bytes become "%XX"; everything else is sent as given.
    private static func percentEncodingInvisible(_ path: String) -> String {
        var encoded = ""
        for byte in path.utf8 {
            if (0x21...0x7E).contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    /// "http://host[:port][/]" into host and port (80 when absent); an IPv6 host in brackets
    /// ("http://[::1]:7700"), returned without them.
    static func parseBaseURL(_ url: String) throws(TransportError) -> (host: String, port: UInt16) {
        guard url.hasPrefix("http://") else { throw .invalidURL(url) }
        var authority = String(url.dropFirst("http://".count))
        if authority.hasSuffix("/") { authority.removeLast() }
        let hasPort = authority.hasPrefix("[") ? !authority.hasSuffix("]") : authority.contains(":")
        guard let parsed = HostPort(hasPort ? authority : authority + ":80"), parsed.port > 0 else { throw .invalidURL(url) }
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
        guard parsed.host.contains(":") || parsed.host.allSatisfy(nameCharacters.contains) else { throw .invalidURL(url) }
        return (parsed.host, parsed.port)
    }
}
