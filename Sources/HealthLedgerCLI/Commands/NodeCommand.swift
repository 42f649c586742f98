import Foundation
import Ledger
import Node
import Transport

/// `healthledger node`: runs a node until SIGINT or SIGTERM.
enum NodeCommand {
    static let command = Command(
        path: ["node"],
        abstract: "Run a node (with no options: the embedded one-validator default).",
        options: [
            .value("data", "DIR", help: "The data directory (default: $HEALTHLEDGER_HOME, else ~/.local/share/healthledger)."),
            .value("genesis", "FILE", help: "The genesis file (default: genesis.json in the data directory)."),
            .value("key", "FILE", help: "The node key (default: node.key in the data directory)."),
            .passphraseFile(help: "The node key's passphrase is the first line of this file."),
            .value("listen", "HOST:PORT", help: "Where to serve the API (default: 127.0.0.1:7700; loopback only unless told; IPv6 in brackets: [::1]:7700)."),
            .value("peer-listen", "HOST:PORT",
                   help: "Where peer links listen (default: this node's address in the genesis; port 0 is not allowed)."),
            .value("public-url", "URL", help: "The API URL told to the other validators (default: http://HOST:PORT of --listen)."),
        ],
        discussion: """
            With no --genesis and an empty data directory, the node creates the embedded default there: a node key,
            an organisation admin key (admin.key, for 'practitioner enroll') and a genesis naming them. Later starts
            reuse them. Stop it with Ctrl-C (SIGINT) or SIGTERM: the block in progress is finished first.

            With a genesis of several validators where this node does not hold more than 2/3 of the voting
            power, the node runs consensus with the others: it listens for their TLS peer links at its genesis
            address (or --peer-listen), dials theirs, and keeps consensus.wal, signer.state and evidence.log in
            the data directory (docs/CONSENSUS.md). The other validators send clients here for this organisation's
            records, at --public-url. 'scripts/consortium up' starts a consortium on this machine.
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let dataDirectory = DataDirectory(path: invocation.value("data") ?? DataDirectory.defaultPath())
        var configuration = NodeConfiguration(dataDirectory: dataDirectory)
        try applyListen(invocation.value("listen") ?? "127.0.0.1:7700", to: &configuration)
        if let peerListen = invocation.value("peer-listen") {
            let (host, port) = try hostPort(peerListen, option: "peer-listen")
            guard port > 0 else { throw .badInput("--peer-listen needs a port other than 0", "the genesis names the port peers dial") }
            (configuration.consensus.peerListenHost, configuration.consensus.peerListenPort) = (host, port)
        }
        if let publicURL = invocation.value("public-url") {
            guard publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://"), !publicURL.contains(" "), publicURL.utf8.count <= 200 else {
                throw .badInput("--public-url '\(publicURL)' is not an http(s) URL of at most 200 characters", "for example --public-url http://node1.example:7700")
            }
            configuration.consensus.publicURL = publicURL
        }
        configuration.genesisFile = invocation.value("genesis")
        configuration.keyFile = invocation.value("key")
        configuration.keyPassphrase = try invocation.passphrase()
        var created = false
        if configuration.genesisFile == nil && configuration.keyFile == nil {
            do {
                created = try dataDirectory.initialiseEmbeddedDefault(listenAddress: configuration.listenAddress, nowMs: SystemClock().nowMs())
            } catch {
                throw .failure("\(error)", "choose another --data directory, or fix the one named")
            }
        }
        // Signals are handled on a queue of their own, so they must not also end the process.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let runtime: NodeRuntime
        do {
            runtime = try NodeRuntime.start(configuration)
        } catch {
            throw .failure("the node cannot start: \(error)", "fix what is named, then start it again")
        }
        let started = startedOutput(runtime, dataDirectory: dataDirectory, created: created)
        invocation.console.write(invocation.wantsJSON ? started.json.encoded + "\n" : started.text + "\n")
        waitForStopSignal()
        runtime.stop()
        return CommandOutput(text: "", json: started.json, alreadyPrinted: true)
    }

    private static func applyListen(_ address: String, to configuration: inout NodeConfiguration) throws(CLIError) {
        (configuration.listenHost, configuration.listenPort) = try hostPort(address, option: "listen")
    }

    private static func hostPort(_ address: String, option: String) throws(CLIError) -> (String, UInt16) {
        guard let parsed = HostPort(address) else {
            throw .badInput("--\(option) '\(address)' is not HOST:PORT",
                            "for example --\(option) 127.0.0.1:7700, or [::1]:7700 for IPv6 (port 0 picks a free one)")
        }
        return (parsed.host, parsed.port)
    }

    private static func startedOutput(_ runtime: NodeRuntime, dataDirectory: DataDirectory, created: Bool) -> CommandOutput {
        let service = runtime.service
        var lines = [
            "HealthLedger node serving \(runtime.url)",
            "  chain      \(service.genesis.chainID) at height \(service.store.headHeight)",
            "  node       \(service.identity.text) (organisation \(service.organisation))",
            "  data       \(dataDirectory.path)",
        ]
        if let peerPort = runtime.peerPort {
            lines.append("  consensus  with \(service.genesis.validators.count - 1) other validators; peer links on port \(peerPort)")
        }
        if created { lines.append("  created    the embedded default: node.key, admin.key (enrols practitioners), genesis.json") }
        lines.append("Stop with Ctrl-C.")
        let json: JSONValue = [
            "url": .string(runtime.url), "chainId": .string(service.genesis.chainID.value), "height": .number(service.store.headHeight),
            "node": .string(service.identity.text), "organisation": .string(service.organisation.value), "data": .string(dataDirectory.path),
            "adminKey": .string(dataDirectory.adminKeyFile), "created": .bool(created),
            "mode": .string(runtime.peerPort == nil ? "single-validator" : "consensus"), "peerPort": .number(UInt64(runtime.peerPort ?? 0)),
        ]
        return CommandOutput(text: lines.joined(separator: "\n"), json: json)
    }

    private static func waitForStopSignal() {
        let stop = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "healthledger-signals")
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        stop.wait()
        sources.forEach { $0.cancel() }
    }
}
