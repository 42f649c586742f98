import Foundation
import Ledger
import Storage
import Transport

/// Node-side settings of multi-validator consensus. The protocol's parameters (timeouts, block limits, the
/// block interval, the block-time drift bound) are in the genesis, the same for every validator; these are
/// local choices that do not affect agreement.
public struct ConsensusSettings: Sendable {
    /// Where peer links listen. Default: the host and port of this node's entry in the genesis (`address`),
    /// or every interface (IPv6 and IPv4, or IPv4 alone on a machine without IPv6) when that host is a name
    /// rather than an IP literal, since the name may resolve to addresses of either family. Tests and
    /// several nodes on one machine override them.
    public var peerListenHost: String?
    /// The peer listen port (see `peerListenHost`).
    public var peerListenPort: UInt16?
    /// An already bound peer listener (tests bind one on port 0 to learn the port before writing the
    /// genesis); when set, `peerListenHost` and `peerListenPort` are not used.
    public var peerListener: PeerListener?
    /// The API URL this node announces to its peers, who send clients there for this organisation's
    /// records (the custodian redirect). Default: `http://` plus the API listen address, with the peer
    /// address's host when the API listens on all interfaces.
    public var publicURL: String?
    /// How often a validator re-sends its own messages of the current height, announces its head and API
    /// URL, and checks whether it is behind.
    public var gossipIntervalMs: UInt64 = 1_000
    /// Events (verified proposals and votes, synced blocks) waiting for the consensus thread; beyond, new
    /// ones are dropped and counted (validators re-send their messages every gossip interval).
    public var inboxCapacity = 20_000
    /// Pieces of equivocation evidence kept (in memory and in `evidence.log`).
    public var evidenceCapacity = 1_000
    /// Seeds the jitter of peer reconnection delays; nil draws one at random (production).
    public var jitterSeed: UInt64?
    /// How long a sync request may go unanswered before another peer is asked.
    public var syncRequestTimeoutMs: UInt64 = 3_000
    /// The block sync each other validator may draw from this node, in bytes of answers per second (each
    /// answer also counts 4 KiB), and at once after a quiet spell; requests beyond are not answered.
    /// Honest catch-up checks every block it receives before asking again, far below this.
    public var syncAnswerBytesPerSecond = 32 * 1024 * 1024
    public var syncAnswerBurstBytes = 64 * 1024 * 1024
    /// A decided block's append to the chain store is synced to disk once every this many heights, or when
    /// the consensus log reaches 32 MiB; the others are not, and the log keeps their heights until a synced one, so a machine crash loses none
    /// of them (docs/CONSENSUS.md section 10). SQLite's background checkpoints put most of them on disk
    /// meanwhile, so a synced append has little left to write.
    public var heightsPerDurableAppend: UInt64 = 1_000

    /// The defaults above.
    public init() {}
}

extension DataDirectory {
    /// The consensus write-ahead log: the inputs of the height being decided (docs/CONSENSUS.md).
    public var consensusLogFile: String { path + "/consensus.wal" }
    /// What this validator signed last, saved before each signature leaves the node.
    public var signerStateFile: String { path + "/signer.state" }
    /// Equivocation evidence seen from other validators.
    public var evidenceFile: String { path + "/evidence.log" }
}

/// Where consensus stands, for `GET /v1/consensus` and `/metrics`.
public struct ConsensusStatus: Sendable {
    /// `consensus` (several validators), or `single-validator` (this node certifies alone, by group commit).
    public var mode: String
    /// The height being decided (or just decided).
    public var height: UInt64 = 0
    /// The round of that height.
    public var round: UInt32 = 0
    /// `propose`, `prevote`, `precommit`, or `commit` once the height is decided, until the next one starts.
    public var step: String = "propose"
    /// The last committed height.
    public var committedHeight: UInt64 = 0
    /// Set when the consensus thread stopped on an error it cannot survive (a disk that refuses writes).
    public var halted: String?
    /// Verified messages waiting for the consensus thread.
    public var inboxWaiting = 0
    /// Pieces of equivocation evidence kept.
    public var evidenceCount = 0
    /// Every genesis validator, this node included, in genesis order.
    public var peers: [PeerStatus] = []

    /// One genesis validator as this node sees it.
    public struct PeerStatus: Sendable {
        /// The validator's genesis name, its organisation and its identity (`hlk1…`).
        public var name: String
        public var organisation: String
        public var key: String
        /// True for this node's own entry.
        public var isSelf: Bool
        /// The API URL it announced over its peer link (nil until it did).
        public var apiURL: String?
        /// The highest height it is known to have committed.
        public var committedHeight: UInt64
        /// Whether this node's link to it, and its link to this node, are up.
        public var outboundLinked: Bool
        public var inboundLinked: Bool
    }

    /// Remote validators with both links up.
    public var peersLinked: Int { peers.filter { !$0.isSelf && $0.outboundLinked && $0.inboundLinked }.count }
}
