/// A page-level memory simulator that runs a paging policy offline, on a stream of page
/// accesses (a recorded `.tkt` trace), the way the daemon runs it live.
///
/// The simulated machine has `memoryPages` frames. The first access to a page is a fault;
/// an access to a page that was paged out (by the policy or by the "kernel") is a refault.
/// When memory is full the kernel reclaims the least recently used resident page (exact LRU:
/// a model of Linux's active/inactive lists without their second-chance details).
/// Every `period` of trace time the policy gets a ``HeatSnapshot`` of the simulation and its
/// actions are applied at once:
/// - `pageout` pages the range's resident pages out (they become swapped);
/// - `cold` moves them to the LRU tail, first in line for the kernel's reclaim;
/// - `willneed` brings the range's swapped pages back in (evicting LRU pages if memory is
///   full) and marks them prefetched; the first access to a prefetched page is a prefetch hit.
///
/// Snapshot regions are aligned blocks of `regionPages` pages that hold at least one page
/// seen so far. A region's `accesses` counts its accesses in the period, its age is the time
/// since its most recent access, and `refaultAddresses` lists the period's refaults in order.
public struct PagingSimulator {
    /// How the simulation is set up.
    public struct Configuration: Sendable, Equatable {
        /// Frames of simulated memory.
        public var memoryPages: Int
        /// Trace time between policy decisions, nanoseconds.
        public var periodNanoseconds: UInt64
        /// Bytes per page (the trace's page size).
        public var pageSize: Int
        /// Pages per snapshot region (aligned).
        public var regionPages: Int
        /// Most refault addresses a snapshot carries (the newest).
        public var maxRefaultAddresses: Int

        public init(memoryPages: Int, periodNanoseconds: UInt64 = 1_000_000_000, pageSize: Int = 4096,
                    regionPages: Int = 16, maxRefaultAddresses: Int = 4096) {
            self.memoryPages = memoryPages
            self.periodNanoseconds = periodNanoseconds
            self.pageSize = pageSize
            self.regionPages = regionPages
            self.maxRefaultAddresses = maxRefaultAddresses
        }
    }

    /// Totals of a run.
    public struct Counts: Sendable, Equatable {
        /// Page accesses simulated.
        public var accesses: Int64 = 0
        /// First touches.
        public var faults: Int64 = 0
        /// Accesses to pages that had been paged out.
        public var refaults: Int64 = 0
        /// First accesses to pages a `willneed` brought in.
        public var prefetchHits: Int64 = 0
        /// Pages `willneed` brought in.
        public var prefetched: Int64 = 0
        /// Pages the policy paged out.
        public var pagedOut: Int64 = 0
        /// Pages the kernel reclaimed because memory was full.
        public var reclaimed: Int64 = 0
        /// Policy decisions made.
        public var periods: Int64 = 0
        public init() {}
    }

    /// The state at the end of one period.
    public struct Sample: Sendable, Equatable {
        /// Trace time of the period's end, nanoseconds since the first access.
        public var time: UInt64
        public var residentPages: Int
        public var swappedPages: Int
        /// Cumulative counts so far.
        public var faults: Int64
        public var refaults: Int64
        public var prefetchHits: Int64
        public var pagedOut: Int64
    }

    public let configuration: Configuration
    public private(set) var policy: (any PagingPolicy)?
    public private(set) var counts = Counts()
    public private(set) var samples: [Sample] = []

    private enum State: UInt8 { case resident = 1, swapped = 2 }
    private var index: [UInt64: Int32] = [:]
    private var pageNumber: [UInt64] = []
    private var state: [State] = []
    private var lastAccess: [UInt64] = []
    private var prefetchedFlag: [Bool] = []
    private var periodAccesses: [Int32] = []
    private var periodRefaults: [Int32] = []
    // LRU list of resident pages: head is most recent.
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1
    private var resident = 0
    private var swapped = 0
    private var startTime: UInt64?
    private var now: UInt64 = 0
    private var nextDecision: UInt64 = 0
    private var refaultsThisPeriod: [UInt64] = []
    private var refaultCountThisPeriod = 0

