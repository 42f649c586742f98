import Consensus
import Foundation
import Ledger
import Storage

/// Proof that a validator equivocated (two different signed proposals or votes for one height, round and
/// step), kept so operators and auditors can act on it: each piece is logged, counted in
/// `healthledger_consensus_evidence_total`, served by `GET /v1/consensus/evidence`, and appended durably to
/// `evidence.log` in the data directory (the write-ahead log's frame format), so it survives restarts.
///
/// Bounded: at most `capacity` pieces are kept, in memory and on disk; beyond that, new evidence is still
/// logged and counted but not stored (the stored pieces already name the faulty validators). Duplicates are
/// dropped: evidence is canonical, so the same equivocation seen twice has the same bytes.
final class EvidenceStore: @unchecked Sendable {
    private let lock = NSLock()
    private let file: WriteAheadLog
    private var pieces: [Evidence] = []
    private var known: Set<Evidence> = []
    private(set) var dropped = 0
    let capacity: Int

    /// Opens (or creates) the evidence file and loads what it holds. Records that no longer decode are
    /// skipped (and counted in `unreadable`).
    init(path: String, capacity: Int = 1_000) throws(StorageError) {
        self.capacity = capacity
        file = try WriteAheadLog(path: path, growthBytes: 0)  // rare and synced one by one: no room kept ahead
        for record in file.recovered {
            guard let evidence = try? Evidence(canonicalBytes: record) else {
                unreadable += 1
                continue
            }
            if known.insert(evidence).inserted, pieces.count < capacity { pieces.append(evidence) }
        }
    }

    /// Records in the file that did not decode when it was opened.
    private(set) var unreadable = 0

    var all: [Evidence] { lock.withLock { pieces } }
    var count: Int { lock.withLock { pieces.count } }

    /// Keeps `evidence` unless already known; true when it is new. Durable when this returns.
    func add(_ evidence: Evidence) throws(StorageError) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard known.insert(evidence).inserted else { return false }
        guard pieces.count < capacity else {
            dropped += 1
            return true
        }
        try file.append(evidence.canonicalBytes, sync: true)
        pieces.append(evidence)
        return true
    }
}
