/// How page events become cache requests.
public struct PageRequestOptions: Sendable, Equatable {
    /// How a page's object id is formed.
    public enum IdMode: String, Sendable, CaseIterable {
        /// `(pid << 40) ^ page number`: the same address in two processes is two
        /// pages (private memory). Page numbers below 2^40 (addresses below 4 PiB
        /// with 4 KiB pages) keep ids distinct for every pid.
        case pidPage = "pid"
        /// The page number alone: the same address in two processes is one page
        /// (shared mappings, or a single-process trace read without the pid).
        case page
    }

    public var idMode: IdMode
    /// Only this process's events, when set.
    public var pid: UInt32?
    /// Divisor turning record nanoseconds into request time: the default gives
    /// milliseconds, so 49 days fit oracleGeneral's 32-bit time field.
    public var timeDivisor: UInt64

    public init(idMode: IdMode = .pidPage, pid: UInt32? = nil, timeDivisor: UInt64 = 1_000_000) {
        self.idMode = idMode
        self.pid = pid
        self.timeDivisor = max(1, timeDivisor)
    }

    /// The object id of `address` in process `pid`, for a page size of `1 << pageShift`.
    @inlinable
    public func id(pid: UInt32, address: UInt64, pageShift: Int) -> UInt64 {
        let page = address >> UInt64(pageShift)
        return idMode == .pidPage ? (UInt64(pid) << 40) ^ page : page
    }
}

/// The access events of a `.tkt` trace as cache requests: one request per access
/// record (read, write and exec faults, other accesses), of the trace's page size
/// (1 in object mode), with ids from ``PageRequestOptions``. Other records are
/// counted in ``nonAccessRecords`` and skipped. An aggregated trace gives one
/// request per page, at its last access.
public struct PageRequestSource: RequestSource {
    public private(set) var reader: PageTraceReader
    public let options: PageRequestOptions
    private let size: Int64
    private let shift: Int
    /// Records skipped because they are not accesses (or belong to another pid).
    public private(set) var nonAccessRecords: Int64 = 0

    public var hasNextAccess: Bool { false }

    public init(path: String, options: PageRequestOptions = PageRequestOptions(), objectMode: Bool = false) throws(TraceError) {
        self.reader = try PageTraceReader(path: path)
        self.options = options
        self.size = objectMode ? 1 : Int64(reader.header.pageSize)
        self.shift = reader.header.pageShift
    }

    /// The partial record the trace ended with, if any.
    public var tornTail: PageTraceTornTail? { reader.tornTail }

    public mutating func next() throws(TraceError) -> Request? {
        while let r = try reader.next() {
            guard r.kind.isAccess, options.pid == nil || options.pid == r.pid else {
                nonAccessRecords += 1
                continue
            }
            return Request(time: r.time / options.timeDivisor,
                           id: options.id(pid: r.pid, address: r.address, pageShift: shift), size: size)
        }
        return nil
    }
}
