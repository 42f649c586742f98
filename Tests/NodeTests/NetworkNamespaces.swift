import Foundation

/// Separate network stacks for the validators of a test, as if on separate hosts: one network namespace per
/// node, each joined by a veth pair to a bridge in the test's own namespace (which keeps an address on the
/// bridge, so the test reaches every node's API whatever the partition). Partitions are blackhole routes
/// inside the namespaces: packets between the two sides vanish, as on a cut network, while each side keeps
/// talking to the test.
///
/// Needs root and iproute2 (`ip`); `probe()` says whether this machine allows it. Names carry a random tag
/// so concurrent runs do not collide; `remove()` deletes everything (also called on deinit).
final class NetworkNamespaces {
    let tag: String
    let subnet: String
    let count: Int
    private var created = false
    private var blackholes: Set<[Int]> = []

    /// A reason namespaces cannot be used here, or nil when they can.
    static func probe() -> String? {
        guard getuid() == 0 else { return "network namespaces need root (the test runs as root in CI)" }
        let name = "hlprobe\(UInt16.random(in: 0...UInt16.max))"
        guard run(["ip", "netns", "add", name]).status == 0 else { return "`ip netns add` is not permitted here (no CAP_SYS_ADMIN, or no iproute2)" }
        _ = run(["ip", "netns", "del", name])
        return nil
    }

    init(count: Int) {
        precondition((1...9).contains(count), "one to nine namespaces")
        tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        subnet = "10.213.\(UInt8.random(in: 1...254))"
        self.count = count
    }

    deinit { remove() }

    func namespace(_ index: Int) -> String { "hl\(tag)n\(index + 1)" }
    func address(_ index: Int) -> String { "\(subnet).\(index + 11)" }
    private var bridge: String { "hl\(tag)br" }

    /// Creates the bridge, the namespaces and their links; throws with the failing command's output.
    func create() throws {
        created = true
        try Self.must(["ip", "link", "add", bridge, "type", "bridge"])
        try Self.must(["ip", "addr", "add", "\(subnet).1/24", "dev", bridge])
        try Self.must(["ip", "link", "set", bridge, "up"])
        for index in 0..<count {
            let namespace = namespace(index)
            let host = "hl\(tag)h\(index + 1)"
            let inside = "hl\(tag)p\(index + 1)"
            try Self.must(["ip", "netns", "add", namespace])
            try Self.must(["ip", "link", "add", host, "type", "veth", "peer", "name", inside])
            try Self.must(["ip", "link", "set", inside, "netns", namespace])
            try Self.must(["ip", "link", "set", host, "master", bridge])
            try Self.must(["ip", "link", "set", host, "up"])
            try Self.must(["ip", "netns", "exec", namespace, "ip", "addr", "add", "\(address(index))/24", "dev", inside])
            try Self.must(["ip", "netns", "exec", namespace, "ip", "link", "set", inside, "up"])
            try Self.must(["ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
        }
    }

    /// The command prefix that runs a program in node `index`'s namespace.
    func prefix(_ index: Int) -> [String] { ["/usr/bin/env", "ip", "netns", "exec", namespace(index)] }

    /// Cuts every path between a node of `side` and a node of `other` (both ways).
    func partition(_ side: [Int], from other: [Int]) throws {
        for a in side {
            for b in other where a != b {
                try blackhole(from: a, to: b)
                try blackhole(from: b, to: a)
            }
        }
    }

    /// Restores every path cut by `partition`.
    func heal() throws {
        for pair in blackholes.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            try Self.must(["ip", "netns", "exec", namespace(pair[0]), "ip", "route", "del", "blackhole", "\(address(pair[1]))/32"])
        }
        blackholes = []
    }

    private func blackhole(from a: Int, to b: Int) throws {
        guard blackholes.insert([a, b]).inserted else { return }
        try Self.must(["ip", "netns", "exec", namespace(a), "ip", "route", "add", "blackhole", "\(address(b))/32"])
    }

    /// Deletes the veth pairs, the namespaces and the bridge. Safe to call twice. (Deleting a namespace
    /// alone frees its links only later, asynchronously; deleting each pair first is immediate.)
    func remove() {
        guard created else { return }
        created = false
        for index in 0..<count {
            _ = Self.run(["ip", "link", "del", "hl\(tag)h\(index + 1)"])
            _ = Self.run(["ip", "netns", "del", namespace(index)])
        }
        _ = Self.run(["ip", "link", "del", bridge])
    }

    /// Whether anything of this instance is left on the machine (for the cleanup check).
    var leftovers: [String] {
        let namespaces = Self.run(["ip", "netns", "list"]).output
        let links = Self.run(["ip", "link", "show"]).output
        return (namespaces + links).split(separator: "\n").filter { $0.contains("hl\(tag)") }.map(String.init)
    }

    struct CommandFailure: Error, CustomStringConvertible {
        let description: String
    }

    private static func must(_ arguments: [String]) throws {
        let result = run(arguments)
        guard result.status == 0 else { throw CommandFailure(description: "\(arguments.joined(separator: " ")): \(result.output)") }
    }

    @discardableResult
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (127, "\(error)")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
