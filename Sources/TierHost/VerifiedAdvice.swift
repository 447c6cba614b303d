import TierCore

/// An advice and what it measurably did: process_madvise reports bytes it accepted even when
/// nothing moves (MADV_PAGEOUT with no swap, pages already out, pages never touched), so the
/// ranges' pagemap counts are taken before and after.
public struct VerifiedAdvice: Sendable, Equatable {
    public var advice: PagingAdvice
    public var result: AdviseResult
    /// Counts over the advised ranges before and after.
    public var before: PageCounts
    public var after: PageCounts

    public init(advice: PagingAdvice, result: AdviseResult, before: PageCounts, after: PageCounts) {
        self.advice = advice
        self.result = result
        self.before = before
        self.after = after
    }

    /// Pages that measurably moved: into swap for pageout; out of swap for willneed (read into
    /// the swap cache, pagemap still says swapped until touched, so this counts only pages
    /// already mapped again); 0 for cold, which moves nothing by itself.
    public var pagesMoved: Int {
        switch advice {
        case .pageout: return max(0, after.swapped - before.swapped)
        case .willneed: return max(0, after.present - before.present)
        case .cold: return 0
        }
    }

    /// Pages the advice could have moved but did not: for pageout, those present before and
    /// still present after. Non-zero with no swap, for pages the kernel could not reclaim
    /// (locked, shared, under writeback) or that were touched again meanwhile.
    public var pagesNotMoved: Int {
        switch advice {
        case .pageout: return max(0, before.present - pagesMoved)
        case .willneed, .cold: return 0
        }
    }
}

extension ProcessHandle {
    /// Advises `ranges` and counts in `pageMap` (this process's) what moved.
    public func adviseVerified(_ ranges: [AddressRange], _ advice: PagingAdvice, pageMap: PageMap) throws(SystemCallError) -> VerifiedAdvice {
        var before = PageCounts()
        for r in ranges { before = before + (try pageMap.counts(r)) }
        let result = try advise(ranges, advice)
        var after = PageCounts()
        for r in ranges { after = after + (try pageMap.counts(r)) }
        return VerifiedAdvice(advice: advice, result: result, before: before, after: after)
    }
}
