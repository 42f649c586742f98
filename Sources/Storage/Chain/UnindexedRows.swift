import Crypto
import Ledger

/// The rows of committed blocks not yet in the id and access indexes (ids with their sequence numbers, and
/// access sequence numbers by patient), held in 256 shards by the first byte of their key: the id, and the
/// patient's key.
///
/// One dictionary of all of them was measured to stall the append of a block at every validator at once:
/// growing it at 24,576 and 49,152 ids took 28 and 43 ms, and sorting 50,000 ids into an index batch's parts
/// took 66 ms. Shards grow a 256th at a time, and a batch takes its parts from them as they are.
struct UnindexedRows {
    static let shardCount = 256
    private var ids = [[TransactionID: UInt64]](repeating: [:], count: shardCount)
    private var accesses = [[Identity: [UInt64]]](repeating: [:], count: shardCount)
    /// How many ids are held.
    private(set) var idCount = 0

    init() {}

    /// The rows that `ChainSchema.entryIDs` and `entryAccesses` read back when a store is opened.
    init(ids: [TransactionID: UInt64], accesses: [Identity: [UInt64]]) {
        for (id, seq) in ids { insert(id, seq: seq) }
        for (patient, sequences) in accesses { self.accesses[Self.shard(of: patient)][patient] = sequences }
    }

    static func shard(of id: TransactionID) -> Int { Int(id.digest.leadingByte) }
    static func shard(of patient: Identity) -> Int { Int(patient.publicKeyBytes[0]) }

    mutating func insert(_ id: TransactionID, seq: UInt64) {
        if ids[Self.shard(of: id)].updateValue(seq, forKey: id) == nil { idCount += 1 }
    }

    mutating func insertAccess(patient: Identity, seq: UInt64) {
        accesses[Self.shard(of: patient)][patient, default: []].append(seq)
    }

    func sequence(of id: TransactionID) -> UInt64? { ids[Self.shard(of: id)][id] }

    func accessSequences(of patient: Identity) -> [UInt64] { accesses[Self.shard(of: patient)][patient] ?? [] }

    /// The ids of `shards`, sorted by id (consecutive rows then share index pages).
    func sortedIDs(inShards shards: Range<Int>) -> [(id: TransactionID, seq: UInt64)] {
        shards.flatMap { ids[$0].map { (id: $0.key, seq: $0.value) } }.sorted { $0.id < $1.id }
    }

    /// The accesses of `shards`, sorted by patient, then sequence.
    func sortedAccesses(inShards shards: Range<Int>) -> [(patient: Identity, seq: UInt64)] {
        shards.flatMap { shard in accesses[shard].flatMap { entry in entry.value.map { (patient: entry.key, seq: $0) } } }
            .sorted { ($0.patient, $0.seq) < ($1.patient, $1.seq) }
    }
}
