import Consensus
import Ledger

/// What happened in a run, for two purposes: a running 64-bit hash of every event (two runs of one seed must
/// give the same hash, in one process or two), and the recent events as text for a failure report (or all
/// of them, for the verbose replay of one seed). Events are kept as values and formatted only when printed.
struct SimulationTrace {
    enum Record {
        case boot(node: Int, head: UInt64)
        case crash(node: Int)
        case deliver(to: Int, from: Int, kind: UInt8, size: Int)
        case lost(from: Int, to: Int, kind: UInt8)
        case timer(node: Int, NodeTimer)
        case submit(node: Int, TransactionID, accepted: Bool)
        case commit(node: Int, height: UInt64, round: UInt32, hash: SHA256Digest, entries: Int)
        case acknowledged(node: Int, TransactionID, height: UInt64)
        case evidence(node: Int, against: UInt16, height: UInt64)
        case synced(node: Int, fromPeer: Int, blocks: Int)
        case restored(node: Int, blocks: Int)
        case phase(String)
        case proposalRefused(node: Int, height: UInt64, round: UInt32, reason: String)
        case signed(node: Int, SigningPosition, value: SHA256Digest?)
    }

    private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    private(set) var eventCount = 0
    private var recent: [(timeMs: UInt64, record: Record)] = []
    private let keepsAll: Bool
    static let recentLimit = 60

    init(keepsAll: Bool) { self.keepsAll = keepsAll }

    mutating func record(_ record: Record, atMs timeMs: UInt64) {
        eventCount += 1
        mix(timeMs)
        mix(record)
        recent.append((timeMs, record))
        if !keepsAll, recent.count > 2 * Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
    }

    /// The kept events as lines, oldest first (the last `recentLimit` unless all are kept).
    var lines: [String] { (keepsAll ? recent[...] : recent.suffix(Self.recentLimit)).map(Self.line) }

    /// The last `recentLimit` events as lines, oldest first.
    var recentLines: [String] { recent.suffix(Self.recentLimit).map(Self.line) }

    private static func line(_ entry: (timeMs: UInt64, record: Record)) -> String {
        "\(format(entry.timeMs))  \(describe(entry.record))"
    }

    var hashText: String {
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // FNV-1a over the fields of each record: no Hasher (seeded per process), so the value is the same in every process.
    private mutating func mix(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            hash ^= (value >> UInt64(shift)) & 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
        }
    }

    private mutating func mix(_ digest: SHA256Digest) {
        for byte in digest.bytes.prefix(8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
    }

    private mutating func mix(_ record: Record) {
        switch record {
        case let .boot(node, head): [1, UInt64(node), head].forEach { mix($0) }
        case let .crash(node): [2, UInt64(node)].forEach { mix($0) }
        case let .deliver(to, from, kind, size): [3, UInt64(to), UInt64(from), UInt64(kind), UInt64(size)].forEach { mix($0) }
        case let .lost(from, to, kind): [4, UInt64(from), UInt64(to), UInt64(kind)].forEach { mix($0) }
        case let .timer(node, timer):
            [5, UInt64(node)].forEach { mix($0) }
            switch timer {
            case let .consensus(timeout): [1, timeout.height, UInt64(timeout.round), UInt64(timeout.step.rawValue)].forEach { mix($0) }
            case let .startHeight(height): [2, height].forEach { mix($0) }
            case .gossip: mix(3)
            }
        case let .submit(node, id, accepted):
            [6, UInt64(node), accepted ? 1 : 0].forEach { mix($0) }
            mix(id.digest)
        case let .commit(node, height, round, hash, entries):
            [7, UInt64(node), height, UInt64(round), UInt64(entries)].forEach { mix($0) }
            mix(hash)
        case let .acknowledged(node, id, height):
            [8, UInt64(node), height].forEach { mix($0) }
            mix(id.digest)
        case let .evidence(node, against, height): [9, UInt64(node), UInt64(against), height].forEach { mix($0) }
        case let .synced(node, peer, blocks): [10, UInt64(node), UInt64(peer), UInt64(blocks)].forEach { mix($0) }
        case let .phase(name): [11, UInt64(name.utf8.count)].forEach { mix($0) }
        case let .restored(node, blocks): [14, UInt64(node), UInt64(blocks)].forEach { mix($0) }
        case let .signed(node, position, value):
            [13, UInt64(node), position.height, UInt64(position.round), UInt64(position.step.rawValue)].forEach { mix($0) }
            mix(value ?? .zero)
        case let .proposalRefused(node, height, round, reason): [12, UInt64(node), height, UInt64(round), UInt64(reason.utf8.count)].forEach { mix($0) }
        }
    }

    private static func format(_ timeMs: UInt64) -> String {
        let text = "\(timeMs)"
        return String(repeating: " ", count: max(0, 7 - text.count)) + text + "ms"
    }

    static func kindName(_ kind: UInt8) -> String {
        ["?", "proposal", "vote", "transaction", "sync-request", "sync-response"][Int(kind) < 6 ? Int(kind) : 0]
    }

    private static func describe(_ record: Record) -> String {
        switch record {
        case let .boot(node, head): return "node \(node) boots at head \(head)"
        case let .crash(node): return "node \(node) crashes"
        case let .deliver(to, from, kind, size): return "node \(to) <- node \(from): \(kindName(kind)) (\(size) bytes)"
        case let .lost(from, to, kind): return "lost: node \(from) -> node \(to) \(kindName(kind))"
        case let .timer(node, timer): return "node \(node) timer \(timer)"
        case let .submit(node, id, accepted): return "client -> node \(node): transaction \(id.hex.prefix(12)) \(accepted ? "accepted" : "refused")"
        case let .commit(node, height, round, hash, entries):
            return "node \(node) commits height \(height) round \(round) block \(hash.hex.prefix(12)) (\(entries) entries)"
        case let .acknowledged(node, id, height): return "node \(node) acknowledges \(id.hex.prefix(12)) at height \(height)"
        case let .evidence(node, against, height): return "node \(node) reports evidence against validator \(against) at height \(height)"
        case let .synced(node, peer, blocks): return "node \(node) synced \(blocks) blocks from node \(peer)"
        case let .phase(name): return "---- \(name)"
        case let .restored(node, blocks): return "node \(node) stores \(blocks) block\(blocks == 1 ? "" : "s") again from its log"
        case let .signed(node, position, value): return "node \(node) signs \(position) for \(value.map { String($0.hex.prefix(12)) } ?? "nil")"
        case let .proposalRefused(node, height, round, reason): return "node \(node) refuses the proposal of \(height)/\(round): \(reason)"
        }
    }
}
