/// One HTTP request as the server hands it to the handler.
public struct HTTPRequest: Sendable {
    /// As sent; the server accepts only uppercase methods.
    public let method: String
    /// The path without the query string, percent-decoded; always starts with "/".
    public let path: String
    /// Decoded query parameters ("+" is a space); when a name repeats, the last value wins.
    public let query: [String: String]
    /// Header fields in the order received, names lowercased.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// The peer's IP address (IPv4 or IPv6), without the port.
    public let remoteAddress: String
    /// For answering from another thread while the handler runs (nil for requests built by tests).
    public let earlyAnswer: EarlyAnswer?

    /// For tests of handlers; the server builds requests itself.
    public init(
        method: String, path: String, query: [String: String] = [:],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], remoteAddress: String = "test",
        earlyAnswer: EarlyAnswer? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.earlyAnswer = earlyAnswer
    }

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers.firstValue(named: name) }
}

/// The body of a response.
public enum HTTPBody: Sendable {
    case bytes([UInt8])
    /// Streamed with `Transfer-Encoding: chunked`: the closure writes the body in pieces; throwing aborts the connection.
    case stream(@Sendable (HTTPBodyWriter) throws -> Void)
}

/// Writes a streamed response body; each `write` is one chunk on the wire.
public final class HTTPBodyWriter {
    private let send: ([UInt8]) throws(TransportError) -> Void
    /// Set once a write failed: the connection is then unusable and is closed after the stream.
    private(set) var hasFailed = false

    init(send: @escaping ([UInt8]) throws(TransportError) -> Void) {
        self.send = send
    }

    /// Sends `bytes` as one chunk (nothing for an empty array). Throws when the client is gone or stopped reading.
    public func write(_ bytes: [UInt8]) throws(TransportError) {
        guard !bytes.isEmpty else { return }
        guard !hasFailed else { throw .connectionClosed }
        do { try send(bytes) } catch {
            hasFailed = true
            throw error
        }
    }
}

/// What a handler answers. The server adds `content-length` (or chunked framing) and `connection` itself
/// and ignores those three headers from the handler, except that `connection: close` is honoured.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: HTTPBody

    public init(status: Int, headers: [(name: String, value: String)] = [], body: HTTPBody = .bytes([])) {
        precondition((100...999).contains(status), "an HTTP status has three digits")
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body with `content-type: application/json`.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", "application/json")], body: .bytes(body))
    }

    /// A text body, UTF-8 encoded.
    public static func text(_ status: Int, _ body: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", contentType)], body: .bytes(Array(body.utf8)))
    }

    /// An RFC 9457 problem (`application/problem+json`): {"type","title","status","detail", extra...}, with
    /// the extra members sorted by name so that the bytes are stable.
    public static func problem(
        _ status: Int, title: String, detail: String? = nil, type: String = "about:blank", extra: [String: String] = [:]
    ) -> HTTPResponse {
        var members = [("type", JSONWriter.string(type)), ("title", JSONWriter.string(title)), ("status", String(status))]
        if let detail { members.append(("detail", JSONWriter.string(detail))) }
        let standardNames: Set = ["type", "title", "status", "detail"]
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) where !standardNames.contains(name) {
            members.append((name, JSONWriter.string(value)))
        }
        let object = "{" + members.map { JSONWriter.string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        return HTTPResponse(
            status: status, headers: [("content-type", "application/problem+json")], body: .bytes(Array(object.utf8)))
    }
}

/// A response as the client received it.
public struct HTTPClientResponse: Sendable {
    public let status: Int
    /// Header fields in the order received, names lowercased.
    public let headers: [(name: String, value: String)]
    /// The body; empty for `HTTPClient.stream`, which hands the body to its sink instead.
    public let body: [UInt8]

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers.firstValue(named: name) }
}

extension [(name: String, value: String)] {
    func firstValue(named name: String) -> String? {
        let lowercased = name.lowercased()
        return first { $0.name.lowercased() == lowercased }?.value
    }

    /// Headers written by code may spell names in any case; the module compares them lowercased.
    var lowercasedNames: [(name: String, value: String)] { map { ($0.name.lowercased(), $0.value) } }
}
