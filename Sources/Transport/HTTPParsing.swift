// Pure HTTP/1.x parsing: bytes in, values or rejections out; no sockets, no clock. Strict on purpose:
// whatever a lenient parser would have to guess at (bare LF, folded lines, duplicate lengths) is refused,
// because two parsers guessing differently is how request smuggling starts.

enum HTTPVersion: Equatable {
    case http10, http11

    init?(_ bytes: some Collection<UInt8>) {
        switch String(decoding: bytes, as: UTF8.self) {
        case "HTTP/1.1": self = .http11
        case "HTTP/1.0": self = .http10
        default: return nil
        }
    }
}

/// A request the server refuses before calling the handler; becomes a problem response and a closed connection.
/// `code` is the problem's machine-readable name, as the router's problems carry one (docs/API.md, Errors).
struct RequestRejection: Error, Equatable {
    let status: Int
    let title: String
    let detail: String
    let code: String

    static func badRequest(_ detail: String) -> RequestRejection {
        RequestRejection(status: 400, title: "Bad Request", detail: detail, code: "bad-request")
    }
}

/// The request line and header fields, validated and decoded.
struct RequestHead {
    let method: String
    let path: String
    let query: [String: String]
    let version: HTTPVersion
    let headers: [(name: String, value: String)]
    /// 0 when absent; `Int.max` when too many digits to matter (the size limit refuses it).
    let contentLength: Int
    let wantsKeepAlive: Bool
    let expectsContinue: Bool

    /// Parses `bytes`: the request line and header lines, without the blank line that ends them.
    init(parsing bytes: [UInt8]) throws(RequestRejection) {
        guard let lines = HTTPSyntax.lines(bytes), let requestLine = lines.first else {
            throw .badRequest("lines must end with CRLF and contain no control characters")
        }
        (method, path, query, version) = try Self.parseRequestLine(requestLine)
        headers = try lines.dropFirst().map { line throws(RequestRejection) in
            guard let field = HTTPSyntax.headerField(line) else {
                throw .badRequest("a header line is not \"name: value\" with a token name")
            }
            return field
        }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            throw RequestRejection(
                status: 501, title: "Not Implemented", detail: "request bodies must use Content-Length, not Transfer-Encoding",
                code: "not-implemented")
        }
        contentLength = try Self.contentLength(headers)
        wantsKeepAlive = HTTPSyntax.isPersistent(version: version, headers: headers)
        expectsContinue = version == .http11 && HTTPSyntax.tokens(headers, named: "expect").contains("100-continue")
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(RequestRejection)
        -> (String, String, [String: String], HTTPVersion)
    {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badRequest("the request line must be \"METHOD /path HTTP/1.1\"") }
        let isUppercaseLetter = { (byte: UInt8) in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }
        guard (1...32).contains(parts[0].count), parts[0].allSatisfy(isUppercaseLetter) else {
            throw .badRequest("the method must be an uppercase word")
        }
        let (path, query) = try parseTarget(parts[1])
        return (String(decoding: parts[0], as: UTF8.self), path, query, try parseVersion(parts[2]))
    }

    private static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(RequestRejection) -> HTTPVersion {
        if let version = HTTPVersion(bytes) { return version }
        // "HTTP/d.d" is well formed but another version: 505 tells the client what to change.
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let text = Array(bytes)
        if text.count == 8 && text.starts(with: Array("HTTP/".utf8)) && isDigit(text[5]) && text[6] == UInt8(ascii: ".")
            && isDigit(text[7])
        {
            throw RequestRejection(
                status: 505, title: "HTTP Version Not Supported", detail: "use HTTP/1.1 or HTTP/1.0", code: "http-version-not-supported")
        }
        throw .badRequest("the protocol version must be HTTP/1.1 or HTTP/1.0")
    }

    /// Splits an origin-form target ("/path?query") into a decoded path and decoded query parameters.
    private static func parseTarget(_ target: ArraySlice<UInt8>) throws(RequestRejection) -> (String, [String: String]) {
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .badRequest("the target must be a path starting with \"/\" of visible ASCII characters")
        }
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        guard let path = HTTPSyntax.percentDecoded(target[..<pathEnd], plusIsSpace: false),
            !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw .badRequest("the path has an invalid percent-encoding or encodes a control character")
        }
        guard pathEnd < target.endIndex else { return (path, [:]) }
        guard let query = HTTPSyntax.queryParameters(target[(pathEnd + 1)...]) else {
            throw .badRequest("the query string has an invalid percent-encoding")
        }
        return (path, query)
    }

    private static func contentLength(_ headers: [(name: String, value: String)]) throws(RequestRejection) -> Int {
        let values = Set(headers.filter { $0.name == "content-length" }.map(\.value))
        guard values.count <= 1 else { throw .badRequest("conflicting Content-Length headers") }
        guard let value = values.first else { return 0 }
        guard !value.isEmpty, value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .badRequest("Content-Length must be a decimal number")
        }
        return Int(value) ?? Int.max
    }
}

