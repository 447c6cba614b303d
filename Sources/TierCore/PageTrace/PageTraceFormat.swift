// The `.tkt` page-trace format: a self-describing header, then fixed-size
// little-endian records. README.md ("The .tkt page-trace format") documents the
// layout byte by byte; the constants here are the normative values.

/// What a page-trace record reports.
///
/// Raw values are the on-disk `kind` byte. Zero is deliberately not a kind, so a
/// zero-filled stretch of a file is refused rather than read as events.
public enum PageEventKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// A user page fault on a read.
    case readFault = 1
    /// A user page fault on a write.
    case writeFault = 2
    /// A user page fault on an instruction fetch.
    case execFault = 3
    /// A fault on a page that had been present and was swapped out (its PTE held a swap
    /// entry); the fault itself is recorded too.
    case refault = 4
    /// A page reclaimed (evicted) by the kernel.
    case reclaim = 5
    /// A dirty page written back.
    case writeback = 6
    /// A page added to the page cache.
    case pageCacheInsert = 7
    /// A page removed from the page cache.
    case pageCacheDelete = 8
    /// A page put on an LRU list.
    case lruInsert = 9
    /// A page migrated (between NUMA nodes or tiers).
    case migrate = 10
    /// A DAMON region: `address` is its start, `tid` its length in pages, `count`
    /// its access count in the aggregation interval.
    case damonRegion = 11
    /// An access seen another way (accessed-bit scan, sampling).
    case access = 12

    /// Whether the event is a use of the page by the program: the events that
    /// become requests in a replay. Refaults are left out because the access that
    /// caused one is recorded as a fault too; reclaim, writeback, LRU, page-cache
    /// and migration events are the kernel's actions, not the program's.
    @inlinable
    public var isAccess: Bool {
        switch self {
        case .readFault, .writeFault, .execFault, .access: return true
        default: return false
        }
    }

    /// The snake_case name used in CSV output, JSON and the README.
    public var name: String {
        switch self {
        case .readFault: return "read_fault"
        case .writeFault: return "write_fault"
        case .execFault: return "exec_fault"
        case .refault: return "refault"
        case .reclaim: return "reclaim"
        case .writeback: return "writeback"
        case .pageCacheInsert: return "page_cache_insert"
        case .pageCacheDelete: return "page_cache_delete"
        case .lruInsert: return "lru_insert"
        case .migrate: return "migrate"
        case .damonRegion: return "damon_region"
        case .access: return "access"
        }
    }

    public var description: String { name }

    /// One past the largest raw value, to size per-kind tables.
    public static let tableSize = 13
}

/// Per-record flag bits (the on-disk `flags` field). Bits not named here are
/// reserved for later versions and are carried through unread.
public struct PageEventFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The fault needed I/O (a major fault, swap-in or file read).
    public static let major = PageEventFlags(rawValue: 1 << 0)
    /// The page is file-backed (page cache).
    public static let file = PageEventFlags(rawValue: 1 << 1)
    /// The page is anonymous memory.
    public static let anonymous = PageEventFlags(rawValue: 1 << 2)
    /// The page is (part of) a transparent huge page.
    public static let huge = PageEventFlags(rawValue: 1 << 3)
    /// The page is mapped shared.
    public static let shared = PageEventFlags(rawValue: 1 << 4)
}

/// One page event: a fixed 32-byte record on disk.
public struct PageTraceRecord: Sendable, Equatable {
    /// Nanoseconds since the trace's start (CLOCK_MONOTONIC based); in an
    /// aggregated trace, the time of the page's last access.
    public var time: UInt64
    /// The page's address (page-aligned by the recorder; readers shift by the page size).
    public var address: UInt64
    public var pid: UInt32
    /// Thread id; for ``PageEventKind/damonRegion`` the region's length in pages.
    public var tid: UInt32
    /// Events this record stands for: 1 for a single event, the access count in
    /// an aggregated trace or a DAMON region. Never 0, except for a DAMON region in which
    /// DAMON saw no access.
    public var count: UInt32
    public var kind: PageEventKind
    public var flags: PageEventFlags

