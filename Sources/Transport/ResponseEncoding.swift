/// How a response body is delimited on the wire.
enum ResponseFraming: Equatable {
    /// No body at all (HEAD, 1xx, 204, 304): no length header either, except the announced one for HEAD.
    case none(announcedLength: Int?)
    case length(Int)
    case chunked
    /// HTTP/1.0 clients do not know chunked encoding: the end of the body is the end of the connection.
    case untilClose
}

/// Bytes the server writes: status lines, header blocks and chunk framing.
enum ResponseEncoding {
    static let continueInterim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let lastChunk = Array("0\r\n\r\n".utf8)
    /// The headers the server owns; a handler's copies are dropped so that framing is never ambiguous.
    static let framingHeaderNames: Set<String> = ["content-length", "transfer-encoding", "connection"]

    /// The status line and headers. Handler headers with an invalid name or value (a line break could
    /// inject headers) are dropped rather than sent.
    static func head(
        status: Int, headers: [(name: String, value: String)], framing: ResponseFraming, keepAlive: Bool
    ) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for header in headers
        where HTTPSyntax.isToken(header.name) && HTTPSyntax.isValidFieldValue(header.value)
            && !framingHeaderNames.contains(header.name.lowercased())
        {
            text += "\(header.name): \(header.value)\r\n"
        }
        switch framing {
        case .none(let announcedLength): if let announcedLength { text += "content-length: \(announcedLength)\r\n" }
        case .length(let count): text += "content-length: \(count)\r\n"
        case .chunked: text += "transfer-encoding: chunked\r\n"
        case .untilClose: break
        }
        text += keepAlive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// One chunk: hexadecimal size, CRLF, the bytes, CRLF.
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        precondition(!bytes.isEmpty, "an empty chunk would end the body")
        var framed = Array((String(bytes.count, radix: 16) + "\r\n").utf8)
        framed.reserveCapacity(framed.count + bytes.count + 2)
        framed += bytes
        framed += [0x0D, 0x0A]
        return framed
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
