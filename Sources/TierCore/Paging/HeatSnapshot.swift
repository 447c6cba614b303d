/// One address range of a target process as a paging policy sees it: how much of it is in
/// memory, how much in swap, and how recently and how often it was used.
///
/// The daemon builds regions from VMAs (split as it likes), pagemap (resident/swapped),
/// referenced bits and the recorder's faults; the offline simulator builds them from its own
/// page table. Policies see only this, so the same policy runs in both places.
public struct PageRegion: Sendable, Equatable {
    /// First byte of the region (page-aligned).
    public var start: UInt64
    /// Length in pages.
    public var pages: Int
    /// Pages present in memory now.
    public var residentPages: Int
    /// Pages in swap now.
    public var swappedPages: Int
    /// Accesses seen during the last period (faults, referenced pages or sampled accesses:
    /// what matters to a policy is zero versus non-zero and the relative size).
    public var accesses: Int
    /// Nanoseconds since the region was last seen accessed (0 when accessed in the last period).
    public var ageNanoseconds: UInt64
    /// Refaults (faults on pages that had been paged out) during the last period.
    public var refaults: Int

    public init(start: UInt64, pages: Int, residentPages: Int = 0, swappedPages: Int = 0,
                accesses: Int = 0, ageNanoseconds: UInt64 = 0, refaults: Int = 0) {
        self.start = start
        self.pages = pages
        self.residentPages = residentPages
        self.swappedPages = swappedPages
        self.accesses = accesses
        self.ageNanoseconds = ageNanoseconds
        self.refaults = refaults
    }

    /// One past the last byte, for a page size.
    @inlinable public func end(pageSize: Int) -> UInt64 { start + UInt64(pages) * UInt64(pageSize) }
}

/// What a paging policy knows at one decision point.
public struct HeatSnapshot: Sendable, Equatable {
    /// Nanoseconds on the caller's clock (monotonic for the daemon, trace time offline).
    public var time: UInt64
    /// Nanoseconds since the previous snapshot (the period), for turning rates into amounts.
    public var periodNanoseconds: UInt64
    /// Bytes per page.
    public var pageSize: Int
    /// Memory the policy manages against: the host's MemTotal live, the simulated memory offline.
    public var totalMemory: Int64
    /// Free memory in bytes (MemAvailable live; free simulated frames offline).
    public var freeMemory: Int64
    /// PSI memory `some` avg10 (percent of time stalled), when the kernel offers PSI.
    public var psiSomeAvg10: Double?
    /// Refaults per second over the last period (for the whole target).
    public var refaultRate: Double
    /// Regions in ascending address order, not overlapping.
    public var regions: [PageRegion]
    /// Page-aligned addresses of the refaults of the last period, oldest first (may be a
    /// bounded suffix). Prefetching policies look for a trend in them.
    public var refaultAddresses: [UInt64]

    public init(time: UInt64, periodNanoseconds: UInt64 = 1_000_000_000, pageSize: Int = 4096,
                totalMemory: Int64, freeMemory: Int64, psiSomeAvg10: Double? = nil,
                refaultRate: Double = 0, regions: [PageRegion], refaultAddresses: [UInt64] = []) {
        self.time = time
        self.periodNanoseconds = periodNanoseconds
        self.pageSize = pageSize
        self.totalMemory = totalMemory
        self.freeMemory = freeMemory
        self.psiSomeAvg10 = psiSomeAvg10
        self.refaultRate = refaultRate
        self.regions = regions
        self.refaultAddresses = refaultAddresses
    }

    /// Free memory as a fraction of total (0 when total is unknown).
    public var freeFraction: Double {
        totalMemory > 0 ? Double(freeMemory) / Double(totalMemory) : 0
    }
}

/// The advice a paging action gives the kernel (the `madvise` advice values that make sense
/// for another process through `process_madvise`).
public enum PagingAdvice: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Reclaim now (MADV_PAGEOUT): anonymous pages go to swap.
    case pageout
    /// Deactivate (MADV_COLD): first in line at the next reclaim.
    case cold
    /// Read ahead (MADV_WILLNEED): swap the pages back in before they are touched.
    case willneed

    public var description: String { rawValue }
}

/// One thing a paging policy wants done: advice over `[start, start + length)`.
public struct PagingAction: Sendable, Equatable, CustomStringConvertible {
    public var advice: PagingAdvice
    /// First byte (page-aligned).
    public var start: UInt64
    /// Length in bytes (a multiple of the page size).
    public var length: UInt64

    public init(_ advice: PagingAdvice, start: UInt64, length: UInt64) {
        self.advice = advice
        self.start = start
        self.length = length
    }

    public var description: String {
        "\(advice) 0x\(String(start, radix: 16))+\(length)"
    }
}
