import TestSupport

/// The faults of one run, drawn from its seed before the run starts: how lossy, slow and duplicating the
/// network is, when it partitions and how, which validators crash and for how long, and each node's clock
/// skew. Every fault happens inside the fault phase; the quiet phase that follows has a reliable network and
/// every node up (the Byzantine validator keeps equivocating: it stays within f = 1 of 4).
public struct FaultPlan: Sendable, CustomStringConvertible {
    /// A message is lost with this probability (per cent) in the fault phase.
    public let dropPercent: Int
    /// A message is delivered twice with this probability (per cent) in the fault phase.
    public let duplicatePercent: Int
    /// Delivery takes 1...maxDelayMs milliseconds, uniformly, so messages overtake each other (reordering).
    public let maxDelayMs: UInt64
    /// Spells in which the nodes are split into two sides that cannot reach each other.
    public let partitions: [Partition]
    /// Spells in which one validator is down; it restarts from its write-ahead log, signer state and blocks.
    public let crashes: [Crash]
    /// Each node's clock offset from simulated time, within +/- `SimulationOptions.maxClockSkewMs`.
    public let clockSkewsMs: [Int64]

    /// Two sides that cannot reach each other from `startMs` until `endMs`.
    public struct Partition: Sendable {
        public let startMs: UInt64
        public let endMs: UInt64
        /// The nodes on one side; the others are on the other side.
        public let side: [Int]
    }

    /// A validator down from `atMs` until its restart at `restartMs`.
    public struct Crash: Sendable {
        public let node: Int
        public let atMs: UInt64
        public let restartMs: UInt64
        /// The crash interrupts the node after this many of its disk operations (log writes and syncs, durable
        /// appends) in the event it is handling (0: between events), so it can fall between a signature and its
        /// delivery, or a commit and the next log.
        public let afterDurableWrites: Int
    }

    /// Draws a plan for `nodeCount` nodes; `byzantine` is never crashed (it is already the faulty one).
    init(random: inout SeededRandom, options: SimulationOptions, byzantine: Int?) {
        let faultEndMs = options.faultPhaseMs
        dropPercent = Int.random(in: 0...options.maxDropPercent, using: &random)
        duplicatePercent = Int.random(in: 0...10, using: &random)
        maxDelayMs = UInt64.random(in: 5...options.maxNetworkDelayMs, using: &random)
        partitions = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            let start = UInt64.random(in: 0..<faultEndMs, using: &random)
            let end = min(faultEndMs, start + UInt64.random(in: 200...2_000, using: &random))
            let sideSize = Int.random(in: 1...(options.validatorCount / 2), using: &random)
            let side = Array((0..<options.validatorCount).shuffled(using: &random).prefix(sideSize)).sorted()
            return Partition(startMs: start, endMs: end, side: side)
        }
        let honest = (0..<options.validatorCount).filter { $0 != byzantine }
        crashes = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            let start = UInt64.random(in: 0..<faultEndMs, using: &random)
            let restart = min(faultEndMs, start + UInt64.random(in: 100...2_000, using: &random))
            return Crash(node: honest.randomElement(using: &random)!, atMs: start, restartMs: max(restart, start + 1),
                         afterDurableWrites: Int.random(in: 0...4, using: &random))
        }
        clockSkewsMs = (0..<options.validatorCount).map { _ in
            Int64.random(in: -Int64(options.maxClockSkewMs)...Int64(options.maxClockSkewMs), using: &random)
        }
    }

    public var description: String {
        let partitionText = partitions.map { "\($0.side)|rest \($0.startMs)-\($0.endMs)ms" }
        let crashText = crashes.map { "node \($0.node) \($0.atMs)-\($0.restartMs)ms after \($0.afterDurableWrites) writes" }
        return "drop \(dropPercent)%, duplicate \(duplicatePercent)%, delay 1-\(maxDelayMs)ms, partitions \(partitionText), "
            + "crashes \(crashText), clock skews \(clockSkewsMs)ms"
    }
}

/// Carries bytes between nodes the way the fault plan says: in the fault phase it drops, duplicates, delays
/// (and so reorders) and partitions; in the quiet phase it delivers everything within a few milliseconds.
struct SimulatedNetwork {
    let plan: FaultPlan
    let faultPhaseEndMs: UInt64
    let quietMaxDelayMs: UInt64

    /// The delivery delays of one message from `sender` to `receiver` sent at `nowMs`: none (lost), one, or
    /// two (duplicated).
    func deliveryDelays(from sender: Int, to receiver: Int, nowMs: UInt64, random: inout SeededRandom) -> [UInt64] {
        guard nowMs < faultPhaseEndMs else { return [UInt64.random(in: 1...quietMaxDelayMs, using: &random)] }
        if isPartitioned(sender, receiver, atMs: nowMs) { return [] }
        if Int.random(in: 0..<100, using: &random) < plan.dropPercent { return [] }
        let copies = Int.random(in: 0..<100, using: &random) < plan.duplicatePercent ? 2 : 1
        return (0..<copies).map { _ in UInt64.random(in: 1...plan.maxDelayMs, using: &random) }
    }

    func isPartitioned(_ a: Int, _ b: Int, atMs nowMs: UInt64) -> Bool {
        plan.partitions.contains { $0.startMs <= nowMs && nowMs < $0.endMs && $0.side.contains(a) != $0.side.contains(b) }
    }
}
