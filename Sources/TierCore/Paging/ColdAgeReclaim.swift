/// Cold-age reclaim, after DAMON_RECLAIM (Linux `mm/damon/reclaim.c`): page out regions that
/// have not been accessed for at least `min_age`, oldest first, within a quota of bytes per
/// second, and only while free memory sits between the watermarks.
///
/// Watermarks follow DAMOS (`damos_wmark_wait_us`) with free memory / total memory as the
/// metric, in fractions (DAMON writes permil: 500/400/200 are 0.5/0.4/0.2 here):
/// - above `wmark_high` or below `wmark_low`: inactive (plenty of memory, or so little that
///   the kernel's own reclaim does better);
/// - an inactive policy becomes active only when the metric falls below `wmark_mid`;
/// - an active policy stays active anywhere from `wmark_low` to `wmark_high` (hysteresis).
/// `wmark_high=1,wmark_mid=1,wmark_low=0` makes the policy always active.
///
/// Quota: each decision may advise `quota × period` bytes, charged by the resident bytes of
/// each chosen region; a region larger than what is left is cut to its first pages (DAMOS
/// splits regions to fit the quota). Under the quota, older regions go first (DAMON_RECLAIM
/// prioritises by age), ties by lower address.
public struct ColdAgeReclaim: PagingPolicy {
    public static let name = "cold-age"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("min_age", "a region is cold after this long without access (default 120s, DAMON_RECLAIM's)"),
        ("quota", "bytes per second that may be advised (default 128MiB, DAMON_RECLAIM's quota_sz per 1 s)"),
        ("wmark_high", "free-memory fraction above which the policy is inactive (default 0.5)"),
        ("wmark_mid", "free-memory fraction below which an inactive policy activates (default 0.4)"),
        ("wmark_low", "free-memory fraction below which the policy is inactive (default 0.2)"),
        ("action", "pageout (default) or cold"),
    ]

    public let minAge: UInt64
    public let quotaBytesPerSecond: Int64
    public let high: Double, mid: Double, low: Double
    public let advice: PagingAdvice
    /// Whether the watermarks have activated the policy (DAMOS `wmarks.activated`).
    public private(set) var active = false

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        minAge = try parameters.duration("min_age", default: 120_000_000_000)
        quotaBytesPerSecond = try parameters.bytes("quota", default: 128 << 20)
        high = try parameters.double("wmark_high", default: 0.5, in: 0...1)
        mid = try parameters.double("wmark_mid", default: 0.4, in: 0...1)
        low = try parameters.double("wmark_low", default: 0.2, in: 0...1)
        advice = try parameters.choice("action", default: "pageout", from: ["pageout", "cold"]) == "cold" ? .cold : .pageout
        try parameters.finish(known: Self.parameterHelp.map(\.key))
        guard low <= mid, mid <= high else {
            throw PolicyError("\(Self.name): watermarks must satisfy wmark_low <= wmark_mid <= wmark_high (got \(low), \(mid), \(high))")
        }
        guard quotaBytesPerSecond > 0 else { throw PolicyError("\(Self.name): quota must be positive") }
    }

    public var label: String {
        "\(Self.name)(min_age=\(DurationText.format(minAge)),quota=\(quotaBytesPerSecond)B/s,wmarks=\(high)/\(mid)/\(low)\(advice == .cold ? ",action=cold" : ""))"
    }

    /// Applies DAMOS's watermark rule to `metric` and returns whether the policy acts now.
    public mutating func updateWatermarks(metric: Double) -> Bool {
        if metric > high || metric < low {
            active = false
        } else if !active && metric >= mid {
            // Inactive and between mid and high: wait.
        } else {
            active = true
        }
        return active
    }

    public mutating func decide(_ snapshot: HeatSnapshot) -> [PagingAction] {
        guard updateWatermarks(metric: snapshot.freeFraction) else { return [] }
        let budget = Int64((Double(quotaBytesPerSecond) * Double(snapshot.periodNanoseconds) / 1e9).rounded(.down))
        let cold = snapshot.regions.enumerated()
            .filter { $0.element.accesses == 0 && $0.element.ageNanoseconds >= minAge && $0.element.residentPages > 0 }
            .sorted { a, b in
                a.element.ageNanoseconds != b.element.ageNanoseconds
                    ? a.element.ageNanoseconds > b.element.ageNanoseconds : a.element.start < b.element.start
            }
        return PagingAction.spending(budget, on: cold.lazy.map(\.element), advice: advice, pageSize: snapshot.pageSize)
    }
}
