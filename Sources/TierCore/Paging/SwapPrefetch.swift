/// Swap-in prefetch, after Leap (Al Maruf & Chowdhury, USENIX ATC 2020): find the majority
/// stride among recent refault addresses and read ahead along it with MADV_WILLNEED.
///
/// The policy keeps the last `window` refault page addresses across periods. Like Leap's
/// FINDTREND it looks for a majority delta (Boyer–Moore vote, then a count: more than half)
/// first among the newest `window/4` deltas, doubling the span up to the whole history, so a
/// fresh trend wins over an old one. With a non-zero trend `s` (in pages) it advises
/// `depth` pages ahead of the newest refault: `a + s, a + 2s, …, a + depth·s`, keeping only
/// pages inside regions that have swapped pages, and merging adjacent pages into one range.
/// No trend, no action (Leap falls back to no prefetch rather than guessing).
public struct SwapPrefetch: PagingPolicy {
    public static let name = "prefetch"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("window", "refault addresses kept to look for a trend (default 32, at least 2)"),
        ("depth", "pages to read ahead along the trend (default 8)"),
    ]

    public let window: Int
    public let depth: Int
    /// Page numbers (address / page size) of recent refaults, oldest first.
    public private(set) var history: [Int64] = []

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        window = try parameters.int("window", default: 32, in: 2...4096)
        depth = try parameters.int("depth", default: 8, in: 1...65536)
        try parameters.finish(known: Self.parameterHelp.map(\.key))
    }

    public var label: String { "\(Self.name)(window=\(window),depth=\(depth))" }

    /// The majority delta (in pages) of the newest deltas of `history`, searched as described
    /// above; nil when no span has one or it is zero.
    public static func trend(_ history: [Int64], window: Int) -> Int64? {
        guard history.count >= 2 else { return nil }
        var deltas: [Int64] = []
        deltas.reserveCapacity(history.count - 1)
        for i in 1..<history.count { deltas.append(history[i] - history[i - 1]) }
        var span = max(1, min(deltas.count, (window - 1) / 4))
        while true {
            let recent = deltas[(deltas.count - span)...]
            var candidate: Int64 = 0, votes = 0
            for d in recent {
                if votes == 0 { candidate = d; votes = 1 } else if d == candidate { votes += 1 } else { votes -= 1 }
            }
            if votes > 0, recent.reduce(0, { $0 + ($1 == candidate ? 1 : 0) }) * 2 > span, candidate != 0 {
                return candidate
            }
            if span == deltas.count { return nil }
            span = min(deltas.count, span * 2)
        }
    }

    public mutating func decide(_ snapshot: HeatSnapshot) -> [PagingAction] {
        guard !snapshot.refaultAddresses.isEmpty else { return [] }
        let shift = UInt64(snapshot.pageSize)
        for a in snapshot.refaultAddresses { history.append(Int64(a / shift)) }
        if history.count > window { history.removeFirst(history.count - window) }
        guard let stride = Self.trend(history, window: window), let last = history.last else { return [] }
        let swapped = snapshot.regions.filter { $0.swappedPages > 0 }
        func inSwappedRegion(_ page: Int64) -> Bool {
            guard page >= 0 else { return false }
            let address = UInt64(page) * shift
            // Regions are sorted: binary search for the last region starting at or below address.
            var lo = 0, hi = swapped.count
            while lo < hi {
                let m = (lo + hi) / 2
                if swapped[m].start <= address { lo = m + 1 } else { hi = m }
            }
            return lo > 0 && address < swapped[lo - 1].end(pageSize: snapshot.pageSize)
        }
        var pages: [Int64] = []
        for k in 1...depth {
            let (p, overflow) = last.addingReportingOverflow(stride * Int64(k))
            if !overflow, inSwappedRegion(p) { pages.append(p) }
        }
        pages.sort()
        var actions: [PagingAction] = []
        for p in pages {
            let address = UInt64(p) * shift
            if let lastAction = actions.last, lastAction.start + lastAction.length == address {
                actions[actions.count - 1].length += shift
            } else {
                actions.append(PagingAction(.willneed, start: address, length: shift))
            }
        }
        return actions
    }
}
