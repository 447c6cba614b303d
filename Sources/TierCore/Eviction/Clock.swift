/// A node of ``Clock``: an object and its small access counter.
public struct ClockNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// Accesses since the hand last passed, saturating at the counter's maximum.
    public var freq: Int32 = 0
    @inlinable public init(id: UInt64, size: Int64) {
        self.id = id
        self.size = size
    }
}

/// Clock (FIFO with reinsertion, second chance) with an n-bit access counter,
/// as libCacheSim's `Clock`.
///
/// A hit increments the object's counter up to `2^bits - 1`; eviction looks at
/// the oldest object and, while its counter is non-zero, decrements it and
/// reinserts the object at the head. With the default `bits=1` this is the
/// classic one-bit Clock.
public struct Clock: EvictionPolicy {
    public static let name = "clock"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("bits", "width of the per-object access counter (libCacheSim n-bit-counter), default 1"),
    ]

    public let capacity: Int64
    /// Counter width in bits.
    public let bits: Int
    @usableFromInline let maxFreq: Int32
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<ClockNode>()
    @usableFromInline var queue = ListHead()

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        bits = try parameters.int("bits", default: 1, in: 1...30)
        try parameters.finish(known: ["bits"])
        self.capacity = capacity
        maxFreq = Int32((1 << bits) - 1)
    }

    public var occupied: Int64 { queue.bytes }
    public var objectCount: Int { queue.count }
    public var label: String { "clock(bits=\(bits))" }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        if nodes[i].freq < maxFreq { nodes[i].freq += 1 }
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let i = nodes.allocate(ClockNode(id: request.id, size: request.size))
        nodes.pushHead(i, &queue, size: request.size)
        index.set(request.id, i)
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        var i = queue.tail
        // Each pass over an object costs it one count, so the loop ends.
        while nodes[i].freq >= 1 {
            nodes[i].freq -= 1
            nodes.moveToHead(i, &queue)
            i = queue.tail
        }
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