    @inlinable
    public init(time: UInt64, address: UInt64, pid: UInt32, tid: UInt32, kind: PageEventKind,
                flags: PageEventFlags = [], count: UInt32 = 1) {
        self.time = time
        self.address = address
        self.pid = pid
        self.tid = tid
        self.count = count
        self.kind = kind
        self.flags = flags
    }
}

/// How records relate to events.
public enum PageTraceMode: String, Sendable {
    /// One record per event, in the order the recorder saw them.
    case events
    /// One record per page with its access count and last access time.
    case aggregated
}

/// What a trace watched.
public enum PageTraceTarget: Sendable, Equatable {
    case pid(UInt32)
    /// A cgroup, by its path (e.g. `/sys/fs/cgroup/job`).
    case cgroup(String)
    /// A command the recorder started, as its command line.
    case command(String)
}

/// The `.tkt` header: what was recorded, where and when.
public struct PageTraceHeader: Sendable, Equatable {
    /// One key/value entry as stored, for keys this version does not interpret.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Format version written in the header (``PageTraceFormat/version``).
    public var version: UInt16 = PageTraceFormat.version
    /// `uname -r` of the recording host.
    public var kernelRelease: String
    /// Bytes per page: a power of two from 512 to 1 GiB.
    public var pageSize: UInt32
    public var targets: [PageTraceTarget]
    /// Event sources the recorder enabled, e.g. `faults`, `reclaim`, `lru`, `damon`.
    public var sources: [String]
    /// CLOCK_REALTIME at time 0, in nanoseconds since the Unix epoch.
    public var startRealtimeNs: UInt64
    /// CLOCK_MONOTONIC at time 0, in nanoseconds (the clock BPF's `bpf_ktime_get_ns` reads).
    public var startMonotonicNs: UInt64
    public var mode: PageTraceMode
    /// Further entries, kept in order (recorder name, host name, ...).
    public var extra: [Entry]

    public init(kernelRelease: String = "", pageSize: UInt32 = 4096, targets: [PageTraceTarget] = [],
                sources: [String] = [], startRealtimeNs: UInt64 = 0, startMonotonicNs: UInt64 = 0,
                mode: PageTraceMode = .events, extra: [Entry] = []) {
        self.kernelRelease = kernelRelease
        self.pageSize = pageSize
        self.targets = targets
        self.sources = sources
        self.startRealtimeNs = startRealtimeNs
        self.startMonotonicNs = startMonotonicNs
        self.mode = mode
        self.extra = extra
    }

    /// log2 of the page size.
    public var pageShift: Int { pageSize.trailingZeroBitCount }
}

/// Constants and the header codec of the `.tkt` format.
public enum PageTraceFormat {
    /// "TKT1" as the first four bytes.
    public static let magic: [UInt8] = [0x54, 0x4B, 0x54, 0x31]
    public static let version: UInt16 = 1
    public static let recordSize = 32
    /// Bytes of the header before its entries.
    public static let fixedHeaderSize = 24
    /// Largest header accepted: far above any real one, small enough that a
    /// corrupted length cannot make a reader allocate much.
    public static let maxHeaderSize = 1 << 16
    /// Offset of the header checksum (XXH64, seed 0, of the header with this field zeroed).
    public static let checksumOffset = 16

    /// Reserved keys the typed header fields use.
    enum Key {
        static let kernelRelease = "kernel_release"
        static let pageSize = "page_size"
        static let targets = "targets"
        static let sources = "sources"
        static let startRealtime = "start_realtime_ns"
        static let startMonotonic = "start_monotonic_ns"
        static let mode = "mode"
        static let all: Set<String> = [kernelRelease, pageSize, targets, sources, startRealtime, startMonotonic, mode]
    }

