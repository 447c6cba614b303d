#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An LRU miss-ratio curve: misses and miss bytes as a step function of cache size.
///
/// Built by ``ExactLRUMRC`` (exact counts) or ``ShardsMRC`` (estimates scaled to the
/// whole trace). Sizes are in objects or bytes, as ``unit`` says.
public struct MissRatioCurve: Sendable {
    /// What a cache size counts.
    public enum Unit: String, Sendable {
        /// Capacity in objects, every object counting 1 (libCacheSim's `ignore_obj_size`).
        case objects
        /// Capacity in bytes.
        case bytes
    }

    /// Misses at every capacity from `size` up to the next point's size.
    public struct Point: Sendable, Equatable {
        public var size: Int64
        public var misses: Int64
        public var missBytes: Int64
        public init(size: Int64, misses: Int64, missBytes: Int64) {
            self.size = size
            self.misses = misses
            self.missBytes = missBytes
        }
    }

    /// How a curve was sampled (nil for an exact curve).
    public struct Sampling: Sendable, Equatable {
        /// The final sampling rate (fixed-size SHARDS lowers it as it goes).
        public var rate: Double
        /// Requests that passed the sampling filter.
        public var sampledRequests: Int64
        /// Distinct objects that passed it (and stayed in the sample set).
        public var sampledObjects: Int64
        /// The sample-set bound of fixed-size SHARDS, if used.
        public var maxSamples: Int?
        public init(rate: Double, sampledRequests: Int64, sampledObjects: Int64, maxSamples: Int?) {
            self.rate = rate
            self.sampledRequests = sampledRequests
            self.sampledObjects = sampledObjects
            self.maxSamples = maxSamples
        }
    }

    public var unit: Unit
    /// Requests in the trace.
    public var requests: Int64
    /// Bytes those requests asked for.
    public var requestBytes: Int64
    /// Distinct objects (estimated when sampled).
    public var uniqueObjects: Int64
    /// Capacity that holds every object at once: distinct objects, or the sum of their
    /// (latest) sizes in bytes. Estimated when sampled. Percent sizes are relative to it.
    public var workingSet: Int64
    /// Largest request size in bytes (1 in object mode).
    public var maxObjectSize: Int64
    /// Re-references whose size differed from the object's previous request (byte mode).
    public var sizeChanges: Int64
    /// Breakpoints sorted by size; the first is at size 0 (every request misses).
    public var points: [Point]
    /// Sampling details, or nil when the curve is exact.
    public var sampling: Sampling?

    public init(unit: Unit, requests: Int64, requestBytes: Int64, uniqueObjects: Int64, workingSet: Int64,
                maxObjectSize: Int64, sizeChanges: Int64, points: [Point], sampling: Sampling?) {
        self.unit = unit
        self.requests = requests
        self.requestBytes = requestBytes
        self.uniqueObjects = uniqueObjects
        self.workingSet = workingSet
        self.maxObjectSize = maxObjectSize
        self.sizeChanges = sizeChanges
        self.points = points
        self.sampling = sampling
    }

    /// The point in force at capacity `size` (the last breakpoint at or below it).
    public func point(at size: Int64) -> Point {
        var lo = 0, hi = points.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if points[mid].size <= size { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return Point(size: size, misses: requests, missBytes: requestBytes) }
        return Point(size: size, misses: points[lo - 1].misses, missBytes: points[lo - 1].missBytes)
    }

    /// Misses and miss bytes of LRU at each capacity.
    public func misses(at sizes: [Int64]) -> [Point] { sizes.map { point(at: $0) } }

    public func missRatio(at size: Int64) -> Double {
        requests == 0 ? 0 : Double(point(at: size).misses) / Double(requests)
    }

    public func byteMissRatio(at size: Int64) -> Double {
        requestBytes == 0 ? 0 : Double(point(at: size).missBytes) / Double(requestBytes)
    }

    /// The breakpoints, thinned for output: a breakpoint is kept when misses or miss
    /// bytes dropped by at least 1/`maxPoints` of the total since the last kept one,
    /// and the last is always kept (at most about 2 × `maxPoints` points). Between
    /// kept points the thinned curve reads slightly high, never low.
    public func thinned(maxPoints: Int) -> [Point] {
        guard points.count > maxPoints, maxPoints > 0 else { return points }
        let stepMisses = Swift.max(1, requests / Int64(maxPoints))
        let stepBytes = Swift.max(1, requestBytes / Int64(maxPoints))
        var out = [points[0]]
        for p in points.dropFirst() {
            let last = out[out.count - 1]
            if last.misses - p.misses >= stepMisses || last.missBytes - p.missBytes >= stepBytes { out.append(p) }
        }
        if let last = points.last, out.last?.size != last.size { out.append(last) }
        return out
    }

    /// `count` sizes spaced evenly on a log scale from `lower` to `upper` (rounded,
    /// without repeats), for tables and plots.
    public static func logSpacedSizes(from lower: Int64, to upper: Int64, count: Int) -> [Int64] {
        let lo = Swift.max(1, lower), hi = Swift.max(lo, upper)
        guard count > 1, hi > lo else { return [hi] }
        let ratio = Double(hi) / Double(lo)
        var out: [Int64] = []
        for i in 0..<count {
            let v = i == count - 1 ? hi : Int64((Double(lo) * pow(ratio, Double(i) / Double(count - 1))).rounded())
            if out.last.map({ v > $0 }) ?? true { out.append(v) }
        }
        return out
    }

    /// How far the curve can be trusted at one capacity.
    public enum Accuracy: Sendable, Equatable {
        /// Equal to an LRU simulation at that capacity.
        case exact
        /// An upper bound on LRU's misses: some object is larger than the capacity, so
        /// it is never cached but still counts in the other objects' stack distances.
        case upperBound
        /// Object sizes change between requests, which a stack cannot model
        /// (libCacheSim keeps a cached object's size on a hit).
        case approximate
        /// Estimated from a sample.
        case sampled
    }

    /// The accuracy at capacity `size`; see ``Accuracy``.
    ///
    /// Object mode is exact at every size. Byte mode is exact at capacity `C` when no
    /// request is larger than `C` and no object changes size; then the set LRU holds
    /// is always the longest prefix of the recency stack that fits in `C`, so a
    /// request hits iff its byte stack distance is at most `C`.
    public func accuracy(at size: Int64) -> Accuracy {
        if sampling != nil { return .sampled }
        if unit == .objects { return .exact }
        if sizeChanges > 0 { return .approximate }
        return size >= maxObjectSize ? .exact : .upperBound
    }

    /// One line saying where the curve is exact, for tools to print.
    public var accuracySummary: String {
        if let s = sampling {
            let how = s.maxSamples.map { "fixed-size SHARDS, at most \($0) sampled objects" } ?? "fixed-rate SHARDS"
            return "estimated (\(how), final rate \(SVGFormat.fixed(s.rate, decimals: 6)), \(s.sampledRequests) sampled requests)"
        }
        if unit == .objects { return "exact at every size" }
        if sizeChanges > 0 {
            return "approximate: \(sizeChanges) requests changed an object's size, which a stack distance cannot model"
        }
        return maxObjectSize <= 1 ? "exact at every size"
            : "exact at sizes >= \(maxObjectSize) bytes (the largest object); an upper bound on misses below that"
    }
}
