/// Summary of a `.tkt` page trace, from one streaming pass.
///
/// Distinct pages count (pid, page number) pairs; in an aggregated trace each
/// record is one page and ``events`` sums their counts. Memory: an id table of
/// 24-48 bytes per distinct page, and one small entry per pid.
public struct PageTraceStats: Sendable, Equatable {
    public var header: PageTraceHeader
    public var headerLength: Int64 = 0
    /// Records read.
    public var records: Int64 = 0
    /// Events the records stand for (the sum of their counts).
    public var events: Int64 = 0
    /// Records per kind, indexed by ``PageEventKind/rawValue``.
    public var recordsByKind: [Int64] = [Int64](repeating: 0, count: PageEventKind.tableSize)
    /// Events per kind (sum of counts), indexed by ``PageEventKind/rawValue``.
    public var eventsByKind: [Int64] = [Int64](repeating: 0, count: PageEventKind.tableSize)
    /// Distinct (pid, page) pairs in any record but DAMON regions.
    public var distinctPages: Int64 = 0
    /// Distinct (pid, page) pairs in access records (what a replay sees as objects).
    public var distinctAccessedPages: Int64 = 0
    /// Access events (sum of counts of access records).
    public var accessEvents: Int64 = 0
    /// Records per pid, in ascending pid order.
    public var pids: [(pid: UInt32, records: Int64)] = []
    public var minTime: UInt64 = 0
    public var maxTime: UInt64 = 0
    /// Records whose time is below an earlier record's.
    public var outOfOrderRecords: Int64 = 0
    /// The partial record the file ended with, if any.
    public var tornTail: PageTraceTornTail?

    public init(header: PageTraceHeader) { self.header = header }

    /// Nanoseconds from the first to the last record.
    public var duration: UInt64 { maxTime - minTime }

    public static func == (a: PageTraceStats, b: PageTraceStats) -> Bool {
        a.header == b.header && a.headerLength == b.headerLength && a.records == b.records && a.events == b.events
            && a.recordsByKind == b.recordsByKind && a.eventsByKind == b.eventsByKind
            && a.distinctPages == b.distinctPages && a.distinctAccessedPages == b.distinctAccessedPages
            && a.accessEvents == b.accessEvents && a.pids.map(\.pid) == b.pids.map(\.pid)
            && a.pids.map(\.records) == b.pids.map(\.records) && a.minTime == b.minTime && a.maxTime == b.maxTime
            && a.outOfOrderRecords == b.outOfOrderRecords && a.tornTail == b.tornTail
    }

    /// Reads the trace at `path` once.
    public static func compute(path: String) throws(TraceError) -> PageTraceStats {
        var reader = try PageTraceReader(path: path)
        return try compute(&reader)
    }

    /// Reads `reader` to its end.
    public static func compute(_ reader: inout PageTraceReader) throws(TraceError) -> PageTraceStats {
        var s = PageTraceStats(header: reader.header)
        s.headerLength = reader.headerLength
        let shift = reader.header.pageShift
        let ids = PageRequestOptions(idMode: .pidPage)
        // Value bit 0: seen in any record; bit 1: seen in an access record.
        let pages = IdTable(expected: 1 << 14)
        var pidRecords: [UInt32: Int64] = [:]
        var minTime = UInt64.max, maxTime: UInt64 = 0, last: UInt64 = 0
        while let r = try reader.next() {
            s.records += 1
            s.events &+= Int64(r.count)
            s.recordsByKind[Int(r.kind.rawValue)] += 1
            s.eventsByKind[Int(r.kind.rawValue)] &+= Int64(r.count)
            pidRecords[r.pid, default: 0] += 1
            minTime = min(minTime, r.time)
            maxTime = max(maxTime, r.time)
            if r.time < last { s.outOfOrderRecords += 1 }
            last = r.time
            if r.kind == .damonRegion { continue }
            let access = r.kind.isAccess
            if access { s.accessEvents &+= Int64(r.count) }
            let id = ids.id(pid: r.pid, address: r.address, pageShift: shift)
            let mark: Int32 = access ? 3 : 1
            if let seen = pages.find(id) {
                if access && seen & 2 == 0 {
                    pages.set(id, seen | 2)
                    s.distinctAccessedPages += 1
                }
            } else {
                pages.set(id, mark)
                s.distinctPages += 1
                if access { s.distinctAccessedPages += 1 }
            }
        }
        if s.records > 0 {
            s.minTime = minTime
            s.maxTime = maxTime
        }
        s.pids = pidRecords.sorted { $0.key < $1.key }.map { (pid: $0.key, records: $0.value) }
        s.tornTail = reader.tornTail
        return s
    }
}
