import Ledger

/// The ids of recently committed transactions, as a filter that answers "certainly not committed" or
/// "maybe": the chain store asks it before looking an id up in SQLite, which every admission and every
/// block's execution does for each transaction, nearly always for an id that is not there (measured at
/// saturation: 7–12% of a validator's CPU, docs/PERFORMANCE.md).
///
/// **Why it can be exact without the whole chain.** A transaction's id covers its creation time, and a
/// block may hold it only while `createdAtMs - transactionMaxFutureMs <= blockTime` (`BlockExecutor`). So the
/// ids created at or after some time F can be committed only in blocks after time `F - transactionMaxFutureMs`;
/// a store opened at head time H inserts every id it appends from then on, and answers exactly for every id
/// created after `H + transactionMaxFutureMs` (`exactFromMs`). An older id gets "maybe", and the caller looks
/// it up as before.
///
/// **Bounded.** Ids are kept in generations by creation time (one Bloom filter of `bitsPerGeneration` bits
/// each, positions taken from the id's own hash bits); a generation is forgotten once every id in it has
/// expired (`forget(createdBeforeMs:)`), which raises `exactFromMs`: the window's span and two more, at most
/// about 18 generations of 256 KiB.
/// A false "maybe" costs only the look-up the store would have made anyway.
struct RecentIDFilter {
    /// Bits of the id's hash per position: a generation has one bit for each value they can take.
    private static let positionBits = 21
    static let bitsPerGeneration = 1 << positionBits
    /// Bit positions per id: with 100,000 ids in a generation, about 1 false "maybe" in 1,100.
    static let positionsPerID = 4

    /// The span of creation times one generation holds.
    let generationMs: UInt64
    /// Every id created at or after this time that was committed was inserted: below it, only "maybe".
    private(set) var exactFromMs: UInt64
    /// Generation number (creation time / `generationMs`) to its bits.
    private var generations: [UInt64: [UInt64]] = [:]

    init(exactFromMs: UInt64, generationMs: UInt64) {
        precondition(generationMs > 0, "a generation spans some time")
        self.exactFromMs = exactFromMs
        self.generationMs = generationMs
    }

    /// The filter for a store whose head block has time `headTimeMs`, under `consensus`'s replay window:
    /// generations of a minute, or of a sixteenth of the window when that is longer.
    init(headTimeMs: UInt64, consensus: ConsensusParameters) {
        let windowMs = consensus.transactionMaxAgeMs + consensus.transactionMaxFutureMs
        let firstUnseenMs = headTimeMs < UInt64.max - consensus.transactionMaxFutureMs ? headTimeMs + consensus.transactionMaxFutureMs + 1 : .max
        self.init(exactFromMs: firstUnseenMs, generationMs: max(60_000, windowMs / 16))
    }

    /// How many generations are held (for tests and memory bounds).
    var generationCount: Int { generations.count }

    /// Records a committed id. Ids created before `exactFromMs` are not kept (the answer for them is "maybe").
    mutating func insert(_ id: TransactionID, createdAtMs: UInt64) {
        guard createdAtMs >= exactFromMs else { return }
        let generation = createdAtMs / generationMs
        let hashBits = id.digest.trailingWords
        for index in 0..<Self.positionsPerID {
            let position = Self.position(index, of: hashBits)
            generations[generation, default: Self.emptyGeneration][position >> 6] |= 1 << UInt64(position & 63)
        }
    }

    /// False only when no transaction with this id (and so this creation time) was committed; true
    /// ("maybe") otherwise.
    func mayContain(_ id: TransactionID, createdAtMs: UInt64) -> Bool {
        guard createdAtMs >= exactFromMs else { return true }
        guard let words = generations[createdAtMs / generationMs] else { return false }
        let hashBits = id.digest.trailingWords
        for index in 0..<Self.positionsPerID {
            let position = Self.position(index, of: hashBits)
            if words[position >> 6] & (1 << UInt64(position & 63)) == 0 { return false }
        }
        return true
    }

    /// Forgets the generations whose every id was created before `cutoffMs`; ids created before the first
    /// generation kept get "maybe" from then on.
    mutating func forget(createdBeforeMs cutoffMs: UInt64) {
        let firstKept = cutoffMs / generationMs
        guard firstKept > 0, firstKept * generationMs > exactFromMs else { return }
        exactFromMs = firstKept * generationMs
        generations = generations.filter { $0.key >= firstKept }
    }

    private static let emptyGeneration = [UInt64](repeating: 0, count: bitsPerGeneration / 64)

    /// Bit position `index` (0 to 3) of an id: 21 bits of its last 128 (a SHA-256 hash: uniform already), the
    /// first three from the last word, the fourth from the one before.
    private static func position(_ index: Int, of hashBits: (high: UInt64, low: UInt64)) -> Int {
        let word = index < 3 ? hashBits.low >> UInt64(index * positionBits) : hashBits.high
        return Int(word & (1 << UInt64(positionBits) - 1))
    }
}
