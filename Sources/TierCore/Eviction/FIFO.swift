/// First in, first out: hits change nothing; evict the oldest insertion.
public struct FIFO: EvictionPolicy {
    public static let name = "fifo"

    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<ObjectNode>()
    @usableFromInline var queue = ListHead()

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }

    public var occupied: Int64 { queue.bytes }
    public var objectCount: Int { queue.count }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        index.find(request.id) != nil
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let i = nodes.allocate(ObjectNode(id: request.id, size: request.size))
        nodes.pushHead(i, &queue, size: request.size)
        index.set(request.id, i)
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        let i = queue.tail
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &queue, size: victim.size)
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        nodes.unlink(i, &queue, size: nodes[i].size)
        nodes.free(i)
        return true
    }
}
