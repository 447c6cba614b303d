/// The exact LRU miss-ratio curve of a trace in one pass.
///
/// Each request's stack distance — the capacity LRU needs for it to hit — goes into a
/// histogram; the misses at capacity `C` are the cold misses plus the requests whose
/// distance exceeds `C`. In object mode the distance is the number of distinct objects
/// referenced since the previous reference to this one, plus one. In byte mode it is
/// the sum of their sizes plus the object's own size.
///
/// Exactness, against libCacheSim's LRU (evict from the tail until the object fits,
/// an object larger than the cache is never inserted, a hit does not update the size):
/// - Object mode: misses are exact at every size (miss bytes weigh each miss by the
///   request's size, so they are exact too when sizes are read as 1).
/// - Byte mode: exact at capacity `C` when every request is at most `C` bytes and no
///   object changes size between requests. Then LRU always holds the longest prefix of
///   the recency stack that fits, so a request hits iff its byte distance is ≤ `C`.
///   Below the largest request the curve is an upper bound on misses (a too-large
///   object is never cached yet still sits in the others' distances); with size changes
///   it is approximate. ``MissRatioCurve/accuracy(at:)`` reports which case applies.
///
/// Memory is O(distinct objects + distinct distances); time O(log n) per request.
public struct ExactLRUMRC: RequestSourceVisitor {
    public let unit: MissRatioCurve.Unit
    @usableFromInline var stack: StackDistanceTracker
    @usableFromInline var histogram = DistanceHistogram<Int64>()
    @usableFromInline var requests: Int64 = 0
    @usableFromInline var requestBytes: Int64 = 0
    @usableFromInline var coldMisses: Int64 = 0
    @usableFromInline var coldMissBytes: Int64 = 0
    @usableFromInline var maxObjectSize: Int64 = 0
    @usableFromInline var sizeChanges: Int64 = 0
    /// Called with the number of requests done every 2^16 requests.
    public var progress: (Int64) -> Void

    /// An empty analyser; `expectedObjects` only presizes tables.
    public init(unit: MissRatioCurve.Unit, expectedObjects: Int = 1 << 12, progress: @escaping (Int64) -> Void = { _ in }) {
        self.unit = unit
        self.stack = StackDistanceTracker(expectedObjects: expectedObjects)
        self.progress = progress
    }

    /// Adds one request. In object mode the request's size only weighs its miss bytes.
    @inlinable
    public mutating func record(_ request: Request) {
        requests &+= 1
        requestBytes &+= request.size
        let weight: Int64 = unit == .objects ? 1 : request.size
        if weight > maxObjectSize { maxObjectSize = weight }
        let ref = stack.access(request.id, weight: weight)
        if ref.isReuse {
            if ref.previousWeight != weight { sizeChanges &+= 1 }
            histogram.add(distance: ref.above &+ weight, count: 1, bytes: request.size)
        } else {
            coldMisses &+= 1
            coldMissBytes &+= request.size
        }
    }

    /// Reads a whole source, then returns the curve.
    @inlinable
    public mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> MissRatioCurve {
        while let request = try source.next() {
            record(request)
            if requests & 0xFFFF == 0 { progress(requests) }
        }
        return curve()
    }

    /// The curve of the requests recorded so far.
    public mutating func curve() -> MissRatioCurve {
        var points = [MissRatioCurve.Point(size: 0, misses: requests, missBytes: requestBytes)]
        var misses = requests, missBytes = requestBytes
        for e in histogram.sortedEntries() {
            misses -= e.count
            missBytes -= e.bytes
            points.append(.init(size: e.distance, misses: misses, missBytes: missBytes))
        }
        return MissRatioCurve(unit: unit, requests: requests, requestBytes: requestBytes,
                              uniqueObjects: Int64(stack.objectCount), workingSet: stack.totalWeightOnStack,
                              maxObjectSize: maxObjectSize, sizeChanges: unit == .bytes ? sizeChanges : 0,
                              points: points, sampling: nil)
    }
}
