import CLibBPF
import CTierShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Records the user page faults of chosen processes (or of a cgroup) with
/// `tp_btf/page_fault_user`, either streaming each fault or counting per page in the kernel,
/// and, when chosen, the other page-event sources (reclaim, writeback, page cache, LRU,
/// migration, DAMON), streamed as `pageEvents`.
///
/// Order of use: `init` (loads, attaches nothing), `addTarget` for each process, `attach()`,
/// let the workload run, `detach()`, then read `counters()` and either consume `faults` (stream
/// mode, which finishes after `detach()`) or `pageStatistics()` (aggregate mode), and
/// `pageEvents`. Not thread-safe: one owner.
public final class PageFaultRecorder {
    /// How faults reach user space.
    public enum Mode: Sendable {
        /// One record per fault through a ring buffer; `counters().lost` counts drops.
        case stream
        /// Per-page count, first/last time and kinds in a kernel hash map; nothing per fault.
        case aggregate
    }

    /// What the recorder watches and how.
    public struct Options: Sendable {
        public var mode: Mode
        /// Record only these processes (thread group ids); more can be added after `init`.
        /// When false, every process (subject to `cgroup`) is recorded.
        public var filterByPID: Bool
        /// Processes forked by a target become targets (in the kernel, before they run).
        public var followForks: Bool
        /// Record only tasks in this cgroup v2 or below it.
        public var cgroup: CgroupV2?
        /// Ring buffer size in bytes: a power of two, at least a page.
        public var ringBufferBytes: Int
        /// Aggregate mode: capacity of the page map, in groups of `TK_GROUP_PAGES` neighbouring
        /// pages, so room for at least this many pages however scattered (kernel memory is
        /// taken as groups appear).
        public var maxPages: Int
        /// Stream mode: each CPU wakes the reader once per this many bytes of its faults
        /// (rounded down to a power of two; else the reader finds them at its next poll
        /// timeout, 50 ms); 0 wakes it for every fault.
        public var wakeupBytes: Int
        /// What to record. Refault detection needs `faults`.
        public var sources: PageEventSources
        /// Size of the ring buffer of the other sources' events: a power of two, at least a page.
        public var pageEventRingBufferBytes: Int
        /// Events of kernel threads (kswapd, kcompactd, kdamond, writeback workers) pass the
        /// target filters: they act on every process's pages. Faults are never from them.
        public var kernelThreads: Bool

        public init(mode: Mode, filterByPID: Bool = true, followForks: Bool = false, cgroup: CgroupV2? = nil,
                    ringBufferBytes: Int = 64 << 20, maxPages: Int = 1 << 20, wakeupBytes: Int = 256 << 10,
                    sources: PageEventSources = [.faults, .refaults], pageEventRingBufferBytes: Int = 8 << 20,
                    kernelThreads: Bool = true) {
            self.mode = mode
            self.filterByPID = filterByPID
            self.followForks = followForks
            self.cgroup = cgroup
            self.ringBufferBytes = ringBufferBytes
            self.maxPages = maxPages
            self.wakeupBytes = wakeupBytes
            self.sources = sources
            self.pageEventRingBufferBytes = pageEventRingBufferBytes
            self.kernelThreads = kernelThreads
        }
    }

    public let options: Options
    private let object: BPFObject
    /// The target bitmap (`target_bits`), mapped shared with the programs.
    private let targetWords: UnsafeMutablePointer<UInt64>
    private let targetWordCount: Int
    private let targetMappingBytes: Int
    private let pages: BPFMap
    private let counterMap: BPFMap
    private var links: [BPFLink] = []
    private let reader: RingBufferReader<tk_fault_event>?
    private let eventReader: RingBufferReader<tk_page_event>?

