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
