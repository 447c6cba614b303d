import TierCore

/// Where a recording goes, one fault or event at a time, so the recorder does not depend on a
/// file format.
public protocol PageFaultSink {
    /// Appends one fault (and, for a refault, a `refault` record after it).
    mutating func write(_ fault: PageFault) throws
    /// Appends one event of another source.
    mutating func write(event: PageEvent) throws
    /// Appends one page's aggregated statistics (aggregate mode).
    mutating func write(_ key: PageKey, _ stats: PageFaultStatistics) throws
    /// Flushes and closes; nothing may be written afterwards.
    mutating func finish() throws
}

/// Faults and events as CSV with a header: `time_ns,pid,tid,address,kind,error_code,count,value,aux`
/// (address in hex). A fault is one row (`read`, `write`, `exec`; count 1), followed by a
/// `refault` row when it was one; an event is one row with its `.tkt` kind name and its
/// count, value and aux fields (README, ".tkt kinds"), error code 0.
public struct CSVPageFaultSink: PageFaultSink {
    public static let header = "time_ns,pid,tid,address,kind,error_code,count,value,aux\n"
    private let output: ByteOutput

    public init(path: String) throws {
        output = try ByteOutput(path: path)
        try output.write(Self.header)
    }

    public mutating func write(_ fault: PageFault) throws {
        try output.write(decimal: fault.timeNanoseconds)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: Int64(fault.pid))
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: Int64(fault.tid))
        try output.write(byte: UInt8(ascii: ","))
        try writeHex(fault.address)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(fault.kind.description)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: Int64(fault.errorCode))
        try output.write(",1,0,0\n")
        if fault.refault {
            try row(fault.timeNanoseconds, fault.pid, fault.tid, fault.address, PageEventKind.refault.name,
                    count: 1, value: 0, aux: 0)
        }
    }

    public mutating func write(event: PageEvent) throws {
        try row(event.timeNanoseconds, event.pid, event.tid, event.address, event.kind.name,
                count: event.count, value: event.value, aux: event.aux)
    }

    /// Aggregate mode writes its pages with `AggregateCSV`'s columns, not here.
    public mutating func write(_ key: PageKey, _ stats: PageFaultStatistics) throws {}

    private func row(_ time: UInt64, _ pid: Int32, _ tid: Int32, _ address: UInt64, _ kind: String,
                     count: UInt32, value: UInt64, aux: UInt32) throws {
        try output.write(decimal: time)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: Int64(pid))
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: Int64(tid))
        try output.write(byte: UInt8(ascii: ","))
        try writeHex(address)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(kind)
        try output.write(",0,")
        try output.write(decimal: UInt64(count))
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: value)
        try output.write(byte: UInt8(ascii: ","))
        try output.write(decimal: UInt64(aux))
        try output.write(byte: UInt8(ascii: "\n"))
    }

    private func writeHex(_ value: UInt64) throws {
        let digits = max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for "0x" and 16 digits
        try withUnsafeMutableBytes(of: &buffer) { bytes in
            bytes[0] = UInt8(ascii: "0")
            bytes[1] = UInt8(ascii: "x")
            var remaining = value
            for index in stride(from: digits + 1, through: 2, by: -1) {
                let nibble = UInt8(truncatingIfNeeded: remaining & 0xf)
                bytes[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
                remaining >>= 4
            }
            try output.write(UnsafeRawBufferPointer(rebasing: bytes[0..<(digits + 2)]))
        }
    }

    public mutating func finish() throws {
        try output.close()
    }
}

/// Totals of a recording, for the summary `tierkit record` prints.
public struct PageFaultSummary: Sendable, Equatable {
    /// Faults by kind, indexed by `PageAccessKind.rawValue`.
    public var byKind: [UInt64] = [0, 0, 0]
    /// Faults on pages that were already present (protection faults, e.g. write after read).
    public var protectionFaults: UInt64 = 0
    /// Faults on pages that had been swapped out.
    public var refaults: UInt64 = 0
    public var faults: UInt64 = 0
    /// Events of the other sources by kind.
    public var events: [PageEventKind: EventTally] = [:]

    /// Events of one kind: how many, and the sum of their counts (pages, or a region's accesses).
    public struct EventTally: Sendable, Equatable {
        public var records: UInt64 = 0
        public var count: UInt64 = 0
    }
    private var pages: Set<PageKey> = []

    public init() {}