    /// Opens and loads the embedded `page_faults` programs of the chosen sources with
    /// `options`; attaches nothing.
    public init(options: Options) throws(BPFError) {
        self.options = options
        let sources = options.sources
        guard !sources.isEmpty else { throw BPFError("choose sources", errno: EINVAL, detail: "no source chosen") }
        if sources.contains(.refaults) && !sources.contains(.faults) {
            throw BPFError("choose sources", errno: EINVAL, detail: "refaults are detected on faults: add the faults source")
        }
        let object = try BPFObject(elf: EmbeddedBPFObjects.bytes(EmbeddedBPFObjects.pageFaults), name: "page_faults")
        let layout = KernelLayout.current()
        var config = tk_config()
        config.mode = options.mode == .stream ? UInt32(TK_MODE_STREAM.rawValue) : UInt32(TK_MODE_AGGREGATE.rawValue)
        config.filter_pids = options.filterByPID ? 1 : 0
        config.cgroup_id = options.cgroup?.id ?? 0
        config.cgroup_level = options.cgroup?.level ?? 0
        config.page_shift = 12
        config.follow_forks = options.followForks ? 1 : 0
        // A power of two of whole events, at most half the ring: each CPU wakes the reader once
        // per that many bytes of its own faults.
        let wakeup = min(options.wakeupBytes, options.ringBufferBytes / 4)
        config.wakeup_bytes = wakeup < MemoryLayout<tk_fault_event>.size ? 0 : UInt32(1 << (Int.bitWidth - 1 - wakeup.leadingZeroBitCount))
        config.detect_refaults = sources.contains(.refaults) ? 1 : 0
        config.pgtable_levels = layout.pageTableLevels
        config.page_offset = layout.pageOffset
        config.page_offset_symbol = layout.pageOffsetSymbol
        config.vmemmap_base = layout.vmemmapBase
        config.vmemmap_symbol = layout.vmemmapSymbol
        config.sources = sources.intersection(.pageEventSources).rawValue
        config.kernel_threads = options.kernelThreads ? 1 : 0
        // Lets the refault check skip the page-table walk for processes without swap entries.
        config.possible_cpus = UInt32(max(0, libbpf_num_possible_cpus()))
        try object.setReadOnlyGlobal("tk_config", to: config)
        try object.program("tk_process_fork").setAutoload(options.followForks && options.filterByPID)
        for (source, programs) in PageEventSources.programs {
            for program in programs { try object.program(program).setAutoload(sources.contains(source)) }
        }

        let events = try object.map("events")
        let pageEvents = try object.map("page_events")
        let pages = try object.map("pages")
        // The structures of modes and sources not chosen are kept minimal.
        let streamFaults = options.mode == .stream && sources.contains(.faults)
        let streamEvents = !sources.isDisjoint(with: .pageEventSources)
        try events.setMaxEntries(streamFaults ? options.ringBufferBytes : Int(getpagesize()))
        try pageEvents.setMaxEntries(streamEvents ? options.pageEventRingBufferBytes : Int(getpagesize()))
        try pages.setMaxEntries(options.mode == .aggregate && sources.contains(.faults) ? options.maxPages : 1)
        let targetBits = try object.map("target_bits")
        let wordCount = (Self.pidMax() + 63) / 64
        try targetBits.setMaxEntries(wordCount)
        try object.load()

        let mappingBytes = (wordCount * 8 + Int(getpagesize()) - 1) / Int(getpagesize()) * Int(getpagesize())
        guard let mapping = mmap(nil, mappingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, targetBits.fileDescriptor, 0),
              mapping != MAP_FAILED else {
            throw BPFError("map target_bits into memory", errno: errno)
        }
        targetWords = mapping.bindMemory(to: UInt64.self, capacity: wordCount)
        targetWordCount = wordCount
        targetMappingBytes = mappingBytes
        self.object = object
        self.pages = pages
        self.counterMap = try object.map("counters")
        reader = streamFaults ? try RingBufferReader<tk_fault_event>(map: events) : nil
        eventReader = streamEvents ? try RingBufferReader<tk_page_event>(map: pageEvents) : nil
    }

    /// Stream mode: the faults, in batches, until `detach()` has drained the ring buffer.
    /// Nil in aggregate mode or without the faults source.
    public var faults: AsyncStream<RecordBatch<tk_fault_event>>? { reader?.batches }

    /// The other sources' events, in batches, until `detach()` has drained their ring buffer.
    /// Nil when no such source is chosen.
    public var pageEvents: AsyncStream<RecordBatch<tk_page_event>>? { eventReader?.batches }

    deinit {
        munmap(targetWords, targetMappingBytes)
    }

    /// The kernel's largest pid plus one (`/proc/sys/kernel/pid_max`), bounded by
    /// PID_MAX_LIMIT, which is also the fallback.
    private static func pidMax() -> Int {
        let limit = Int(TK_TARGET_WORDS) * 64
        guard let text = try? readSmallFile("/proc/sys/kernel/pid_max"),
              let value = Int(text.filter(\.isNumber)), value > 0 else { return limit }
        return min(value, limit)
    }

