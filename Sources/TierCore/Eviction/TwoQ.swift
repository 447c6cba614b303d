/// A node of ``TwoQ``: an object and which queue holds it.
public struct TwoQNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// Whether the object is in Am (the LRU queue), else in A1in (the FIFO).
    public var inAm: Bool
    @inlinable public init(id: UInt64, size: Int64, inAm: Bool) {
        self.id = id
        self.size = size
        self.inAm = inAm
    }
}

/// 2Q (Johnson and Shasha), as libCacheSim's `TwoQ`: a FIFO A1in for new
/// objects, a ghost FIFO A1out of ids that left A1in, and an LRU Am.
///
/// A miss enters A1in, unless its id is in A1out: then it goes to Am. Hits in
/// A1in change nothing; hits in Am move the object to Am's head. Eviction
/// takes A1in's oldest object (remembering its id in A1out) while A1in is over
/// its share, else Am's LRU object. Am is also held to its own share when a
/// ghost hit enters it, so an insert can evict: use
/// ``access(_:admission:onEvict:)`` to see those victims.
///
/// Parameters follow libCacheSim's defaults: `ain=0.25` (Ain-size-ratio) and
/// `aout=0.5` (Aout-size-ratio), both shares of the capacity. libCacheSim's
/// TwoQ ignores an admission policy; TierKit applies it as for every policy.
public struct TwoQ: EvictionPolicy {
    public static let name = "twoq"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("ain", "A1in FIFO share of the capacity (Ain-size-ratio), default 0.25"),
        ("aout", "A1out ghost FIFO size as a share of the capacity (Aout-size-ratio), default 0.5"),
    ]

    public let capacity: Int64
    /// Share of the capacity for A1in.
    public let ainRatio: Double
    /// Size of A1out as a share of the capacity.
    public let aoutRatio: Double
    /// Bytes of A1in: `Int64(capacity * ain)`, truncated as libCacheSim does.
    public let ainCapacity: Int64
    /// Bytes of ids A1out remembers.
    public let aoutCapacity: Int64
    /// Bytes of Am: the rest of the capacity.
    public let amCapacity: Int64

    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<TwoQNode>()
    @usableFromInline var ain = ListHead()
    @usableFromInline var am = ListHead()
    @usableFromInline var aout: GhostQueue
    /// Set by a lookup that found the id in A1out; the following insert goes to Am.
    @usableFromInline var hitOnGhost = false

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        ainRatio = try parameters.double("ain", default: 0.25, in: 0...1)
        aoutRatio = try parameters.double("aout", default: 0.5, in: 0...16)
        try parameters.finish(known: ["ain", "aout"])
        self.capacity = capacity
        ainCapacity = Int64(Double(capacity) * ainRatio)
        aoutCapacity = Int64(Double(capacity) * aoutRatio)
        aout = GhostQueue(capacity: aoutCapacity)
        amCapacity = capacity - ainCapacity
    }

    public var occupied: Int64 { ain.bytes + am.bytes }
    public var objectCount: Int { ain.count + am.count }
    public var label: String { "twoq(ain=\(ainRatio),aout=\(aoutRatio))" }

    /// Objects in A1in, Am and A1out.
    public var queueCounts: (ain: Int, am: Int, aout: Int) { (ain.count, am.count, aout.count) }

    /// libCacheSim's TwoQ accepts anything that fits A1in.
    @inlinable
    public func canInsert(_ request: Request) -> Bool { request.size <= ainCapacity }

    @inlinable
    public mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool {
        if lookup(request) { return true }
        guard admission.admit(request), canInsert(request) else { return false }
        while occupied + request.size > capacity {
            onEvict(evict(request))
        }
        insert(request, onEvict: onEvict)
        return false
    }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        hitOnGhost = false
        guard let i = index.find(request.id) else {
            if aout.forget(request.id) {
                hitOnGhost = true
            }
            return false
        }
        // Resident ids are never in A1out (they enter it only as they leave
        // A1in, and any request takes them out), so a hit skips the ghost.
        if nodes[i].inAm { nodes.moveToHead(i, &am) }
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        insert(request, onEvict: { _ in })
    }

    /// libCacheSim's `TwoQ_insert`: a ghost hit is a full `get` on Am, which
    /// evicts from Am until the object fits Am's share.
    @inlinable
    mutating func insert(_ request: Request, onEvict: (Victim) -> Void) {
        guard hitOnGhost else {
            let i = nodes.allocate(TwoQNode(id: request.id, size: request.size, inAm: false))
            nodes.pushHead(i, &ain, size: request.size)
            index.set(request.id, i)
            return
        }
        hitOnGhost = false
        guard request.size <= amCapacity else { return }
        while am.bytes + request.size > amCapacity {
            onEvict(drop(am.tail))
        }
        let i = nodes.allocate(TwoQNode(id: request.id, size: request.size, inAm: true))
        nodes.pushHead(i, &am, size: request.size)
        index.set(request.id, i)
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        // Am is never empty here when evicting to make room with the default
        // shares; with A1in over half the cache it can be, and then A1in yields.
        if ain.bytes > ainCapacity || am.isEmpty {
            let i = ain.tail
            aout.remember(nodes[i].id, size: nodes[i].size)
            return drop(i)
        }
        return drop(am.tail)
    }

    @inlinable
    mutating func drop(_ i: Int32) -> Victim {
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        if nodes[i].inAm {
            nodes.unlink(i, &am, size: victim.size)
        } else {
            nodes.unlink(i, &ain, size: victim.size)
        }
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    /// Removes a resident object (and forgets an A1out entry for `id`);
    /// returns whether the object was resident.
    public mutating func remove(_ id: UInt64) -> Bool {
        aout.forget(id)
        guard let i = index.remove(id) else { return false }
        if nodes[i].inAm {
            nodes.unlink(i, &am, size: nodes[i].size)
        } else {
            nodes.unlink(i, &ain, size: nodes[i].size)
        }
        nodes.free(i)
        return true
    }
}
