import Crypto

/// A validator this node links to: its key (pinned in TLS) and where it listens.
public struct PeerEndpoint: Hashable, Sendable {
    public let key: Ed25519.PublicKey
    /// A host name, or an IPv4 or IPv6 literal (without brackets).
    public let host: String
    public let port: UInt16

    public init(key: Ed25519.PublicKey, host: String, port: UInt16) {
        self.key = key
        self.host = host
        self.port = port
    }

    /// An endpoint from a genesis `Validator.address` in the form `host:port` or `[ipv6]:port` (port
    /// 1-65535).
    public init(key: Ed25519.PublicKey, address: String) throws(PeerError) {
        guard let parsed = HostPort(address), parsed.port > 0 else {
            throw .invalidConfiguration("peer address \"\(address)\" is not host:port (an IPv6 address in brackets: [2001:db8::7]:7701)")
        }
        self.init(key: key, host: parsed.host, port: parsed.port)
    }

    /// `host:port`, an IPv6 host in brackets.
    public var address: String { HostPort(host: host, port: port).text }
}

/// Everything a `PeerNetwork` needs: who this node is, which chain, the validators, and every limit.
///
/// Defaults suit a consortium of a few to a few dozen validators on a LAN or WAN; docs/PEERS.md explains each.
public struct PeerNetworkConfiguration: Sendable {
    /// This node's validator key: its TLS certificate key and the key in its hello.
    public var privateKey: Ed25519.PrivateKey
    /// The chain id (`Genesis.chainID.value`), 1-255 bytes; a peer with another chain id is refused.
    public var chainID: String
    /// Every validator in genesis. This node's own entry (same key) is skipped; every other one is dialed and
    /// pinned.
    public var validators: [PeerEndpoint]

    /// Where to listen when no `PeerListener` is passed: an IPv4 or IPv6 literal, "localhost", "0.0.0.0" or
    /// "::" (every interface, both families).
    public var listenHost = "0.0.0.0"
    /// The port to listen on; nil means the port of this node's own entry in `validators` (0 if absent).
    public var listenPort: UInt16?

    /// The largest frame payload accepted or sent: 8 MiB by default, above the largest block
    /// (`blockMaxBytes` is 4 MiB by default, 64 MiB at most: raise this with it).
    public var maxFrameBytes = 8 * 1024 * 1024
    /// Bounds of each peer's send queue. When either is reached the oldest frames are dropped (and counted).
    public var sendQueueMaxFrames = 4_096
    public var sendQueueMaxBytes = 64 * 1024 * 1024
    /// Inbound connections still in the TLS handshake or hello; beyond, new ones are closed at once.
    /// Established inbound links are bounded separately, by one per validator.
    public var maxPendingInbound = 16

    /// TCP connect (dialer).
    public var connectTimeoutMs = 3_000
    /// TLS handshake plus hello exchange, both sides.
    public var handshakeTimeoutMs = 5_000
    /// A link whose peer accepts no bytes for this long is closed.
    public var writeStallTimeoutMs = 10_000
    /// A link with nothing to send sends a keepalive frame this often...
    public var keepaliveIntervalMs = 2_000
    /// ...and a link that receives nothing (keepalives included) for this long is closed.
    public var idleTimeoutMs = 10_000
    /// Reconnection backoff of the dialers (see `PeerBackoff`).
    public var reconnectInitialDelayMs = 100
    public var reconnectMaxDelayMs = 10_000
    /// A link that stayed up this long resets its dialer's backoff.
    public var stableLinkMs = 10_000
    /// Seeds the jitter of reconnection delays. Production: a random value; tests: a fixed one.
    public var jitterSeed: UInt64

    public init(privateKey: Ed25519.PrivateKey, chainID: String, validators: [PeerEndpoint], jitterSeed: UInt64) {
        self.privateKey = privateKey
        self.chainID = chainID
        self.validators = validators
        self.jitterSeed = jitterSeed
    }

    /// The port to listen on, resolved from `listenPort` and the validator list.
    var resolvedListenPort: UInt16 {
        listenPort ?? validators.first { $0.key == privateKey.publicKey }?.port ?? 0
    }

    /// Throws `.invalidConfiguration` naming the first field out of range.
    func validate() throws(PeerError) {
        func require(_ condition: Bool, _ reason: String) throws(PeerError) {
            if !condition { throw .invalidConfiguration(reason) }
        }
        try require(PeerHello.isValidChainID(chainID), "chainID must have 1 to 255 bytes")
        try require(Set(validators.map(\.key)).count == validators.count, "validator keys must be unique")
        try require((1...PeerFrame.largestAllowedMaxBytes).contains(maxFrameBytes), "maxFrameBytes must be 1 B to 1 GiB")
        try require(sendQueueMaxFrames > 0, "sendQueueMaxFrames must be positive")
        try require(
            sendQueueMaxBytes >= maxFrameBytes + PeerFrame.headerByteCount,
            "sendQueueMaxBytes must hold at least one frame of maxFrameBytes")
        try require(maxPendingInbound > 0, "maxPendingInbound must be positive")
        try require(
            [connectTimeoutMs, handshakeTimeoutMs, writeStallTimeoutMs, keepaliveIntervalMs, idleTimeoutMs]
                .allSatisfy { $0 > 0 },
            "timeouts must be positive")
        try require(keepaliveIntervalMs < idleTimeoutMs, "keepaliveIntervalMs must be below idleTimeoutMs")
        try require(
            reconnectInitialDelayMs > 0 && reconnectMaxDelayMs >= reconnectInitialDelayMs,
            "reconnect delays must satisfy 0 < initial <= maximum")
        try require(stableLinkMs >= 0, "stableLinkMs must not be negative")
    }
}