    private func targetWord(_ pid: Int32) throws(BPFError) -> (UnsafeMutablePointer<UInt64>, UInt64) {
        guard pid > 0, Int(pid) / 64 < targetWordCount else {
            throw BPFError("add target \(pid)", errno: EINVAL, detail: "beyond pid_max \(targetWordCount * 64) at load")
        }
        return (targetWords + Int(pid) / 64, UInt64(1) << UInt64(pid % 64))
    }

    /// Starts recording `pid` (a thread group id).
    public func addTarget(pid: Int32) throws(BPFError) {
        let (word, bit) = try targetWord(pid)
        ctiershims_atomic_or_u64(word, bit)
    }

    /// Stops recording `pid`.
    public func removeTarget(pid: Int32) throws(BPFError) {
        let (word, bit) = try targetWord(pid)
        ctiershims_atomic_and_u64(word, ~bit)
    }

    /// Whether `pid` is a target now (added, or a forked child of a target when following forks).
    public func isTarget(pid: Int32) -> Bool {
        guard pid > 0, Int(pid) / 64 < targetWordCount else { return false }
        return ctiershims_atomic_load_u64(targetWords + Int(pid) / 64) & (UInt64(1) << UInt64(pid % 64)) != 0
    }

    /// Attaches the chosen sources' programs (and `sched_process_fork` when following forks):
    /// recording starts. On failure nothing stays attached.
    public func attach() throws(BPFError) {
        guard links.isEmpty else { return }
        do {
            if options.followForks && options.filterByPID {
                links.append(try object.program("tk_process_fork").attach())
            }
            for (source, programs) in PageEventSources.programs where options.sources.contains(source) {
                for program in programs { links.append(try object.program(program).attach()) }
            }
        } catch {
            for link in links.reversed() { link.detach() }
            links = []
            throw error
        }
    }

    /// Detaches (nothing new is recorded), then delivers what the ring buffers still hold and
    /// finishes `faults` and `pageEvents`.
    public func detach() {
        for link in links.reversed() { link.detach() }
        links = []
        reader?.stop()
        eventReader?.stop()
    }

    /// Nanoseconds per run and runs of the fault program, from the kernel's accounting (0 runs
    /// unless `BPFRunTimeStatistics` was enabled while recording).
    public func faultProgramCost() throws(BPFError) -> (nanosecondsPerRun: Double, runs: UInt64) {
        let (nanoseconds, runs) = try object.program("tk_page_fault_user").runStatistics()
        return (runs == 0 ? 0 : Double(nanoseconds) / Double(runs), runs)
    }

    /// The kernel-side counters, summed over CPUs.
    public func counters() throws(BPFError) -> PageFaultCounters {
        func sum(_ counter: tk_counter) throws(BPFError) -> UInt64 {
            try counterMap.lookupPerCPU(UInt32(counter.rawValue), as: UInt64.self).reduce(0, &+)
        }
        return PageFaultCounters(
            matched: try sum(TK_COUNTER_MATCHED), lost: try sum(TK_COUNTER_LOST),
            pagesDropped: try sum(TK_COUNTER_PAGES_FULL), events: try sum(TK_COUNTER_EVENTS),
            eventsLost: try sum(TK_COUNTER_EVENTS_LOST))
    }

    /// Records the ring buffer readers delivered (faults and page events together), and records
    /// they skipped as malformed.
    public var delivered: (records: Int, malformed: Int) {
        ((reader?.deliveredRecords ?? 0) + (eventReader?.deliveredRecords ?? 0),
         (reader?.malformedRecords ?? 0) + (eventReader?.malformedRecords ?? 0))
    }

    /// Aggregate mode: every page faulted so far with its statistics.
    public func pageStatistics() throws -> [PageKey: PageFaultStatistics] {
        var result: [PageKey: PageFaultStatistics] = [:]
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_group.self) { key, group in
            withUnsafeBytes(of: group.pages) { raw in
                for (i, stats) in raw.bindMemory(to: tk_page_stats.self).enumerated() where stats.count > 0 {
                    result[PageKey(pid: Int32(bitPattern: key.pid), page: key.page + UInt64(i))] = PageFaultStatistics(stats)
                }
            }
        }
        return result
    }

    /// Aggregate mode: forgets every page (e.g. between measurement windows).
    public func clearPageStatistics() throws {
        var keys: [tk_page_key] = []
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_group.self) { key, _ in keys.append(key) }
        for key in keys { try pages.delete(key) }
    }
}
