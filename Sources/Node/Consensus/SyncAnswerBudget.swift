/// How much block sync each validator may draw from this node: a token bucket of bytes per peer, so that a
/// validator asking for blocks over and over (a faulty or hostile one) costs this node at most
/// `bytesPerSecond` of reading and sending, while honest catch-up, which asks again only after each answer
/// is checked, never meets the bound. A request that finds its peer's bucket empty is not answered (the peer
/// asks another validator after its request timeout).
///
/// A value type fed with the time: the caller passes a monotonic clock in milliseconds.
struct SyncAnswerBudget: Sendable {
    /// Bytes a peer's answers may add up to per second, over time.
    let bytesPerSecond: Int
    /// Bytes a peer may draw at once after a quiet spell.
    let burstBytes: Int
    /// Charged for every answer besides its bytes, so that a stream of requests for nothing is bounded too.
    static let costPerAnswerBytes = 4_096
    private var buckets: [Int: (bytes: Double, atMs: UInt64)] = [:]

    init(bytesPerSecond: Int, burstBytes: Int) {
        precondition(bytesPerSecond > 0 && burstBytes >= Self.costPerAnswerBytes, "a sync budget allows some answers")
        self.bytesPerSecond = bytesPerSecond
        self.burstBytes = burstBytes
    }

    /// Whether `validator`'s request may be answered now: its bucket, refilled since it was last seen, is
    /// not empty. The answer's size is charged afterwards (`charge`), so one answer may overdraw the bucket.
    mutating func mayAnswer(_ validator: Int, nowMs: UInt64) -> Bool {
        refill(validator, nowMs: nowMs) > 0
    }

    /// Charges an answer of `bytes` bytes sent to `validator`.
    mutating func charge(_ validator: Int, bytes: Int, nowMs: UInt64) {
        let available = refill(validator, nowMs: nowMs)
        buckets[validator] = (available - Double(bytes + Self.costPerAnswerBytes), nowMs)
    }

    /// The bytes available to `validator` at `nowMs` (recorded).
    private mutating func refill(_ validator: Int, nowMs: UInt64) -> Double {
        let bucket = buckets[validator] ?? (Double(burstBytes), nowMs)
        let elapsedMs = Double(nowMs >= bucket.atMs ? nowMs - bucket.atMs : 0)
        let available = min(Double(burstBytes), bucket.bytes + elapsedMs * Double(bytesPerSecond) / 1_000)
        buckets[validator] = (available, max(nowMs, bucket.atMs))
        return available
    }
}
