import Crypto
import TLS

/// Which side opened a link: this node dialed (`outbound`) or the peer did (`inbound`).
public enum PeerDirection: String, Sendable {
    case inbound, outbound
}

/// Why a peer connection was refused or a link ended. Safe to log: names the failure, never payload bytes
/// or key material.
public enum PeerCloseReason: Error, Equatable, Sendable, CustomStringConvertible {
    /// TCP connection to the peer's address failed (dialer side).
    case cannotConnect(String)
    /// The TLS handshake or a TLS read or write failed (refused key, timeout, not TLS, peer closed, ...).
    case tls(TLSError)
    /// More unauthenticated inbound connections than `maxPendingInbound` were open: closed at once.
    case tooManyPendingConnections
    /// The first frame was not a valid hello.
    case malformedHello(String)
    /// The peer's hello names another chain.
    case wrongChain
    /// The peer's hello names a key other than the one it proved in the TLS handshake.
    case helloKeyMismatch
    /// A frame header announced more than `maxFrameBytes`.
    case frameTooLarge(announcedBytes: Int, maxBytes: Int)
    /// Nothing arrived for `idleTimeoutMs` (keepalives included): the peer or the path is gone.
    case idle(timeoutMs: Int)
    /// The peer did not accept our bytes for `writeStallTimeoutMs`.
    case writeStalled(timeoutMs: Int)
    /// The peer connected again; its new link replaced this one.
    case replaced
    /// This node is stopping its peer network.
    case stopping

    public var description: String {
        switch self {
        case .cannotConnect(let reason): "cannot connect: \(reason)"
        case .tls(let error): error.description
        case .tooManyPendingConnections: "too many unauthenticated connections open"
        case .malformedHello(let reason): "malformed hello: \(reason)"
        case .wrongChain: "the peer's hello is for another chain"
        case .helloKeyMismatch: "the peer's hello names a key other than its TLS key"
        case .frameTooLarge(let announced, let max): "frame of \(announced) bytes announced, at most \(max) accepted"
        case .idle(let timeoutMs): "nothing received for \(timeoutMs) ms"
        case .writeStalled(let timeoutMs): "the peer accepted nothing for \(timeoutMs) ms"
        case .replaced: "replaced by a newer link from the same peer"
        case .stopping: "the peer network is stopping"
        }
    }

    /// A short stable code for logs and metrics, such as `frame_too_large`.
    public var code: String {
        switch self {
        case .cannotConnect: "cannot_connect"
        case .tls(.peerKeyNotAllowed): "tls_key_not_pinned"
        case .tls(.peerKeyUnexpected): "tls_key_unexpected"
        case .tls(.peerCertificateMissing): "tls_no_certificate"
        case .tls(.refusedByPeer): "tls_refused_by_peer"
        case .tls(.timedOut): "tls_timeout"
        case .tls(.closed): "closed"
        case .tls: "tls_error"
        case .tooManyPendingConnections: "too_many_pending"
        case .malformedHello: "malformed_hello"
        case .wrongChain: "wrong_chain"
        case .helloKeyMismatch: "hello_key_mismatch"
        case .frameTooLarge: "frame_too_large"
        case .idle: "idle"
        case .writeStalled: "write_stalled"
        case .replaced: "replaced"
        case .stopping: "stopping"
        }
    }
}

/// Something worth logging about peer connections. `name` and `fields` fit the node's one-JSON-object-per-line
/// log; peers appear by the hex of their public key (an identity, not a secret).
public enum PeerEvent: Sendable, CustomStringConvertible {
    /// A link passed TLS and the hello exchange and now carries frames.
    case linkEstablished(peer: Ed25519.PublicKey, direction: PeerDirection, remoteAddress: String)
    /// A link ended (its frames in flight may be lost; the dialer will reconnect an outbound link).
    case linkClosed(peer: Ed25519.PublicKey, direction: PeerDirection, reason: PeerCloseReason)
    /// An inbound connection was closed before it became a link.
    case connectionRefused(remoteAddress: String, reason: PeerCloseReason)
    /// Dialing a validator failed; the next attempt comes after `retryInMs`.
    case dialFailed(peer: Ed25519.PublicKey, address: String, reason: PeerCloseReason, retryInMs: Int)

    /// The event name, such as `peer.link.closed`.
    public var name: String {
        switch self {
        case .linkEstablished: "peer.link.established"
        case .linkClosed: "peer.link.closed"
        case .connectionRefused: "peer.connection.refused"
        case .dialFailed: "peer.dial.failed"
        }
    }

    /// The event's fields as text, for a structured log line.
    public var fields: [String: String] {
        switch self {
        case let .linkEstablished(peer, direction, remoteAddress):
            ["peer": peer.hexPrefix, "direction": direction.rawValue, "remote": remoteAddress]
        case let .linkClosed(peer, direction, reason):
            ["peer": peer.hexPrefix, "direction": direction.rawValue, "reason": reason.code, "detail": reason.description]
        case let .connectionRefused(remoteAddress, reason):
            ["remote": remoteAddress, "reason": reason.code, "detail": reason.description]
        case let .dialFailed(peer, address, reason, retryInMs):
            ["peer": peer.hexPrefix, "address": address, "reason": reason.code, "detail": reason.description,
             "retry_in_ms": String(retryInMs)]
        }
    }

    public var description: String {
        "\(name) " + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// A failure of the peer network's own API (not of a peer).
public enum PeerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration is unusable; the reason names the field.
    case invalidConfiguration(String)
    /// A payload to send is empty or larger than `maxFrameBytes`.
    case payloadSize(bytes: Int, maxBytes: Int)
    /// `send(_:to:)` named a key that is not a remote validator of this network.
    case unknownPeer
    /// The listener could not be opened.
    case cannotListen(String)
    /// The TLS context could not be built.
    case tls(TLSError)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid peer configuration: \(reason)"
        case .payloadSize(let bytes, let maxBytes): "a peer payload must have 1 to \(maxBytes) bytes, not \(bytes)"
        case .unknownPeer: "no such validator among this node's peers"
        case .cannotListen(let reason): reason
        case .tls(let error): error.description
        }
    }
}

/// Counters for one remote validator since the network started.
public struct PeerStatistics: Sendable, Equatable {
    public let peer: Ed25519.PublicKey
    /// Whether this node's link to the peer (which carries what this node sends) is up.
    public var outboundConnected: Bool
    /// Whether the peer's link to this node is up.
    public var inboundConnected: Bool
    /// Frames waiting in the send queue, and their bytes (headers included).
    public var queuedFrames: Int
    public var queuedBytes: Int
    /// Frames dropped from the send queue because it was full (the oldest go first).
    public var droppedFrames: Int
    /// Frames written to the peer's TLS connection, and payload frames received from it (any link).
    public var sentFrames: Int
    public var receivedFrames: Int
    /// Links that completed the hello, both directions.
    public var linksEstablished: Int
}

/// Counters for the whole peer network.
public struct PeerNetworkStatistics: Sendable {
    /// One entry per remote validator, in configuration order.
    public var peers: [PeerStatistics]
    /// Inbound connections closed before becoming a link (bad TLS, bad hello, over the pending limit).
    public var refusedConnections: Int
    /// Dial attempts that did not produce a link.
    public var failedDials: Int
    /// Inbound connections in the TLS handshake or hello right now.
    public var pendingInbound: Int
}

extension Ed25519.PublicKey {
    /// The first 8 bytes in hex: enough to tell validators apart in a log line.
    var hexPrefix: String {
        rawRepresentation.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