    /// A simulator with `policy` (nil: the kernel's LRU alone, the baseline).
    public init(configuration: Configuration, policy: (any PagingPolicy)?) {
        precondition(configuration.memoryPages > 0 && configuration.regionPages > 0 && configuration.periodNanoseconds > 0)
        self.configuration = configuration
        self.policy = policy
    }

    /// Pages resident now.
    public var residentPages: Int { resident }
    /// Pages paged out now.
    public var swappedPages: Int { swapped }

    /// One access to page number `page` (address / page size) at trace time `time` (ns).
    /// Times going backwards are taken as the latest time seen.
    public mutating func access(page: UInt64, time: UInt64) {
        if startTime == nil {
            startTime = time
            now = time
            nextDecision = time + configuration.periodNanoseconds
        }
        now = max(now, time)
        while now >= nextDecision {
            decide(at: nextDecision)
            nextDecision += configuration.periodNanoseconds
        }
        counts.accesses += 1
        if let i32 = index[page] {
            let i = Int(i32)
            switch state[i] {
            case .resident:
                if prefetchedFlag[i] {
                    prefetchedFlag[i] = false
                    counts.prefetchHits += 1
                }
                unlink(i32)
                pushHead(i32)
            case .swapped:
                counts.refaults += 1
                periodRefaults[i] += 1
                refaultCountThisPeriod += 1
                refaultsThisPeriod.append(page * UInt64(configuration.pageSize))
                if refaultsThisPeriod.count > 2 * configuration.maxRefaultAddresses {
                    refaultsThisPeriod.removeFirst(refaultsThisPeriod.count - configuration.maxRefaultAddresses)
                }
                swapped -= 1
                makeResident(i32)
            }
            lastAccess[i] = now
            periodAccesses[i] += 1
        } else {
            counts.faults += 1
            let i32 = Int32(pageNumber.count)
            index[page] = i32
            pageNumber.append(page)
            state.append(.resident)
            lastAccess.append(now)
            prefetchedFlag.append(false)
            periodAccesses.append(1)
            periodRefaults.append(0)
            prev.append(-1)
            next.append(-1)
            makeResident(i32, isNew: true)
        }
    }

    /// Runs the decisions due up to `time` (the trace's end) and returns the counts.
    public mutating func finish(at time: UInt64? = nil) -> Counts {
        if let time, startTime != nil {
            while time >= nextDecision {
                decide(at: nextDecision)
                nextDecision += configuration.periodNanoseconds
            }
        }
        return counts
    }

    // MARK: memory

    private mutating func makeResident(_ i: Int32, isNew: Bool = false) {
        while resident >= configuration.memoryPages, tail >= 0 {
            let victim = tail
            pageOut(victim)
            counts.reclaimed += 1
        }
        state[Int(i)] = .resident
        resident += 1
        pushHead(i)
    }

    private mutating func pageOut(_ i: Int32) {
        unlink(i)
        state[Int(i)] = .swapped
        prefetchedFlag[Int(i)] = false
        resident -= 1
        swapped += 1
    }

    private mutating func pushHead(_ i: Int32) {
        prev[Int(i)] = -1
        next[Int(i)] = head
        if head >= 0 { prev[Int(head)] = i }
        head = i
        if tail < 0 { tail = i }
    }

    private mutating func pushTail(_ i: Int32) {
        next[Int(i)] = -1
        prev[Int(i)] = tail
        if tail >= 0 { next[Int(tail)] = i }
        tail = i
        if head < 0 { head = i }
    }

    private mutating func unlink(_ i: Int32) {
        let p = prev[Int(i)], n = next[Int(i)]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
        prev[Int(i)] = -1
        next[Int(i)] = -1
    }

    // MARK: decisions

