/// A node of ``S3FIFO``: an object, its hit count and which queue holds it.
public struct S3FIFONode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// Hits while in the current queue (saturating; only small values matter).
    public var freq: Int32 = 0
    /// Whether the object is in the main queue (else the small one).
    public var inMain: Bool
    @inlinable public init(id: UInt64, size: Int64, inMain: Bool) {
        self.id = id
        self.size = size
        self.inMain = inMain
    }
}

/// S3-FIFO, as libCacheSim's `S3FIFO`: a small FIFO for new objects, a main
/// FIFO with reinsertion, and a ghost FIFO of ids recently dropped from the
/// small queue.
///
/// A miss enters the small queue, unless its id is in the ghost queue: then it
/// goes straight to main. Evicting from the small queue moves objects hit at
/// least `threshold` times to main (not an eviction) and drops the first
/// other one, remembering its id in the ghost queue. Main evicts its oldest
/// object with no hits, reinserting the others with their count lowered
/// (capped at 3, minus 1). Main is served when it is over its share or the
/// small queue is empty.
///
/// Parameters follow libCacheSim's defaults: `small=0.1` (fifo-size-ratio),
/// `ghost=0.9` (ghost-size-ratio), `threshold=2` (move-to-main-threshold;
/// libCacheSim's default is also 2, the value its own test uses).
///
/// libCacheSim's S3FIFO ignores an admission policy (its `can_insert` does
/// not consult one); TierKit applies it as for every other policy.
public struct S3FIFO: EvictionPolicy {
    public static let name = "s3fifo"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("small", "small FIFO share of the capacity (fifo-size-ratio), default 0.1"),
        ("ghost", "ghost FIFO size as a share of the capacity (ghost-size-ratio), default 0.9"),
        ("threshold", "hits in the small FIFO that move an object to main (move-to-main-threshold), default 2"),
    ]

    public let capacity: Int64
    /// Share of the capacity for the small FIFO.
    public let smallRatio: Double
    /// Size of the ghost FIFO as a share of the capacity.
    public let ghostRatio: Double
    /// Hits in the small FIFO that earn a move to main.
    public let threshold: Int
    /// Bytes of the small FIFO: `Int64(capacity * small)`, truncated as libCacheSim does.
    public let smallCapacity: Int64
    /// Bytes of the main FIFO: the rest of the capacity.
    public let mainCapacity: Int64
    /// Bytes of ids the ghost FIFO remembers (0: no ghost queue).
    public let ghostCapacity: Int64

    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<S3FIFONode>()
    @usableFromInline var small = ListHead()
    @usableFromInline var main = ListHead()
    @usableFromInline var ghost: GhostQueue
    /// Set by a lookup that found the id in the ghost queue; the following
    /// insert then goes to main.
    @usableFromInline var hitOnGhost = false
    @usableFromInline let moveThreshold: Int32

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        smallRatio = try parameters.double("small", default: 0.1, in: 0...1)
        ghostRatio = try parameters.double("ghost", default: 0.9, in: 0...16)
        threshold = try parameters.int("threshold", default: 2, in: 0...1_000_000)
        try parameters.finish(known: ["small", "ghost", "threshold"])
        self.capacity = capacity
        smallCapacity = Int64(Double(capacity) * smallRatio)
        mainCapacity = capacity - smallCapacity
        ghostCapacity = Int64(Double(capacity) * ghostRatio)
        ghost = GhostQueue(capacity: ghostCapacity)
        moveThreshold = Int32(threshold)
    }

    public var occupied: Int64 { small.bytes + main.bytes }
    public var objectCount: Int { small.count + main.count }
    public var label: String {
        "s3fifo(small=\(smallRatio),threshold=\(threshold)\(ghostRatio == 0.9 ? "" : ",ghost=\(ghostRatio)"))"
    }

    /// Objects in the small, main and ghost queues.
    public var queueCounts: (small: Int, main: Int, ghost: Int) { (small.count, main.count, ghost.count) }

    /// libCacheSim's S3FIFO accepts anything that fits the small queue.
    @inlinable
    public func canInsert(_ request: Request) -> Bool { request.size <= smallCapacity }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        hitOnGhost = false
        if let i = index.find(request.id) {
            nodes[i].freq = nodes[i].freq == .max ? .max : nodes[i].freq + 1
            return true
        }
        // A resident object is never in the ghost queue (ids enter it only as
        // they leave the small queue, and any request takes them out), so the
        // ghost is consulted only on a miss, as libCacheSim's order implies.
        if ghostCapacity > 0, ghost.forget(request.id) {
            hitOnGhost = true
        }
        return false
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let toMain = hitOnGhost
        if toMain {
            hitOnGhost = false
        } else if request.size >= smallCapacity {
            // libCacheSim tests `>=` here but `<=` in can_insert: an object the
            // exact size of the small queue makes room and is then not kept.
            return
        }
        let i = nodes.allocate(S3FIFONode(id: request.id, size: request.size, inMain: toMain))
        if toMain {
            nodes.pushHead(i, &main, size: request.size)
        } else {
            nodes.pushHead(i, &small, size: request.size)
        }
        index.set(request.id, i)
    }

    /// One libCacheSim `S3FIFO_evict` call may only move objects from the small
    /// queue to main; its caller then calls again. Both calls happen here, so
    /// exactly one object leaves.
    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        while true {
            if main.bytes > mainCapacity || small.bytes == 0 {
                if main.bytes > 0 { return evictMain() }
                // Only zero-byte objects remain: libCacheSim never evicts here
                // (it evicts only to make room), but the contract needs one victim.
                return drop(main.isEmpty ? small.tail : main.tail, fromMain: !main.isEmpty)
            }
            if let victim = evictSmall() { return victim }
        }
    }

    /// Walks the small queue from its oldest object: frequently hit objects move
    /// to main, the first other one is dropped (its id goes to the ghost queue).
    @inlinable
    mutating func evictSmall() -> Victim? {
        while small.bytes > 0 {
            let i = small.tail
            let size = nodes[i].size
            nodes.unlink(i, &small, size: size)
            if nodes[i].freq >= moveThreshold {
                nodes[i].freq = 0
                nodes[i].inMain = true
                nodes.pushHead(i, &main, size: size)
            } else {
                let id = nodes[i].id
                if ghostCapacity > 0 { ghost.remember(id, size: size) }
                index.remove(id)
                nodes.free(i)
                return Victim(id: id, size: size)
            }
        }
        return nil
    }

    /// Main's oldest object with no hits leaves; the others go back to the head.
    @inlinable
    mutating func evictMain() -> Victim {
        while true {
            let i = main.tail
            let freq = nodes[i].freq
            if freq >= 1 {
                nodes.moveToHead(i, &main)
                nodes[i].freq = min(freq, 3) - 1
            } else {
                return drop(i, fromMain: true)
            }
        }
    }

    @inlinable
    mutating func drop(_ i: Int32, fromMain: Bool) -> Victim {
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        if fromMain {
            nodes.unlink(i, &main, size: victim.size)
        } else {
            nodes.unlink(i, &small, size: victim.size)
        }
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    /// Removes a resident object (and forgets a ghost entry for `id`);
    /// returns whether the object was resident.
    public mutating func remove(_ id: UInt64) -> Bool {
        ghost.forget(id)
        guard let i = index.remove(id) else { return false }
        if nodes[i].inMain {
            nodes.unlink(i, &main, size: nodes[i].size)
        } else {
            nodes.unlink(i, &small, size: nodes[i].size)
        }
        nodes.free(i)
        return true
    }
}
