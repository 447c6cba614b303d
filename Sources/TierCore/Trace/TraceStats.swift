/// A log-linear histogram of positive integers: values below 128 have a bucket each;
/// above, each power of two is split into 64 equal buckets. A percentile reads as its
/// bucket's lower bound, so it is exact for values with at most 7 significant bits
/// (512, 4096, 61440 = 15 x 4096, ...) and otherwise at most 1/64 (1.6%) below the
/// true value. Fixed size (3,776 counters), no allocation per value.
public struct LogLinearHistogram: Sendable {
    public static let bucketCount = 128 + 57 * 64
    public private(set) var counts: [UInt64]
    public private(set) var total: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    @inlinable @inline(__always)
    static func bucket(_ v: UInt64) -> Int {
        if v < 128 { return Int(v) }
        let e = 63 - v.leadingZeroBitCount          // >= 7
        let sub = Int(v >> UInt64(e - 6)) - 64     // 0..<64
        return 128 + (e - 7) * 64 + sub
    }

    static func lowerBound(_ bucket: Int) -> UInt64 {
        if bucket < 128 { return UInt64(bucket) }
        let e = (bucket - 128) / 64 + 7
        let sub = UInt64((bucket - 128) % 64 + 64)
        return sub << UInt64(e - 6)
    }

    public mutating func add(_ v: UInt64, count: UInt64 = 1) {
        counts[Self.bucket(v)] &+= count
        total &+= count
    }

    /// The nearest-rank `p`-quantile (0 < p <= 1): the lower bound of the bucket
    /// holding the value of rank ceil(p * total); 0 when empty.
    public func percentile(_ p: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        var rank = UInt64((p * Double(total)).rounded(.up))
        rank = min(max(rank, 1), total)
        var seen: UInt64 = 0
        for (b, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank { return Self.lowerBound(b) }
        }
        return 0
    }
}

/// Summary statistics of a trace, from one streaming pass.
///
/// Sizes are request-weighted (each request counts its size once). The working set
/// sums each unique object's size when first seen. Percentiles come from a
/// ``LogLinearHistogram`` (exact for sizes with at most 7 significant bits, else at
/// most 1.6% low); min, max and mean are exact.
public struct TraceStats: Sendable, Equatable {
    public var requests: Int64 = 0
    public var uniqueObjects: Int64 = 0
    public var totalBytes: Int64 = 0
    public var workingSetBytes: Int64 = 0
    public var minSize: Int64 = 0
    public var maxSize: Int64 = 0
    public var p50Size: Int64 = 0
    public var p90Size: Int64 = 0
    public var p99Size: Int64 = 0
    public var minTime: UInt64 = 0
    public var maxTime: UInt64 = 0
    /// Records the reader dropped (zero-size requests).
    public var skipped: Int64 = 0
    public var hasNextAccess = false
    /// Per-object statistics, when asked for.
    public var objects: ObjectStats?
    /// Bytes the id table held at the end.
    public var tableBytes = 0

    public var meanSize: Double { requests == 0 ? 0 : Double(totalBytes) / Double(requests) }
    public var timeSpan: UInt64 { maxTime - minTime }

    public init() {}

    /// What ``compute(_:perObject:)`` needs, for help texts.
    public static let memoryNote = """
        Memory: an id table of 12 bytes per slot, its slot count the smallest power of \
        two >= 2 x unique objects (24-48 bytes per unique object, 72 for a moment \
        while it doubles); --objects adds a \
        4-byte request counter per object (grown by doubling: 4-8 bytes).
        """

    /// Reads `source` to the end once.
    public static func compute<S: RequestSource>(_ source: inout S, perObject: Bool = false) throws(TraceError) -> TraceStats {
        var s = TraceStats()
        s.hasNextAccess = source.hasNextAccess
        let seen = IdTable(expected: 1 << 16)
        var sizes = LogLinearHistogram()
        var objectSizes = LogLinearHistogram()
        var counters: UnsafeMutablePointer<UInt32>? = nil
        var counterCapacity = 0
        defer { counters?.deallocate() }
        var minSize = Int64.max, maxSize: Int64 = 0
        var minTime = UInt64.max, maxTime: UInt64 = 0
        while let r = try source.next() {
            s.requests += 1
            s.totalBytes &+= r.size
            minSize = min(minSize, r.size)
            maxSize = max(maxSize, r.size)
            minTime = min(minTime, r.time)
            maxTime = max(maxTime, r.time)
            sizes.add(UInt64(max(r.size, 0)))
            if let slot = seen.find(r.id) {
                if perObject { counters![Int(slot)] &+= 1 }
            } else {
                let slot = Int(s.uniqueObjects)
                seen.set(r.id, Int32(truncatingIfNeeded: slot))
                s.uniqueObjects += 1
                s.workingSetBytes &+= r.size
                if perObject {
                    if slot == counterCapacity {
                        let grown = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1024, counterCapacity * 2))
                        if let old = counters {
                            grown.moveInitialize(from: old, count: counterCapacity)
                            old.deallocate()
                        }
                        counters = grown
                        counterCapacity = max(1024, counterCapacity * 2)
                    }
                    counters![slot] = 1
                    objectSizes.add(UInt64(max(r.size, 0)))
                }
            }
        }
        s.skipped = source.skippedRequests
        s.tableBytes = seen.memoryBytes
        if s.requests > 0 {
            s.minSize = minSize
            s.maxSize = maxSize
            s.minTime = minTime
            s.maxTime = maxTime
            s.p50Size = Int64(sizes.percentile(0.5))
            s.p90Size = Int64(sizes.percentile(0.9))
            s.p99Size = Int64(sizes.percentile(0.99))
        }
        if perObject {
            var o = ObjectStats()
            var frequencies = LogLinearHistogram()
            for i in 0..<Int(s.uniqueObjects) {
                let c = counters![i]
                if c == 1 { o.oneHitWonders += 1 }
                o.maxRequests = max(o.maxRequests, Int64(c))
                frequencies.add(UInt64(c))
            }
            o.p50Requests = Int64(frequencies.percentile(0.5))
            o.p90Requests = Int64(frequencies.percentile(0.9))
            o.p99Requests = Int64(frequencies.percentile(0.99))
            o.p50Size = Int64(objectSizes.percentile(0.5))
            o.p90Size = Int64(objectSizes.percentile(0.9))
            o.p99Size = Int64(objectSizes.percentile(0.99))
            s.objects = o
        }
        return s
    }
}

/// Object-weighted statistics: each unique object counts once.
public struct ObjectStats: Sendable, Equatable {
    /// Objects requested exactly once.
    public var oneHitWonders: Int64 = 0
    /// Requests to the most requested object.
    public var maxRequests: Int64 = 0
    /// Percentiles of requests per object (log-linear histogram).
    public var p50Requests: Int64 = 0
    public var p90Requests: Int64 = 0
    public var p99Requests: Int64 = 0
    /// Percentiles of object sizes (first-seen size, log-linear histogram).
    public var p50Size: Int64 = 0
    public var p90Size: Int64 = 0
    public var p99Size: Int64 = 0

    public init() {}
}

/// Computes ``TraceStats`` of whatever source ``TraceSpec/visit(_:)`` opens.
public struct TraceStatsVisitor: RequestSourceVisitor {
    public var perObject: Bool
    public init(perObject: Bool = false) { self.perObject = perObject }

    public mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> TraceStats {
        try TraceStats.compute(&source, perObject: perObject)
    }
}