    /// The snapshot the policy would see at `time`.
    public func snapshot(at time: UInt64) -> HeatSnapshot {
        let rp = UInt64(configuration.regionPages)
        var regions: [UInt64: PageRegion] = [:]
        var newest: [UInt64: UInt64] = [:]
        for i in 0..<pageNumber.count {
            let block = pageNumber[i] / rp
            var r = regions[block] ?? PageRegion(start: block * rp * UInt64(configuration.pageSize), pages: configuration.regionPages)
            if state[i] == .resident { r.residentPages += 1 } else { r.swappedPages += 1 }
            r.accesses += Int(periodAccesses[i])
            r.refaults += Int(periodRefaults[i])
            regions[block] = r
            newest[block] = max(newest[block] ?? 0, lastAccess[i])
        }
        var list: [PageRegion] = []
        list.reserveCapacity(regions.count)
        for (block, var r) in regions {
            r.ageNanoseconds = r.accesses > 0 ? 0 : time - min(time, newest[block] ?? time)
            list.append(r)
        }
        list.sort { $0.start < $1.start }
        let period = configuration.periodNanoseconds
        let pageSize = Int64(configuration.pageSize)
        return HeatSnapshot(
            time: time - (startTime ?? time), periodNanoseconds: period, pageSize: configuration.pageSize,
            totalMemory: Int64(configuration.memoryPages) * pageSize,
            freeMemory: Int64(configuration.memoryPages - resident) * pageSize,
            psiSomeAvg10: nil, refaultRate: Double(refaultCountThisPeriod) / (Double(period) / 1e9),
            regions: list, refaultAddresses: Array(refaultsThisPeriod.suffix(configuration.maxRefaultAddresses)))
    }

    private mutating func decide(at time: UInt64) {
        counts.periods += 1
        if var p = policy {
            let actions = p.decide(snapshot(at: time))
            policy = p
            for a in actions { apply(a) }
        }
        for i in 0..<periodAccesses.count {
            periodAccesses[i] = 0
            periodRefaults[i] = 0
        }
        refaultsThisPeriod.removeAll(keepingCapacity: true)
        refaultCountThisPeriod = 0
        samples.append(Sample(time: time - (startTime ?? time), residentPages: resident, swappedPages: swapped,
                              faults: counts.faults, refaults: counts.refaults, prefetchHits: counts.prefetchHits,
                              pagedOut: counts.pagedOut))
    }

    /// Applies one action to the simulated memory.
    public mutating func apply(_ action: PagingAction) {
        let ps = UInt64(configuration.pageSize)
        let first = action.start / ps
        let end = (action.start + action.length + ps - 1) / ps
        guard end > first else { return }
        for page in first..<end {
            guard let i = index[page] else { continue }
            switch (action.advice, state[Int(i)]) {
            case (.pageout, .resident):
                pageOut(i)
                counts.pagedOut += 1
            case (.cold, .resident):
                unlink(i)
                pushTail(i)
            case (.willneed, .swapped):
                swapped -= 1
                makeResident(i)
                prefetchedFlag[Int(i)] = true
                counts.prefetched += 1
            default:
                break
            }
        }
    }
}

extension PagingSimulator {
    /// Replays the access records of a `.tkt` trace (faults and accesses; the kernel's own
    /// events are skipped) through a simulator and returns it finished. Pages are simulated in
    /// one address space: give `pid` to keep one process of a multi-process trace.
    public static func replay(_ reader: inout PageTraceReader, configuration: Configuration,
                              policy: (any PagingPolicy)?, pid: UInt32? = nil) throws(TraceError) -> PagingSimulator {
        var sim = PagingSimulator(configuration: configuration, policy: policy)
        let shift = reader.header.pageShift
        var last: UInt64 = 0
        while let r = try reader.next() {
            guard r.kind.isAccess, pid == nil || r.pid == pid else { continue }
            sim.access(page: r.address >> UInt64(shift), time: r.time)
            last = max(last, r.time)
        }
        _ = sim.finish(at: last)
        return sim
    }
}
