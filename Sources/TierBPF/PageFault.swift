import CTierShims

/// What a page fault was for, from the x86 error code.
public enum PageAccessKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case read = 0
    case write = 1
    case execute = 2

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .execute: "exec"
        }
    }
}

/// One user page fault as the BPF program recorded it.
public struct PageFault: Sendable, Equatable {
    /// `CLOCK_MONOTONIC` nanoseconds.
    public var timeNanoseconds: UInt64
    public var address: UInt64
    /// Thread group (process) id.
    public var pid: Int32
    /// Thread id.
    public var tid: Int32
    public var kind: PageAccessKind
    /// The raw x86 error code: bit 0 page present, 1 write, 2 user, 3 reserved bit, 4 fetch.
    public var errorCode: UInt16
    /// The page's PTE held a swap entry when the fault happened: the page had been present and
    /// was swapped out. Only when the recorder detects refaults.
    public var refault: Bool

    public init(timeNanoseconds: UInt64, address: UInt64, pid: Int32, tid: Int32, kind: PageAccessKind,
                errorCode: UInt16, refault: Bool = false) {
        self.timeNanoseconds = timeNanoseconds
        self.address = address
        self.pid = pid
        self.tid = tid
        self.kind = kind
        self.errorCode = errorCode
        self.refault = refault
    }

    init(_ event: tk_fault_event) {
        self.init(
            timeNanoseconds: event.time_ns, address: event.address,
            pid: Int32(bitPattern: event.pid), tid: Int32(bitPattern: event.tid),
            kind: PageAccessKind(rawValue: event.kind) ?? .read, errorCode: event.error_code,
            refault: event.fault_flags & UInt8(TK_FAULT_REFAULT.rawValue) != 0)
    }

    /// Whether the page was present (a protection fault: e.g. the first write after a read).
    public var pagePresent: Bool { errorCode & 1 != 0 }
}

extension RecordBatch where Record == tk_fault_event {
    /// The record at `position` as a `PageFault`.
    public func fault(at position: Int) -> PageFault { PageFault(self[position]) }
}

/// A process's virtual page: the aggregation key.
public struct PageKey: Hashable, Sendable, Comparable {
    public var pid: Int32
    /// The virtual page number (address >> 12).
    public var page: UInt64

    public init(pid: Int32, page: UInt64) {
        self.pid = pid
        self.page = page
    }

    public static func < (a: PageKey, b: PageKey) -> Bool { (a.pid, a.page) < (b.pid, b.page) }
}

/// Faults on one page, aggregated in the kernel.
public struct PageFaultStatistics: Sendable, Equatable {
    public var count: UInt64
    /// Faults that found the page swapped out.
    public var refaults: UInt32
    public var firstNanoseconds: UInt64
    public var lastNanoseconds: UInt64
    public var reads: UInt32
    public var writes: UInt32
    public var executes: UInt32
    /// OR of the error codes of every fault on the page.
    public var errorBits: UInt16

    init(_ stats: tk_page_stats) {
        count = UInt64(stats.count)
        refaults = stats.refaults
        firstNanoseconds = stats.first_ns
        lastNanoseconds = stats.last_ns
        reads = stats.reads
        writes = stats.writes
        executes = stats.execs
        errorBits = stats.error_bits
    }
}

/// What the kernel side counted, summed over CPUs.
public struct PageFaultCounters: Sendable, Equatable {
    /// Faults that passed the filters.
    public var matched: UInt64
    /// Stream mode: faults dropped because the ring buffer was full.
    public var lost: UInt64
    /// Aggregate mode: faults dropped because the page map was full.
    public var pagesDropped: UInt64
    /// Events of the other sources that passed the filters.
    public var events: UInt64 = 0
    /// Events of the other sources dropped because their ring buffer was full.
    public var eventsLost: UInt64 = 0

    /// Everything the kernel could not deliver: faults and events, in either mode.
    public var totalLost: UInt64 { lost + pagesDropped + eventsLost }
}
