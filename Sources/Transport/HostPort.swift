/// A TCP endpoint as configuration writes it: `host:port`, where the host is a name, an IPv4 literal or an
/// IPv6 literal in brackets (`[::1]:7700`, as in URLs, RFC 3986). Parsing is strict: an IPv6 literal without
/// brackets is refused, since its last colon could not be told from the port's.
public struct HostPort: Hashable, Sendable {
    /// The host without brackets: "127.0.0.1", "::1", "node1.example".
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `text` as `host:port` or `[ipv6]:port` with a decimal port 0-65535; nil otherwise. Callers that need a
    /// fixed port refuse 0 themselves.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard host.contains(":"), host.allSatisfy(Self.isIPv6LiteralCharacter), rest.first == ":" else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = UInt16(portText) else { return nil }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, the host in brackets when it is an IPv6 literal.
    public var text: String { "\(Self.bracketed(host)):\(port)" }

    /// `host` as it is written before a port or in a URL: in brackets when it is an IPv6 literal.
    public static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// Whether `host` is an IPv4 literal (dotted decimal) or an IPv6 literal (without brackets).
    public static func isIPLiteral(_ host: String) -> Bool {
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4 && octets.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) && UInt8($0) != nil }) { return true }
        return host.contains(":") && host.allSatisfy(isIPv6LiteralCharacter)
    }

    /// The wildcard hosts: every interface, IPv4 only ("0.0.0.0") or both families ("::").
    public static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" }

    private static func isIPv6LiteralCharacter(_ character: Character) -> Bool {
        character == ":" || character == "." || character.isASCIIDigit || ("a"..."f").contains(character) || ("A"..."F").contains(character)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