    /// The header's bytes: fixed part, entries, zero padding to a multiple of 8.
    public static func encode(_ header: PageTraceHeader) -> [UInt8] {
        var entries: [(String, String)] = [
            (Key.kernelRelease, header.kernelRelease),
            (Key.pageSize, String(header.pageSize)),
            (Key.targets, header.targets.map { t -> String in
                switch t {
                case .pid(let p): return "pid \(p)"
                case .cgroup(let c): return "cgroup \(c)"
                case .command(let c): return "command \(c)"
                }
            }.joined(separator: "\n")),
            (Key.sources, header.sources.joined(separator: ",")),
            (Key.startRealtime, String(header.startRealtimeNs)),
            (Key.startMonotonic, String(header.startMonotonicNs)),
            (Key.mode, header.mode.rawValue),
        ]
        entries += header.extra.map { ($0.key, $0.value) }
        var body: [UInt8] = []
        for (k, v) in entries {
            appendLE(&body, UInt16(truncatingIfNeeded: k.utf8.count))
            body += k.utf8
            appendLE(&body, UInt32(truncatingIfNeeded: v.utf8.count))
            body += v.utf8
        }
        var out = magic
        appendLE(&out, header.version)
        appendLE(&out, UInt16(recordSize))
        let length = (fixedHeaderSize + body.count + 7) & ~7
        appendLE(&out, UInt32(length))
        appendLE(&out, UInt32(entries.count))
        appendLE(&out, UInt64(0))
        out += body
        out += [UInt8](repeating: 0, count: length - out.count)
        let sum = out.withUnsafeBytes { XXHash64.hash($0, seed: 0) }
        out.withUnsafeMutableBytes { $0.storeBytes(of: sum.littleEndian, toByteOffset: checksumOffset, as: UInt64.self) }
        return out
    }

    /// Checks that a header can be written: keys unique and not empty, extra keys
    /// not reserved, sizes within the format's fields, page size a power of two.
    public static func validate(_ header: PageTraceHeader) -> String? {
        if !isValidPageSize(header.pageSize) { return "page size \(header.pageSize) is not a power of two from 512 to 1 GiB" }
        var seen = Set<String>()
        for e in header.extra {
            if e.key.isEmpty || e.key.utf8.count > 255 { return "header key '\(e.key)' must be 1 to 255 bytes" }
            if Key.all.contains(e.key) { return "header key '\(e.key)' is reserved for a typed field" }
            if !seen.insert(e.key).inserted { return "header key '\(e.key)' appears twice" }
        }
        for t in header.targets {
            if case .cgroup(let s) = t, s.contains("\n") { return "a target may not contain a newline" }
            if case .command(let s) = t, s.contains("\n") { return "a target may not contain a newline" }
        }
        if header.sources.contains(where: { $0.contains(",") || $0.isEmpty }) { return "source names must be non-empty and without commas" }
        if encode(header).count > maxHeaderSize { return "the header is larger than \(maxHeaderSize) bytes" }
        return nil
    }

    static func isValidPageSize(_ size: UInt32) -> Bool {
        size >= 512 && size <= 1 << 30 && size & (size - 1) == 0
    }

