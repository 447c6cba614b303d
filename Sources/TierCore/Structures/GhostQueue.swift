/// A FIFO of ids recently dropped from a cache, bounded in bytes: libCacheSim's
/// ghost queues (S3-FIFO's ghost, 2Q's A1out). It remembers ids and sizes only.
public struct GhostQueue {
    /// Bytes of ids it holds at most (0: it remembers nothing).
    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<ObjectNode>()
    @usableFromInline var queue = ListHead()

    public init(capacity: Int64) {
        self.capacity = capacity
    }

    /// Ids remembered now.
    public var count: Int { queue.count }

    /// Remembers `id` at the head, forgetting the oldest ids to make room, as
    /// libCacheSim's FIFO `get` does: an id already present, or larger than the
    /// whole queue, changes nothing.
    @inlinable
    public mutating func remember(_ id: UInt64, size: Int64) {
        if index.find(id) != nil || size > capacity { return }
        while queue.bytes + size > capacity {
            let t = queue.tail
            nodes.unlink(t, &queue, size: nodes[t].size)
            index.remove(nodes[t].id)
            nodes.free(t)
        }
        let g = nodes.allocate(ObjectNode(id: id, size: size))
        nodes.pushHead(g, &queue, size: size)
        index.set(id, g)
    }

    /// Forgets `id`; returns whether it was remembered.
    @inlinable @discardableResult
    public mutating func forget(_ id: UInt64) -> Bool {
        guard let g = index.remove(id) else { return false }
        nodes.unlink(g, &queue, size: nodes[g].size)
        nodes.free(g)
        return true
    }
}