    /// Distinct (process, page) pairs seen.
    public var distinctPages: Int { pages.count }

    public mutating func add(_ fault: PageFault) {
        faults += 1
        byKind[Int(fault.kind.rawValue)] += 1
        if fault.pagePresent { protectionFaults += 1 }
        if fault.refault { refaults += 1 }
        pages.insert(PageKey(pid: fault.pid, page: fault.address >> 12))
    }

    /// Counts an event of another source.
    public mutating func add(_ event: PageEvent) {
        events[event.kind, default: EventTally()].records += 1
        events[event.kind, default: EventTally()].count += UInt64(event.count)
    }

    /// Adds a page's aggregated statistics (aggregate mode).
    public mutating func add(_ key: PageKey, _ stats: PageFaultStatistics) {
        faults += stats.count
        byKind[Int(PageAccessKind.read.rawValue)] += UInt64(stats.reads)
        byKind[Int(PageAccessKind.write.rawValue)] += UInt64(stats.writes)
        byKind[Int(PageAccessKind.execute.rawValue)] += UInt64(stats.executes)
        refaults += UInt64(stats.refaults)
        pages.insert(key)
    }
}

/// Faults as a `.tkt` page trace (TierCore's `PageTraceWriter`): `read_fault`, `write_fault`
/// or `exec_fault` records with page-aligned addresses and times relative to the header's
/// `start_monotonic_ns`.
public struct TKTPageFaultSink: PageFaultSink {
    private let writer: PageTraceWriter
    private let start: UInt64

    /// Creates `path` with `header`; `header.startMonotonicNs` is time 0 of the records.
    public init(path: String, header: PageTraceHeader) throws {
        writer = try PageTraceWriter(path: path, header: header)
        start = header.startMonotonicNs
    }

    /// The header `tierkit record` writes: this kernel, 4 KiB pages, the sources recorded.
    public static func header(targets: [PageTraceTarget], mode: PageTraceMode, kernelRelease: String,
                              startMonotonicNs: UInt64, startRealtimeNs: UInt64,
                              sources: PageEventSources = [.faults]) -> PageTraceHeader {
        PageTraceHeader(
            kernelRelease: kernelRelease, pageSize: 4096, targets: targets, sources: sources.names,
            startRealtimeNs: startRealtimeNs, startMonotonicNs: startMonotonicNs, mode: mode,
            extra: [.init(key: "recorder", value: "tierkit record (tp_btf/page_fault_user)")])
    }

    static func eventKind(_ kind: PageAccessKind) -> PageEventKind {
        switch kind {
        case .read: .readFault
        case .write: .writeFault
        case .execute: .execFault
        }
    }

    private func relative(_ time: UInt64) -> UInt64 { time >= start ? time - start : 0 }

    public mutating func write(_ fault: PageFault) throws {
        let record = PageTraceRecord(
            time: relative(fault.timeNanoseconds), address: fault.address & ~0xfff,
            pid: UInt32(bitPattern: fault.pid), tid: UInt32(bitPattern: fault.tid),
            kind: Self.eventKind(fault.kind), flags: fault.refault ? [.anonymous] : [])
        try writer.append(record)
        if fault.refault {
            var refault = record
            refault.kind = .refault
            try writer.append(refault)
        }
    }

    public mutating func write(event: PageEvent) throws {
        try writer.append(event.record(relativeTo: start))
    }

    /// One aggregated page (mode `aggregated`): the last fault's time, every fault counted, and
    /// the kind of the strongest access seen (write, else execute, else read); then, when the
    /// page refaulted, a `refault` record counting its refaults.
    public mutating func write(_ key: PageKey, _ stats: PageFaultStatistics) throws {
        let kind: PageAccessKind = stats.writes > 0 ? .write : stats.executes > 0 ? .execute : .read
        let record = PageTraceRecord(
            time: relative(stats.lastNanoseconds), address: key.page << 12,
            pid: UInt32(bitPattern: key.pid), tid: 0, kind: Self.eventKind(kind),
            count: UInt32(clamping: stats.count))
        try writer.append(record)
        if stats.refaults > 0 {
            var refault = record
            refault.kind = .refault
            refault.count = stats.refaults
            try writer.append(refault)
        }
    }

    /// Writes buffered records if the oldest has waited long enough (for an idle loop).
    public func flushIfDue() throws { try writer.flushIfDue() }

    public mutating func finish() throws { try writer.close() }
}