    /// Parses a complete header (`bytes` holds exactly `header_length` bytes).
    /// Errors name the byte offset of the offending field.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(TraceError) -> PageTraceHeader {
        func fail(_ offset: Int, _ message: String) -> TraceError {
            TraceError(path: path, location: .header(offset: Int64(offset)), message: message)
        }
        func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func text(_ at: Int, _ count: Int, what: String) throws(TraceError) -> String {
            let slice = UnsafeRawBufferPointer(rebasing: bytes[at..<at + count])
            let s = String(decoding: slice, as: UTF8.self)
            // Decoding replaces invalid sequences, so changed bytes mean invalid UTF-8.
            guard s.utf8.elementsEqual(slice) else {
                throw fail(at, "\(what) is not valid UTF-8")
            }
            return s
        }
        let length = bytes.count
        let count = Int(u32(12))
        var entries: [(key: String, value: String, offset: Int)] = []
        var p = fixedHeaderSize
        for i in 0..<count {
            guard p + 2 <= length else { throw fail(p, "entry \(i) of \(count): header ends (at byte \(length)) before its key length") }
            let kl = Int(u16(p))
            guard kl > 0 else { throw fail(p, "entry \(i): empty key") }
            guard p + 2 + kl + 4 <= length else { throw fail(p, "entry \(i): key of \(kl) bytes runs past the header's end (byte \(length))") }
            let key = try text(p + 2, kl, what: "entry \(i)'s key")
            let vp = p + 2 + kl
            let vl = Int(u32(vp))
            guard vl <= length - (vp + 4) else { throw fail(vp, "entry \(i) ('\(key)'): value of \(vl) bytes runs past the header's end (byte \(length))") }
            let value = try text(vp + 4, vl, what: "the value of '\(key)'")
            if entries.contains(where: { $0.key == key }) { throw fail(p, "key '\(key)' appears twice") }
            entries.append((key, value, vp + 4))
            p = vp + 4 + vl
        }
        for q in p..<length where bytes[q] != 0 {
            throw fail(q, "non-zero byte after the last of \(count) entries (padding must be zero)")
        }
        // The checksum comes last, so a structural fault is reported where it is.
        var copy = [UInt8](bytes)
        for i in checksumOffset..<checksumOffset + 8 { copy[i] = 0 }
        let sum = copy.withUnsafeBytes { XXHash64.hash($0, seed: 0) }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: checksumOffset, as: UInt64.self))
        guard stored == sum else {
            throw fail(checksumOffset, "header checksum mismatch (stored \(hex(stored)), computed \(hex(sum))): the header is corrupted")
        }

        var h = PageTraceHeader()
        h.version = u16(4)
        var haveMode = false, havePageSize = false
        for (key, value, offset) in entries {
            switch key {
            case Key.kernelRelease:
                h.kernelRelease = value
            case Key.pageSize:
                guard let v = UInt32(value), isValidPageSize(v) else {
                    throw fail(offset, "page_size: expected a power of two from 512 to 1073741824, found \"\(value)\"")
                }
                h.pageSize = v
                havePageSize = true
            case Key.targets:
                h.targets = []
                for line in value.split(separator: "\n") {
                    let parts = line.split(separator: " ", maxSplits: 1)
                    if parts.count == 2, parts[0] == "pid", let pid = UInt32(parts[1]) {
                        h.targets.append(.pid(pid))
                    } else if parts.count == 2, parts[0] == "cgroup" {
                        h.targets.append(.cgroup(String(parts[1])))
                    } else if parts.count == 2, parts[0] == "command" {
                        h.targets.append(.command(String(parts[1])))
                    } else {
                        throw fail(offset, "targets: expected lines 'pid N', 'cgroup PATH' or 'command LINE', found \"\(line)\"")
                    }
                }
            case Key.sources:
                h.sources = value.isEmpty ? [] : value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case Key.startRealtime, Key.startMonotonic:
                guard let v = UInt64(value) else { throw fail(offset, "\(key): expected nanoseconds as an unsigned integer, found \"\(value)\"") }
                if key == Key.startRealtime { h.startRealtimeNs = v } else { h.startMonotonicNs = v }
            case Key.mode:
                guard let m = PageTraceMode(rawValue: value) else {
                    throw fail(offset, "mode: expected \"events\" or \"aggregated\", found \"\(value)\"")
                }
                h.mode = m
                haveMode = true
            default:
                h.extra.append(PageTraceHeader.Entry(key: key, value: value))
            }
        }
        guard havePageSize else { throw fail(fixedHeaderSize, "the header has no page_size entry") }
        guard haveMode else { throw fail(fixedHeaderSize, "the header has no mode entry") }
        return h
    }

    static func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}
