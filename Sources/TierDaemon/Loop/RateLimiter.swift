/// A token bucket of bytes: a target's paging may move at most `rate` bytes per second on
/// average, with bursts of at most one second's worth (or one period's, if longer).
struct RateLimiter: Sendable {
    /// Bytes per second; nil: unlimited.
    let rate: Int64?
    private let capacity: Double
    private var tokens: Double
    private var lastRefill: UInt64

    init(rate: Int64?, periodSeconds: Double, now: UInt64) {
        self.rate = rate
        capacity = rate.map { Double($0) * max(1, periodSeconds) } ?? .infinity
        // Start with one period's worth, not a full bucket: a daemon that restarts cannot
        // burst more than it would have moved in a period.
        tokens = rate.map { Double($0) * periodSeconds } ?? .infinity
        lastRefill = now
    }

    /// Adds the tokens earned since the last refill.
    mutating func refill(now: UInt64) {
        guard let rate, now > lastRefill else { return }
        tokens = min(capacity, tokens + Double(rate) * Double(now - lastRefill) / 1e9)
        lastRefill = now
    }

    /// Bytes that may be moved now.
    var available: Int64 { tokens.isInfinite ? Int64.max : Int64(tokens.rounded(.down)) }

    /// Spends `bytes` (never more than available).
    mutating func spend(_ bytes: Int64) {
        guard !tokens.isInfinite else { return }
        tokens = max(0, tokens - Double(bytes))
    }
}
