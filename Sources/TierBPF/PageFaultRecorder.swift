import CLibBPF
import CTierShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Records the user page faults of chosen processes (or of a cgroup) with
/// `tp_btf/page_fault_user`, either streaming each fault or counting per page in the kernel.
///
/// Order of use: `init` (loads, attaches nothing), `addTarget` for each process, `attach()`,
/// let the workload run, `detach()`, then read `counters()` and either consume `faults` (stream
/// mode, which finishes after `detach()`) or `pageStatistics()` (aggregate mode).
/// Not thread-safe: one owner.
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
        /// Capacity of the per-page map in aggregate mode.
        public var maxPages: Int
        /// Stream mode: the kernel wakes the reader once this many bytes are queued (else the
        /// reader finds them at its next poll timeout, 50 ms); 0 wakes it for every fault.
        public var wakeupBytes: Int

        public init(mode: Mode, filterByPID: Bool = true, followForks: Bool = false, cgroup: CgroupV2? = nil,
                    ringBufferBytes: Int = 64 << 20, maxPages: Int = 1 << 20, wakeupBytes: Int = 256 << 10) {
            self.mode = mode
            self.filterByPID = filterByPID
            self.followForks = followForks
            self.cgroup = cgroup
            self.ringBufferBytes = ringBufferBytes
            self.maxPages = maxPages
            self.wakeupBytes = wakeupBytes
        }
    }

    public let options: Options
    private let object: BPFObject
    private let targets: BPFMap
    private let pages: BPFMap
    private let counterMap: BPFMap
    private var links: [BPFLink] = []
    private let reader: RingBufferReader<tk_fault_event>?

    /// Opens and loads the embedded `page_faults` program with `options`; attaches nothing.
    public init(options: Options) throws(BPFError) {
        self.options = options
        let object = try BPFObject(elf: EmbeddedBPFObjects.bytes(EmbeddedBPFObjects.pageFaults), name: "page_faults")
        var config = tk_config()
        config.mode = options.mode == .stream ? UInt32(TK_MODE_STREAM.rawValue) : UInt32(TK_MODE_AGGREGATE.rawValue)
        config.filter_pids = options.filterByPID ? 1 : 0
        config.cgroup_id = options.cgroup?.id ?? 0
        config.cgroup_level = options.cgroup?.level ?? 0
        config.page_shift = 12
        config.follow_forks = options.followForks ? 1 : 0
        config.wakeup_bytes = UInt32(clamping: min(options.wakeupBytes, options.ringBufferBytes / 2))
        try object.setReadOnlyGlobal("tk_config", to: config)
        try object.program("tk_process_fork").setAutoload(options.followForks && options.filterByPID)

        let events = try object.map("events")
        let pages = try object.map("pages")
        // The unused structure of the other mode is kept minimal.
        try events.setMaxEntries(options.mode == .stream ? options.ringBufferBytes : Int(getpagesize()))
        try pages.setMaxEntries(options.mode == .aggregate ? options.maxPages : 1)
        try object.load()

        self.object = object
        self.targets = try object.map("target_pids")
        self.pages = pages
        self.counterMap = try object.map("counters")
        if options.mode == .stream {
            reader = try RingBufferReader<tk_fault_event>(map: events)
        } else {
            reader = nil
        }
    }

    /// Stream mode: the faults, in batches, until `detach()` has drained the ring buffer.
    /// Nil in aggregate mode.
    public var faults: AsyncStream<RecordBatch<tk_fault_event>>? { reader?.batches }

    /// Starts recording `pid` (a thread group id).
    public func addTarget(pid: Int32) throws(BPFError) {
        try targets.update(UInt32(bitPattern: pid), UInt8(1))
    }

    /// Stops recording `pid`.
    public func removeTarget(pid: Int32) throws(BPFError) {
        try targets.delete(UInt32(bitPattern: pid))
    }

    /// Attaches to `page_fault_user` (and `sched_process_fork` when following forks):
    /// recording starts.
    public func attach() throws(BPFError) {
        guard links.isEmpty else { return }
        if options.followForks && options.filterByPID {
            links.append(try object.program("tk_process_fork").attach())
        }
        links.append(try object.program("tk_page_fault_user").attach())
    }

    /// Detaches (no new faults are recorded), then, in stream mode, delivers what the ring
    /// buffer still holds and finishes `faults`.
    public func detach() {
        for link in links.reversed() { link.detach() }
        links = []
        reader?.stop()
    }

    /// The kernel-side counters, summed over CPUs.
    public func counters() throws(BPFError) -> PageFaultCounters {
        func sum(_ counter: tk_counter) throws(BPFError) -> UInt64 {
            try counterMap.lookupPerCPU(UInt32(counter.rawValue), as: UInt64.self).reduce(0, &+)
        }
        return PageFaultCounters(
            matched: try sum(TK_COUNTER_MATCHED), lost: try sum(TK_COUNTER_LOST),
            pagesDropped: try sum(TK_COUNTER_PAGES_FULL))
    }

    /// Stream mode: records the ring buffer reader delivered, and records it skipped as malformed.
    public var delivered: (records: Int, malformed: Int) {
        (reader?.deliveredRecords ?? 0, reader?.malformedRecords ?? 0)
    }

    /// Aggregate mode: every page faulted so far with its statistics.
    public func pageStatistics() throws -> [PageKey: PageFaultStatistics] {
        var result: [PageKey: PageFaultStatistics] = [:]
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_stats.self) { key, stats in
            result[PageKey(pid: Int32(bitPattern: key.pid), page: key.page)] = PageFaultStatistics(stats)
        }
        return result
    }

    /// Aggregate mode: forgets every page (e.g. between measurement windows).
    public func clearPageStatistics() throws {
        var keys: [tk_page_key] = []
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_stats.self) { key, _ in keys.append(key) }
        for key in keys { try pages.delete(key) }
    }
}
