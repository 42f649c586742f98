import Foundation

/// Counters and gauges, served at `/metrics` in the Prometheus text format (version 0.0.4).
public final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: Double] = [:]
    private var gauges: [String: Double] = [:]
    private static let help: [String: (type: String, help: String)] = [
        "healthledger_transactions_admitted_total": ("counter", "Transactions admitted to the mempool."),
        "healthledger_transactions_refused_total": ("counter", "Transactions refused at admission, by reason."),
        "healthledger_transactions_committed_total": ("counter", "Transactions committed in blocks."),
        "healthledger_blocks_committed_total": ("counter", "Blocks committed."),
        "healthledger_accesses_total": ("counter", "Record accesses committed, by decision."),
        "healthledger_records_stored_total": ("counter", "Records sealed in the vault and registered on chain."),
        "healthledger_service_calls_total": ("counter", "Diagnose and plan calls answered after their ServiceResult was committed, by action and outcome (result, refused)."),
        "healthledger_http_requests_total": ("counter", "HTTP requests answered, by status class."),
        "healthledger_http_connections_open": ("gauge", "API connections open."),
        "healthledger_http_connections_rejected_total": ("counter", "API connections answered 503: the limit reached and none idle."),
        "healthledger_http_connections_reclaimed_total": ("counter", "Idle API connections closed to make room for a new one at the limit."),
        "healthledger_http_protocol_errors_total": ("counter", "Requests the HTTP layer refused itself (400, 408, 413, 431, 501, 505)."),
        "healthledger_chain_height": ("gauge", "Height of the last committed block."),
        "healthledger_mempool_transactions": ("gauge", "Transactions waiting in the mempool."),
        "healthledger_block_commit_seconds_last": ("gauge", "Time the last block took to build and make durable."),
        "healthledger_consensus_height": ("gauge", "Height consensus is deciding (or just decided)."),
        "healthledger_consensus_round": ("gauge", "Round of the height being decided."),
        "healthledger_consensus_step": ("gauge", "Step: 1 propose, 2 prevote, 3 precommit, 4 decided (next height not started)."),
        "healthledger_consensus_peers_linked": ("gauge", "Other validators with both peer links up."),
        "healthledger_peer_connections_refused_total": ("counter", "Incoming peer connections refused (handshake, key pin, hello, pending limit), by reason."),
        "healthledger_consensus_evidence_total": ("counter", "Equivocations seen from other validators (evidence kept)."),
        "healthledger_consensus_messages_dropped_total": ("counter", "Peer messages dropped before consensus, by reason."),
        "healthledger_consensus_messages_unsent_total": ("counter", "Messages the peer network refused to queue."),
        "healthledger_consensus_proposals_refused_total": ("counter", "Proposals not prevoted: invalid or untimely."),
        "healthledger_consensus_sync_blocks_total": ("counter", "Blocks appended by catch-up from peers."),
        "healthledger_consensus_sync_blocks_refused_total": ("counter", "Blocks from peers refused by catch-up checks."),
        "healthledger_consensus_sync_served_total": ("counter", "Blocks sent to peers catching up."),
        "healthledger_transactions_gossiped_total": ("counter", "Transactions gossiped to (out) or admitted from (in) other validators."),
    ]

    public init() {}

    /// Adds `value` to a counter; `labels` like `reason="expired"`.
    public func increment(_ name: String, labels: String = "", by value: Double = 1) {
        lock.withLock { counters[key(name, labels), default: 0] += value }
    }

    public func set(_ name: String, _ value: Double) {
        lock.withLock { gauges[name] = value }
    }

    public func value(_ name: String, labels: String = "") -> Double {
        lock.withLock { counters[key(name, labels)] ?? gauges[name] ?? 0 }
    }

    private func key(_ name: String, _ labels: String) -> String { labels.isEmpty ? name : "\(name){\(labels)}" }

    /// The exposition text.
    public func render() -> String {
        let (counters, gauges) = lock.withLock { (self.counters, self.gauges) }
        var lines: [String] = []
        var described: Set<String> = []
        for (key, value) in (counters.merging(gauges) { first, _ in first }).sorted(by: { $0.key < $1.key }) {
            let name = String(key.prefix { $0 != "{" })
            if described.insert(name).inserted, let help = Self.help[name] {
                lines.append("# HELP \(name) \(help.help)")
                lines.append("# TYPE \(name) \(help.type)")
            }
            lines.append("\(key) \(value == value.rounded() ? String(Int64(value)) : String(value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
