import Testing

@testable import Transport

/// `host:port` as configuration writes it, IPv6 literals in brackets.
struct HostPortTests {
    @Test(arguments: [
        ("127.0.0.1:7700", "127.0.0.1", 7700), ("node1.example:80", "node1.example", 80), ("localhost:0", "localhost", 0),
        ("[::1]:7700", "::1", 7700), ("[2001:db8::7]:65535", "2001:db8::7", 65535), ("[::ffff:192.0.2.7]:1", "::ffff:192.0.2.7", 1),
        ("[::]:7701", "::", 7701),
    ] as [(String, String, UInt16)])
    func parsesNamesAndBothAddressFamilies(text: String, host: String, port: UInt16) throws {
        let parsed = try #require(HostPort(text))
        #expect(parsed.host == host && parsed.port == port)
        #expect(parsed.text == text, "written back the same way")
    }

    @Test(arguments: [
        "", "7700", ":7700", "host:", "host:65536", "host:-1", "host:+80", "host: 80", "host:80 ", "::1:7700", "2001:db8::7:7700",
        "[::1]7700", "[::1]:", "[]:80", "[::1", "::1]:80", "[node.example]:80", "[1.2.3.4]:80", "[::1%eth0]:80", "a:b:c",
    ])
    func refusesWhatIsNotHostColonPort(text: String) {
        #expect(HostPort(text) == nil)
    }

    @Test func bracketsOnlyIPv6Hosts() {
        #expect(HostPort(host: "::1", port: 7700).text == "[::1]:7700")
        #expect(HostPort(host: "192.0.2.7", port: 80).text == "192.0.2.7:80")
        #expect(HostPort.bracketed("node1.example") == "node1.example")
        #expect(HostPort.bracketed("2001:db8::7") == "[2001:db8::7]")
    }

    @Test func tellsAddressLiteralsFromNames() {
        for literal in ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::", "2001:db8::7", "::ffff:10.0.0.1"] {
            #expect(HostPort.isIPLiteral(literal), "\(literal)")
        }
        for name in ["localhost", "node1.example", "1.2.3", "256.1.1.1", "1.2.3.4.5", "1..2.3", "[::1]", "cafe"] {
            #expect(!HostPort.isIPLiteral(name), "\(name)")
        }
        #expect(HostPort.isWildcard("0.0.0.0") && HostPort.isWildcard("::") && !HostPort.isWildcard("127.0.0.1"))
    }
}
