/// Belady's MIN, as libCacheSim's `Belady.c`: evict the object whose next request
/// lies farthest in the future, read from each request's ``Request/nextAccess``.
///
/// Objects never requested again carry ``Request/never`` (libCacheSim's
/// `INT64_MAX`) and all compare equal; they stay cached until picked like any
/// other. Ties go wherever libCacheSim's binary heap (`pqueue`, keyed by the
/// next access converted to `double`) puts them, which ``IndexedMaxHeap``
/// reproduces exactly. Needs a trace with next-access times (oracleGeneral).
public struct Belady: EvictionPolicy {
    public static let name = "belady"

    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<ObjectNode>()
    @usableFromInline let heap = IndexedMaxHeap()
    @usableFromInline var bytes: Int64 = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }

    public var occupied: Int64 { bytes }
    public var objectCount: Int { heap.count }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        heap.update(i, key: Double(request.nextAccess))
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let i = nodes.allocate(ObjectNode(id: request.id, size: request.size))
        heap.insert(i, key: Double(request.nextAccess))
        index.set(request.id, i)
        bytes += request.size
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        let i = heap.pop()!
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        index.remove(victim.id)
        nodes.free(i)
        bytes -= victim.size
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        heap.remove(i)
        bytes -= nodes[i].size
        nodes.free(i)
        return true
    }
}