/// The status line and header fields of a response, for the client.
struct ResponseHead {
    let version: HTTPVersion
    let status: Int
    let headers: [(name: String, value: String)]

    init?(parsing bytes: [UInt8]) {
        guard let lines = HTTPSyntax.lines(bytes), let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[1].count == 3, let status = Int(String(decoding: parts[1], as: UTF8.self)),
            (100...999).contains(status)
        else { return nil }
        guard let version = HTTPVersion(parts[0]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let field = HTTPSyntax.headerField(line) else { return nil }
            headers.append(field)
        }
        self.version = version
        self.status = status
        self.headers = headers
    }
}

/// The grammar shared by requests and responses (RFC 9110, RFC 9112).
enum HTTPSyntax {
    static let lineEnd: [UInt8] = [0x0D, 0x0A]
    /// The blank line that ends a message head.
    static let headEnd: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
    /// Two LFs in a row: only a malformed head (lines ended by a bare LF) holds them.
    static let bareLFHeadEnd: [UInt8] = [0x0A, 0x0A]

    /// Responses with these statuses never have a body (RFC 9110 section 6.4.1).
    static func statusForbidsBody(_ status: Int) -> Bool { (100..<200).contains(status) || status == 204 || status == 304 }

    /// Whether the connection stays open after this message: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive".
    static func isPersistent(version: HTTPVersion, headers: [(name: String, value: String)]) -> Bool {
        let connection = tokens(headers.lowercasedNames, named: "connection")
        return version == .http11 ? !connection.contains("close") : connection.contains("keep-alive")
    }

    static func asksToClose(_ headers: [(name: String, value: String)]) -> Bool {
        tokens(headers.lowercasedNames, named: "connection").contains("close")
    }

    /// Lines split at CRLF; nil when a bare CR or LF, or another control character but tab, appears.
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>]? {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D {
                guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { return nil }
                lines.append(bytes[lineStart..<index])
                index += 2
                lineStart = index
                continue
            }
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F { return nil }
            index += 1
        }
        lines.append(bytes[lineStart..<bytes.count])
        return lines
    }

    /// "name: value" with a token name; the name lowercased, the value without surrounding spaces and tabs.
    /// Obsolete line folding (a line starting with a space) fails here because a space is not a token character.
    static func headerField(_ line: ArraySlice<UInt8>) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
            line[..<colon].allSatisfy(isTokenCharacter)
        else { return nil }
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        var value = line[(colon + 1)...].drop(while: isBlank)
        while let last = value.last, isBlank(last) { value = value.dropLast() }
        return (String(decoding: line[..<colon], as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func isToken(_ text: String) -> Bool { !text.isEmpty && text.utf8.allSatisfy(isTokenCharacter) }

    /// Whether `value` can go on a header line as is: no CR, LF or other control character but tab.
    static func isValidFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }
    }

    /// The comma-separated, lowercased tokens of every header named `name` ("Connection: keep-alive, Upgrade").
    static func tokens(_ headers: [(name: String, value: String)], named name: String) -> Set<String> {
        var tokens = Set<String>()
        for header in headers where header.name == name {
            for token in header.value.split(separator: ",") {
                tokens.insert(token.trimming(" \t").lowercased())
            }
        }
        return tokens
    }

    /// "name=value&..." decoded; nil when a percent-encoding is invalid or not UTF-8.
    static func queryParameters(_ bytes: ArraySlice<UInt8>) -> [String: String]? {
        var parameters: [String: String] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&")) {
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            guard let name = percentDecoded(pair[..<equals], plusIsSpace: true),
                let value = percentDecoded(equals < pair.endIndex ? pair[(equals + 1)...] : [], plusIsSpace: true)
            else { return nil }
            parameters[name] = value
        }
        return parameters
    }

    /// Decodes "%XX" escapes (and "+" as a space in queries); nil on a bad escape or invalid UTF-8.
    static func percentDecoded(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Substring {
    fileprivate func trimming(_ characters: String) -> Substring {
        var trimmed = self.drop { characters.contains($0) }
        while let last = trimmed.last, characters.contains(last) { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
