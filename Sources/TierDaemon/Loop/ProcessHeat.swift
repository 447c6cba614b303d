import TierCore

/// A page's state as pagemap shows it.
enum PageState: UInt8 {
    case absent = 0
    case present = 1
    case swapped = 2
    /// Advised out by the daemon, yet present when verified: touched again at once. Only
    /// kept between periods; a fault on it counts as a refault.
    case advisedOut = 3
}

/// One anonymous VMA of a process as read in one period.
struct VMAObservation {
    var start: UInt64
    /// Per-page states (`PageState` raw values), one per page of the VMA.
    var states: [UInt8]
    /// smaps `Referenced` since the last `clear_refs`: bytes of the VMA touched in the period.
    var referencedBytes: Int64
}

/// The heat model of one process: turns per-period observations (pagemap states, per-VMA
/// referenced bytes, the recorder's faults) into the regions a paging policy reads.
///
/// The kernel here offers no per-page access bits for resident pages (no idle page tracking,
/// no soft-dirty, no DAMON for virtual addresses), so access is known per page only when it
/// faults, and per VMA from the referenced bits. The model combines the two:
/// - a region is accessed in a period when one of its pages faulted (first touch or refault);
/// - a region whose paged-out pages refaulted is *proven hot*; while its VMA is still
///   referenced, proven-hot regions count as accessed, the most recently proven first, up to
///   the VMA's referenced bytes (so marks that outlive a moving hot set are dropped);
/// - a region's age is the time since it was last accessed (from when it was first seen).
/// Resident memory whose access is unknown thus ages and gets paged out once; if it was hot,
/// it refaults, is proven hot and stays. That is the probe a policy pays for hot memory.
struct ProcessHeat {
    let regionPages: Int
    let pageSize: Int
    /// Per-VMA page states at the end of the last period (after its actions).
    private(set) var states: [UInt64: [UInt8]] = [:]
    private var memory: [UInt64: RegionMemory] = [:]

    struct RegionMemory {
        var lastAccess: UInt64
        var provenHotAt: UInt64?
    }

    /// What one period's observation gives the policy.
    struct Observation {
        var regions: [PageRegion] = []
        var refaultAddresses: [UInt64] = []
        var refaults = 0
        var residentPages = 0
        var swappedPages = 0
    }

    init(regionPages: Int = 64, pageSize: Int = 4096) {
        self.regionPages = regionPages
        self.pageSize = pageSize
    }

    /// Builds the regions of this period. `faults` maps virtual page numbers to fault counts
    /// in the period (from the recorder; empty without it).
    mutating func observe(_ vmas: [VMAObservation], faults: [UInt64: Int], now: UInt64) -> Observation {
        var out = Observation()
        var nextMemory: [UInt64: RegionMemory] = [:]
        var nextStates: [UInt64: [UInt8]] = [:]
        let page = UInt64(pageSize)
        for vma in vmas.sorted(by: { $0.start < $1.start }) {
            let previous = states[vma.start].flatMap { $0.count == vma.states.count ? $0 : nil }
            var rows: [(region: PageRegion, faulted: Bool, refaulted: Bool)] = []
            var first = 0
            while first < vma.states.count {
                let end = min(first + regionPages, vma.states.count)
                var region = PageRegion(start: vma.start + UInt64(first) * page, pages: end - first)
                var faulted = 0
                for p in first..<end {
                    let s = vma.states[p]
                    if s == PageState.present.rawValue { region.residentPages += 1 } else if s == PageState.swapped.rawValue { region.swappedPages += 1 }
                    let address = vma.start + UInt64(p) * page
                    let faultCount = faults.isEmpty ? 0 : faults[address / page] ?? 0
                    faulted += faultCount
                    let before = previous?[p] ?? PageState.absent.rawValue
                    if (before == PageState.swapped.rawValue && (s == PageState.present.rawValue || faultCount > 0))
                        || (before == PageState.advisedOut.rawValue && faultCount > 0) {
                        region.refaults += 1
                        out.refaultAddresses.append(address)
                    }
                }
                region.accesses = faulted + region.refaults
                rows.append((region, faulted > 0, region.refaults > 0))
                first = end
            }

            // Proven-hot marks kept: refaulted now, or the most recent others within the
            // VMA's referenced bytes.
            var keep = Set<UInt64>()
            if vma.referencedBytes > 0 {
                let regionBytes = Int64(regionPages) * Int64(pageSize)
                var budget = vma.referencedBytes + regionBytes
                let marked = rows.compactMap { row -> (UInt64, UInt64, Int64)? in
                    guard !row.refaulted, let at = memory[row.region.start]?.provenHotAt else { return nil }
                    return (row.region.start, at, Int64(row.region.residentPages) * Int64(pageSize))
                }.sorted { $0.1 > $1.1 }
                for (start, _, resident) in marked where resident <= budget {
                    keep.insert(start)
                    budget -= resident
                }
            }

            for row in rows {
                var region = row.region
                var remembered = memory[region.start] ?? RegionMemory(lastAccess: now, provenHotAt: nil)
                if row.refaulted {
                    remembered.provenHotAt = now
                } else if !keep.contains(region.start) {
                    remembered.provenHotAt = nil
                }
                let hotByReference = keep.contains(region.start) && region.residentPages > 0
                if hotByReference { region.accesses += region.residentPages }
                if row.faulted || row.refaulted || hotByReference { remembered.lastAccess = now }
                region.ageNanoseconds = now >= remembered.lastAccess ? now - remembered.lastAccess : 0
                nextMemory[region.start] = remembered
                out.regions.append(region)
                out.refaults += region.refaults
                out.residentPages += region.residentPages
                out.swappedPages += region.swappedPages
            }
            nextStates[vma.start] = vma.states
        }
        memory = nextMemory
        states = nextStates
        return out
    }

    /// Records page states read after actions, so the next period sees those pages as
    /// swapped and counts their faults as refaults.
    mutating func update(vmaStart: UInt64, firstPage: Int, states newStates: [UInt8]) {
        guard var current = states[vmaStart] else { return }
        for (i, s) in newStates.enumerated() where firstPage + i < current.count {
            current[firstPage + i] = s
        }
        states[vmaStart] = current
    }

    /// The VMA holding `address`, with the index of its page.
    func locate(_ address: UInt64) -> (vmaStart: UInt64, page: Int)? {
        let page = UInt64(pageSize)
        for (start, s) in states where address >= start && address < start + UInt64(s.count) * page {
            return (start, Int((address - start) / page))
        }
        return nil
    }

    /// The states of `pages` pages from `address`, as last observed.
    func states(at address: UInt64, pages: Int) -> [UInt8] {
        guard let (start, index) = locate(address), let s = states[start] else { return [] }
        return Array(s[index..<min(s.count, index + pages)])
    }
}
