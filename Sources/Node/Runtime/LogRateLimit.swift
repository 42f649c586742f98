/// A token bucket for log lines that strangers can cause (a flood of refused connections): at most `burst`
/// lines at once and `perSecond` after that; what it holds back is counted, and the next line let through
/// says how many were left out before it. Time is an input, so a test replays it exactly. Not thread-safe:
/// its owner serialises calls.
struct LogRateLimit: Sendable {
    /// Whether to write the line, and how many were held back since the last one written.
    enum Decision: Equatable, Sendable {
        case write(suppressedBefore: Int)
        case suppress
    }

    let burst: Int
    let perSecond: Int
    private var tokens: Double
    private var lastMs: UInt64?
    private var suppressed = 0

    init(burst: Int, perSecond: Int) {
        precondition(burst >= 1 && perSecond >= 1, "a rate limit lets some lines through")
        self.burst = burst
        self.perSecond = perSecond
        tokens = Double(burst)
    }

    /// Takes a token for a line at `nowMs` (monotonic milliseconds; a clock that goes back refills nothing).
    mutating func admit(nowMs: UInt64) -> Decision {
        if let lastMs, nowMs > lastMs {
            tokens = min(Double(burst), tokens + Double(nowMs - lastMs) * Double(perSecond) / 1_000)
        }
        lastMs = max(lastMs ?? nowMs, nowMs)
        guard tokens >= 1 else {
            suppressed += 1
            return .suppress
        }
        tokens -= 1
        defer { suppressed = 0 }
        return .write(suppressedBefore: suppressed)
    }
}
