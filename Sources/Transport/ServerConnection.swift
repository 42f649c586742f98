/// One client connection, served on its own thread: wait for a request, read it within its deadline, call
/// the handler, write the response, and repeat while both sides keep the connection alive.
final class ServerConnection: @unchecked Sendable {
    /// After an error response the connection is closed "lingering": reading at most this much, for at most
    /// this long, so that unread request bytes do not turn the close into a reset that destroys the response.
    private static let lingerBytes = 64 * 1024
    private static let lingerMs = 500

    private let id: Int
    private let reader: SocketReader
    private let remoteAddress: String
    private let configuration: HTTPServerConfiguration
    private let registry: ConnectionRegistry
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse

    init(
        id: Int, socket: Socket, remoteAddress: String, configuration: HTTPServerConfiguration,
        registry: ConnectionRegistry, handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        self.id = id
        self.reader = SocketReader(socket: socket)
        self.remoteAddress = remoteAddress
        self.configuration = configuration
        self.registry = registry
        self.handler = handler
    }

    /// Serves requests until the connection closes.
    func run() {
        defer {
            registry.remove(connection: id)
            reader.socket.close()
        }
        while serveNextRequest() {}
    }

    /// Answers 503 to a connection over `maxConnections` and closes it.
    func reject() {
        defer {
            registry.rejectionFinished()
            reader.socket.close()
        }
        var response = HTTPResponse.problem(503, title: "Service Unavailable", detail: "too many open connections; retry shortly",
                                            extra: ["code": "too-many-connections"])
        response.headers.append((name: "retry-after", value: "1"))
        closeAfterError(response)
    }

    /// Returns whether the connection stays open for another request.
    private func serveNextRequest() -> Bool {
        // Idle: a peer that closes or stays silent past the idle timeout is closed without an answer.
        do { try reader.waitForData(deadline: .afterMs(configuration.idleTimeoutMs)) } catch { return false }
        guard registry.beginRequest(connection: id) else { return false }
        let received: (head: RequestHead, body: [UInt8])
        do {
            guard let request = try readRequest(deadline: .afterMs(configuration.requestTimeoutMs)) else { return false }
            received = request
        } catch {
            registry.recordProtocolError()
            closeAfterError(.problem(error.status, title: error.title, detail: error.detail, extra: ["code": error.code]))
            return false
        }
        registry.recordRequest()
        let early = EarlyAnswer(socket: reader.socket) { [self] response in encoded(response, answering: received.head) }
        let response = handler(makeRequest(received.head, body: received.body, earlyAnswer: early))
        let staysOpen: Bool
        if let (rest, keepAlive) = early.finish() {
            staysOpen = (try? sendBytes(rest)) != nil && keepAlive  // answered early: the handler's response is dropped
        } else {
            staysOpen = send(response, answering: received.head)
        }
        return staysOpen && registry.endRequest(connection: id)
    }

    private func keepsAlive(_ response: HTTPResponse, answering head: RequestHead) -> Bool {
        head.wantsKeepAlive && !HTTPSyntax.asksToClose(response.headers) && !registry.isStopping
    }

    // MARK: Reading

    /// The next request, or nil when the peer went away; throws what the server answers instead.
    private func readRequest(deadline: Deadline) throws(RequestRejection) -> (head: RequestHead, body: [UInt8])? {
        let maxHeaderBytes = configuration.maxHeaderBytes
        // A head ended by a blank line of bare LFs is refused at once, rather than waited for until the timeout.
        guard let (headBytes, terminator) = try receiving({ () throws(ConnectionError) in
            try reader.read(throughFirstOf: [HTTPSyntax.headEnd, HTTPSyntax.bareLFHeadEnd], maxBytes: maxHeaderBytes, deadline: deadline)
        }) else { return nil }
        guard terminator == 0 else { throw .badRequest("lines must end with CRLF, not a bare LF") }
        let head = try RequestHead(parsing: headBytes)
        guard head.contentLength <= configuration.maxBodyBytes else {
            throw RequestRejection(
                status: 413, title: "Content Too Large", detail: "the body may have at most \(configuration.maxBodyBytes) bytes",
                code: "content-too-large")
        }
        if head.expectsContinue && head.contentLength > reader.bufferedByteCount {
            guard (try? sendBytes(ResponseEncoding.continueInterim)) != nil else { return nil }
        }
        guard let body = try receiving({ () throws(ConnectionError) in
            try reader.readExactly(head.contentLength, deadline: deadline)
        }) else { return nil }
        return (head, body)
    }

