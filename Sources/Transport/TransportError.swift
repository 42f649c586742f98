/// Why a server could not start or a client call failed. Descriptions say what to do next and never
/// contain request or response bodies.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The base URL is not `http://host[:port][/]`.
    case invalidURL(String)
    /// The server could not listen on `host:port`.
    case cannotBind(host: String, port: UInt16, reason: String)
    /// No TCP connection to the server ("host:port: reason").
    case cannotConnect(String)
    /// The peer sent nothing (or accepted nothing) within the timeout.
    case timedOut
    /// The peer closed the connection before the exchange was complete.
    case connectionClosed
    /// The server's answer is not HTTP/1.x as this client understands it.
    case malformedResponse(String)
    /// The response body is larger than the client accepts in memory.
    case responseTooLarge
    /// Any other network or system failure, or a request this client refuses to send.
    case io(String)

    public var description: String {
        switch self {
        case .invalidURL(let url):
            "invalid base URL \"\(url)\": use http://host:port, for example http://127.0.0.1:7700 or http://[::1]:7700"
        case .cannotBind(let host, let port, let reason):
            "cannot listen on \(HostPort(host: host, port: port).text) (\(reason)): stop the process using that port or choose another"
        case .cannotConnect(let reason):
            "cannot connect to \(reason): is the node running? start it with `healthledger node`"
        case .timedOut:
            "the server did not answer in time: it may be overloaded or unreachable; retry, or raise the timeout"
        case .connectionClosed:
            "the server closed the connection before answering: retry the request; if it persists, check the node's log"
        case .malformedResponse(let reason):
            "the server sent a malformed HTTP response (\(reason)): check that the URL points at a HealthLedger node"
        case .responseTooLarge:
            "the response is larger than this client accepts in memory: use HTTPClient.stream for large bodies"
        case .io(let reason):
            "network error (\(reason)): retry the request"
        }
    }
}
