import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `healthledger consensus status` against real node processes: a one-validator node is healthy (exit 0); a
/// validator of a two-validator consortium whose peer is down says which validator is not linked (exit 1),
/// in text and in JSON.
@Suite(.serialized) struct ConsensusCommandTests {
    @Test func aSingleValidatorNodeIsHealthy() throws {
        let cli = try CLIRunner()
        let node = try NodeProcess(runner: cli, data: cli.file("node-data"))
        let text = try cli.run("consensus", "status", "--node", node.url)
        #expect(text.exitCode == 0, "\(text.stderr)")
        #expect(text.stdout.contains("mode single-validator") && text.stdout.contains("this node") && text.stdout.contains("no evidence"),
                "\(text.stdout)")
        let json = try cli.run("consensus", "status", "--node", node.url, "--json").json()
        #expect((json["consensus"] as? [String: Any])?["mode"] as? String == "single-validator")
        #expect((json["evidence"] as? [Any])?.isEmpty == true)
    }

    @Test func aValidatorWhosePeerIsDownSaysSoAndExitsOne() throws {
        let cli = try CLIRunner()
        for name in ["admin-1", "admin-2", "node-2"] { _ = try cli.run("key", "new", "--out", "\(name).key") }
        let data = cli.file("node-1-data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        _ = try cli.run("key", "new", "--out", data + "/node.key")
        let created = try cli.run(
            "genesis", "init", "--out", data + "/genesis.json", "--chain-id", "consensus-status-test",
            "--organisation", "id=hospital-1,name=Hospital 1,admin=admin-1.key",
            "--organisation", "id=hospital-2,name=Hospital 2,admin=admin-2.key",
            "--validator", "name=node-1,org=hospital-1,key=\(data)/node.key,address=127.0.0.1:\(Self.unusedPort())",
            "--validator", "name=node-2,org=hospital-2,key=node-2.key,address=127.0.0.1:\(Self.unusedPort())")
        #expect(created.exitCode == 0, "\(created.stderr)")
        let node = try NodeProcess(runner: cli, data: data)

        let text = try cli.run("consensus", "status", "--node", node.url)
        #expect(text.exitCode == 1)
        #expect(text.stdout.contains("node-2  hospital-2  NOT LINKED") && text.stdout.contains("peers linked 0 of 1"), "\(text.stdout)")
        #expect(text.stderr.contains("not linked to node-2"), "\(text.stderr)")
        let json = try cli.run("consensus", "status", "--node", node.url, "--json")
        #expect(json.exitCode == 1)
        let validators = try #require((try json.json()["consensus"] as? [String: Any])?["validators"] as? [[String: Any]])
        #expect(validators.map { $0["name"] as? String } == ["node-1", "node-2"])
    }

    /// A TCP port on 127.0.0.1 nothing listens on now (bound to 0, read, released).
    static func unusedPort() -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}
