/// When a dialer tries again after a failed connection or a lost link: exponential backoff with "equal
/// jitter". The n-th consecutive delay is drawn uniformly from [ceiling / 2, ceiling], where
/// ceiling = min(maxDelayMs, initialDelayMs × 2^(n−1)). The ceiling bounds every wait; the random half
/// spreads validators that lost a peer at the same moment, so they do not all reconnect in step.
///
/// Pure: randomness comes from a seeded generator (`SplitMix64`), so a schedule is reproducible from its seed.
struct PeerBackoff {
    let initialDelayMs: Int
    let maxDelayMs: Int
    /// Consecutive delays handed out since the last `reset()`.
    private(set) var attempts = 0
    private var random: SplitMix64

    init(initialDelayMs: Int, maxDelayMs: Int, seed: UInt64) {
        precondition(initialDelayMs > 0 && maxDelayMs >= initialDelayMs, "0 < initial delay <= maximum delay")
        self.initialDelayMs = initialDelayMs
        self.maxDelayMs = maxDelayMs
        random = SplitMix64(seed: seed)
    }

    /// The ceiling of the next delay, before jitter.
    var ceilingMs: Int {
        // Doubling stops once it reaches the maximum, so the shift never overflows.
        var ceiling = initialDelayMs
        for _ in 0..<attempts where ceiling < maxDelayMs { ceiling = min(maxDelayMs, ceiling * 2) }
        return ceiling
    }

    /// The delay before the next attempt, in milliseconds; each call backs off further.
    mutating func nextDelayMs() -> Int {
        let ceiling = ceilingMs
        attempts += 1
        return Int.random(in: (ceiling - ceiling / 2)...ceiling, using: &random)
    }

    /// Starts again from `initialDelayMs` (after a link that stayed up).
    mutating func reset() { attempts = 0 }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast generator whose whole state is one seed. Not for
/// secrets; here it only spreads reconnection times, reproducibly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
