/// A node of ``Sieve``: an object and its visited bit.
public struct SieveNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// 1 if the object was hit since the hand last passed it.
    public var visited: Int32 = 0
    @inlinable public init(id: UInt64, size: Int64) {
        self.id = id
        self.size = size
    }
}

/// SIEVE, as libCacheSim's `Sieve`: a FIFO queue with a visited bit and a
/// hand that sweeps from the oldest object towards the newest.
///
/// Unlike Clock, survivors stay where they are: the hand clears visited bits
/// as it moves, evicts the first unvisited object and remembers its place, so
/// new objects (at the head) are judged only once the hand reaches them.
public struct Sieve: EvictionPolicy {
    public static let name = "sieve"

    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<SieveNode>()
    @usableFromInline var queue = ListHead()
    /// The hand: the next object to examine, or -1 to start again at the tail.
    @usableFromInline var hand: Int32 = -1

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }

    public var occupied: Int64 { queue.bytes }
    public var objectCount: Int { queue.count }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        nodes[i].visited = 1
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let i = nodes.allocate(SieveNode(id: request.id, size: request.size))
        nodes.pushHead(i, &queue, size: request.size)
        index.set(request.id, i)
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        var i = hand >= 0 ? hand : queue.tail
        while nodes[i].visited > 0 {
            nodes[i].visited -= 1
            let p = nodes[i].prev
            i = p >= 0 ? p : queue.tail
        }
        hand = nodes[i].prev
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &queue, size: victim.size)
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        if i == hand { hand = nodes[i].prev }
        nodes.unlink(i, &queue, size: nodes[i].size)
        nodes.free(i)
        return true
    }
}