    /// Runs a read; a timeout becomes 408 and an oversized head 431; a lost connection becomes nil.
    private func receiving<Value>(_ read: () throws(ConnectionError) -> Value) throws(RequestRejection) -> Value? {
        do { return try read() } catch {
            switch error {
            case .timedOut:
                throw RequestRejection(
                    status: 408, title: "Request Timeout",
                    detail: "the request was not complete within \(configuration.requestTimeoutMs) ms", code: "request-timeout")
            case .tooLarge:
                throw RequestRejection(
                    status: 431, title: "Request Header Fields Too Large",
                    detail: "the request line and headers may have at most \(configuration.maxHeaderBytes) bytes",
                    code: "headers-too-large")
            case .closed, .system:
                return nil
            }
        }
    }

    private func makeRequest(_ head: RequestHead, body: [UInt8], earlyAnswer: EarlyAnswer) -> HTTPRequest {
        HTTPRequest(
            method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
            remoteAddress: remoteAddress, earlyAnswer: earlyAnswer)
    }

    // MARK: Writing

    /// The head of `response` as it goes on the wire, its framing, and whether the connection stays open after it.
    private func head(of response: HTTPResponse, answering request: RequestHead) -> (bytes: [UInt8], framing: ResponseFraming, keepAlive: Bool) {
        let framing = Self.framing(of: response, answering: request)
        let keepAlive = keepsAlive(response, answering: request) && framing != .untilClose
        let bytes = ResponseEncoding.head(status: response.status, headers: response.headers, framing: framing, keepAlive: keepAlive)
        return (bytes, framing, keepAlive)
    }

    /// A response with a byte body as it goes on the wire, and whether the connection stays open after it;
    /// nil for a streamed body. (`EarlyAnswer` sends it from another thread.)
    private func encoded(_ response: HTTPResponse, answering request: RequestHead) -> (bytes: [UInt8], keepAlive: Bool)? {
        let (headBytes, framing, keepAlive) = head(of: response, answering: request)
        switch (framing, response.body) {
        case (.none, _): return (headBytes, keepAlive)
        case (_, .bytes(let body)): return (headBytes + body, keepAlive)
        case (_, .stream): return nil
        }
    }

    /// Writes the response; returns whether the connection may serve another request.
    private func send(_ response: HTTPResponse, answering request: RequestHead) -> Bool {
        if let (bytes, keepAlive) = encoded(response, answering: request) { return (try? sendBytes(bytes)) != nil && keepAlive }
        guard case .stream(let produce) = response.body else { preconditionFailure("only a streamed body is not encoded whole") }
        let (headBytes, framing, keepAlive) = head(of: response, answering: request)
        guard (try? sendBytes(headBytes)) != nil, stream(produce, chunked: framing == .chunked) else { return false }
        return keepAlive
    }

    private static func framing(of response: HTTPResponse, answering head: RequestHead) -> ResponseFraming {
        if HTTPSyntax.statusForbidsBody(response.status) { return .none(announcedLength: nil) }
        switch response.body {
        case .bytes(let body):
            return head.method == "HEAD" ? .none(announcedLength: body.count) : .length(body.count)
        case .stream:
            if head.method == "HEAD" { return .none(announcedLength: nil) }
            return head.version == .http11 ? .chunked : .untilClose
        }
    }

    /// Runs a streaming body; returns false when it threw or a write failed (the connection must close,
    /// since the client cannot tell a truncated body from a complete one otherwise).
    private func stream(_ produce: @Sendable (HTTPBodyWriter) throws -> Void, chunked: Bool) -> Bool {
        let writer = HTTPBodyWriter { [self] bytes throws(TransportError) in
            do throws(ConnectionError) {
                try sendBytes(chunked ? ResponseEncoding.chunk(bytes) : bytes)
            } catch {
                throw error.transportError
            }
        }
        do { try produce(writer) } catch { return false }
        guard !writer.hasFailed else { return false }
        return !chunked || (try? sendBytes(ResponseEncoding.lastChunk)) != nil
    }

    /// Sends an error response, then closes lingering (see `lingerBytes`).
    private func closeAfterError(_ response: HTTPResponse) {
        guard case .bytes(let body) = response.body else { preconditionFailure("server errors have byte bodies") }
        let headBytes = ResponseEncoding.head(
            status: response.status, headers: response.headers, framing: .length(body.count), keepAlive: false)
        guard (try? sendBytes(headBytes + body)) != nil else { return }
        reader.socket.shutdown(reading: false, writing: true)
        reader.discardUntilClosed(maxBytes: Self.lingerBytes, deadline: .afterMs(Self.lingerMs))
    }

    private func sendBytes(_ bytes: [UInt8]) throws(ConnectionError) {
        try reader.socket.sendAll(bytes, stallTimeoutMs: configuration.writeTimeoutMs)
    }
}

extension ConnectionError {
    var transportError: TransportError {
        switch self {
        case .timedOut: .timedOut
        case .closed: .connectionClosed
        case .tooLarge: .responseTooLarge
        case .system(let message): .io(message)
        }
    }
}
