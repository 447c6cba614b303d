import TierCore

/// Where a recording goes, one fault at a time, so the recorder does not depend on a file format.
public protocol PageFaultSink {
    /// Appends one fault.
    mutating func write(_ fault: PageFault) throws
    /// Flushes and closes; nothing may be written afterwards.
    mutating func finish() throws
}

/// Faults as CSV with a header: `time_ns,pid,tid,address,kind,error_code` (address in hex).
public struct CSVPageFaultSink: PageFaultSink {
    public static let header = "time_ns,pid,tid,address,kind,error_code\n"
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
    public var faults: UInt64 = 0
    private var pages: Set<PageKey> = []

    public init() {}

    /// Distinct (process, page) pairs seen.
    public var distinctPages: Int { pages.count }

    public mutating func add(_ fault: PageFault) {
        faults += 1
        byKind[Int(fault.kind.rawValue)] += 1
        if fault.pagePresent { protectionFaults += 1 }
        pages.insert(PageKey(pid: fault.pid, page: fault.address >> 12))
    }

    /// Adds a page's aggregated statistics (aggregate mode).
    public mutating func add(_ key: PageKey, _ stats: PageFaultStatistics) {
        faults += stats.count
        byKind[Int(PageAccessKind.read.rawValue)] += UInt64(stats.reads)
        byKind[Int(PageAccessKind.write.rawValue)] += UInt64(stats.writes)
        byKind[Int(PageAccessKind.execute.rawValue)] += UInt64(stats.executes)
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

    /// The header `tierkit record` writes: this kernel, 4 KiB pages, source `faults`.
    public static func header(targets: [PageTraceTarget], mode: PageTraceMode, kernelRelease: String,
                              startMonotonicNs: UInt64, startRealtimeNs: UInt64) -> PageTraceHeader {
        PageTraceHeader(
            kernelRelease: kernelRelease, pageSize: 4096, targets: targets, sources: ["faults"],
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
        try writer.append(PageTraceRecord(
            time: relative(fault.timeNanoseconds), address: fault.address & ~0xfff,
            pid: UInt32(bitPattern: fault.pid), tid: UInt32(bitPattern: fault.tid),
            kind: Self.eventKind(fault.kind)))
    }

    /// One aggregated page (mode `aggregated`): the last fault's time, every fault counted, and
    /// the kind of the strongest access seen (write, else execute, else read).
    public mutating func write(_ key: PageKey, _ stats: PageFaultStatistics) throws {
        let kind: PageAccessKind = stats.writes > 0 ? .write : stats.executes > 0 ? .execute : .read
        try writer.append(PageTraceRecord(
            time: relative(stats.lastNanoseconds), address: key.page << 12,
            pid: UInt32(bitPattern: key.pid), tid: 0, kind: Self.eventKind(kind),
            count: UInt32(clamping: stats.count)))
    }

    /// Writes buffered records if the oldest has waited long enough (for an idle loop).
    public func flushIfDue() throws { try writer.flushIfDue() }

    public mutating func finish() throws { try writer.close() }
}
