/// A node of ``SLRU``: an object and the segment that holds it.
public struct SLRUNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// Index of the LRU segment holding the object (0 is the coldest).
    public var segment: Int32
    @inlinable public init(id: UInt64, size: Int64, segment: Int32) {
        self.id = id
        self.size = size
        self.segment = segment
    }
}

/// Segmented LRU, as libCacheSim's `SLRU`: `segments` equal LRU segments of
/// `capacity / segments` bytes each.
///
/// A miss enters the lowest segment that still has room (so an empty cache
/// fills all segments before evicting), or segment 0 once all are full. A hit
/// promotes the object one segment up (or to the head of the top segment); an
/// overfull segment demotes its LRU object one segment down, and an overfull
/// segment 0 evicts. Eviction takes the LRU object of the lowest non-empty
/// segment. Because a hit can demote down to an eviction, a hit may evict:
/// use ``access(_:admission:onEvict:)`` to see those victims.
public struct SLRU: EvictionPolicy {
    public static let name = "slru"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("segments", "number of LRU segments (libCacheSim n-seg), default 4"),
    ]

    public let capacity: Int64
    /// Number of segments.
    public let segmentCount: Int
    /// Bytes (or objects) each segment may hold: libCacheSim's integer `capacity / n`.
    public let segmentCapacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<SLRUNode>()
    @usableFromInline var segments: [ListHead]
    @usableFromInline var held: Int64 = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        segmentCount = try parameters.int("segments", default: 4, in: 1...16)
        try parameters.finish(known: ["segments"])
        self.capacity = capacity
        segmentCapacity = capacity / Int64(segmentCount)
        segments = Array(repeating: ListHead(), count: segmentCount)
    }

    public var occupied: Int64 { held }
    public var objectCount: Int { index.count }
    public var label: String { "slru(segments=\(segmentCount))" }

    /// Objects held by segment `k` (0 is the coldest).
    public func objects(inSegment k: Int) -> Int { segments[k].count }

    @inlinable
    public func canInsert(_ request: Request) -> Bool {
        request.size <= capacity && request.size <= segmentCapacity
    }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        hit(request, onEvict: { _ in })
    }

    @inlinable
    public mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool {
        if hit(request, onEvict: onEvict) { return true }
        guard admission.admit(request), canInsert(request) else { return false }
        while occupied + request.size > capacity {
            onEvict(evict(request))
        }
        insert(request)
        return false
    }

    /// libCacheSim's `SLRU_find(update_cache=true)`: promote, then cool the
    /// segment the object landed in until it fits.
    @inlinable
    mutating func hit(_ request: Request, onEvict: (Victim) -> Void) -> Bool {
        guard let i = index.find(request.id) else { return false }
        let s = Int(nodes[i].segment)
        if s == segmentCount - 1 {
            nodes.moveToHead(i, &segments[s])
            return true
        }
        let size = nodes[i].size
        nodes.unlink(i, &segments[s], size: size)
        nodes[i].segment = Int32(s + 1)
        nodes.pushHead(i, &segments[s + 1], size: size)
        while segments[Int(nodes[i].segment)].bytes > segmentCapacity {
            cool(Int(nodes[i].segment), onEvict: onEvict)
        }
        return true
    }

    /// Demotes the LRU object of segment `k` (evicts, for segment 0) and
    /// cascades while the segment below is overfull.
    @inlinable
    mutating func cool(_ k: Int, onEvict: (Victim) -> Void) {
        if k == 0 {
            onEvict(evict(Request(id: 0)))
            return
        }
        let i = segments[k].tail
        let size = nodes[i].size
        nodes.unlink(i, &segments[k], size: size)
        nodes.pushHead(i, &segments[k - 1], size: size)
        nodes[i].segment = Int32(k - 1)
        while segments[k - 1].bytes > segmentCapacity {
            cool(k - 1, onEvict: onEvict)
        }
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        // The lowest segment with room; segment 0 once every segment is full
        // (it may then exceed its share until a later demotion evicts).
        var k = 0
        for s in 0..<segmentCount where segments[s].bytes + request.size <= segmentCapacity {
            k = s
            break
        }
        let i = nodes.allocate(SLRUNode(id: request.id, size: request.size, segment: Int32(k)))
        nodes.pushHead(i, &segments[k], size: request.size)
        index.set(request.id, i)
        held += request.size
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        var k = 0
        while segments[k].bytes <= 0 { k += 1 }
        let i = segments[k].tail
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &segments[k], size: victim.size)
        held -= victim.size
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        held -= nodes[i].size
        nodes.unlink(i, &segments[Int(nodes[i].segment)], size: nodes[i].size)
        nodes.free(i)
        return true
    }
}
