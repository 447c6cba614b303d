/// Writes a page trace's records as CSV, one row per record:
/// `time_ns,pid,tid,address,kind,flags,count` with the address in hex (`0x7f...`),
/// the kind by name (``PageEventKind/name``) and the flags as their decimal bit set.
public enum PageTraceCSV {
    public static let header = "time_ns,pid,tid,address,kind,flags,count\n"

    /// Streams `reader`'s remaining records to `path`; returns the rows written.
    /// A failure removes the partial output.
    public static func write(_ reader: inout PageTraceReader, to path: String) throws(TraceError) -> Int64 {
        let out = try ByteOutput(path: path)
        var rows: Int64 = 0
        do throws(TraceError) {
            try out.write(header)
            var kindNames: [[UInt8]] = [[UInt8]](repeating: [], count: PageEventKind.tableSize)
            for k in PageEventKind.allCases { kindNames[Int(k.rawValue)] = Array(k.name.utf8) }
            while let r = try reader.next() {
                try out.write(decimal: r.time)
                try out.write(byte: 44)
                try out.write(decimal: UInt64(r.pid))
                try out.write(byte: 44)
                try out.write(decimal: UInt64(r.tid))
                try out.write(byte: 44)
                try writeHex(r.address, to: out)
                try out.write(byte: 44)
                for b in kindNames[Int(r.kind.rawValue)] { try out.write(byte: b) }
                try out.write(byte: 44)
                try out.write(decimal: UInt64(r.flags.rawValue))
                try out.write(byte: 44)
                try out.write(decimal: UInt64(r.count))
                try out.write(byte: 10)
                rows += 1
            }
            try out.close()
        } catch {
            removeFile(path)
            throw error
        }
        return rows
    }

    static func writeHex(_ v: UInt64, to out: ByteOutput) throws(TraceError) {
        try out.write(byte: 48)
        try out.write(byte: 120)
        var shift = max(0, (63 - v.leadingZeroBitCount) / 4 * 4)
        while shift >= 0 {
            let d = UInt8((v >> UInt64(shift)) & 15)
            try out.write(byte: d < 10 ? 48 + d : 87 + d)
            shift -= 4
        }
    }
}

/// The deterministic record sequence `tierkit trace selftest-write` appends, so a
/// crash test can check every record that survived a kill.
public enum PageTraceSelfTest {
    /// The header the self-test writer uses.
    public static let header = PageTraceHeader(
        kernelRelease: "selftest", pageSize: 4096, targets: [.pid(4242)], sources: ["selftest"],
        startRealtimeNs: 1_700_000_000_000_000_000, startMonotonicNs: 1_000_000, mode: .events,
        extra: [PageTraceHeader.Entry(key: "recorder", value: "tierkit trace selftest-write")])

    /// Record `i` of the sequence: every field a function of `i`.
    public static func record(_ i: Int64) -> PageTraceRecord {
        let u = UInt64(i)
        let kinds = PageEventKind.allCases
        return PageTraceRecord(time: u &* 1000, address: 0x7f00_0000_0000 &+ (u &* 4096), pid: 4242,
                               tid: 4242 &+ UInt32(truncatingIfNeeded: u % 4),
                               kind: kinds[Int(u % UInt64(kinds.count))],
                               flags: PageEventFlags(rawValue: UInt16(truncatingIfNeeded: u & 0x1f)),
                               count: 1 &+ UInt32(truncatingIfNeeded: u % 3))
    }
}
