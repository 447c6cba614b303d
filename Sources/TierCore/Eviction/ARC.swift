/// Per-object state of ``ARC``: a resident object (T1/T2) or a ghost (B1/B2).
///
/// Ghosts live in the same pool and id table as resident objects, as in
/// libCacheSim, so a ghost hit costs one lookup.
@usableFromInline
struct ARCNode: ListNode {
    @usableFromInline var prev: Int32 = -1
    @usableFromInline var next: Int32 = -1
    @usableFromInline var id: UInt64
    @usableFromInline var size: Int64
    /// 1 for T1/B1 (seen once recently), 2 for T2/B2 (seen at least twice).
    @usableFromInline var list: UInt8
    /// True when the object is only remembered, not held.
    @usableFromInline var ghost: Bool

    @inlinable init(id: UInt64, size: Int64, list: UInt8) {
        self.id = id
        self.size = size
        self.list = list
        self.ghost = false
    }
}

/// Adaptive Replacement Cache (Megiddo and Modha, FAST '03), byte-sized as in libCacheSim.
///
/// T1 holds objects seen once, T2 objects seen again; B1 and B2 remember the ids
/// and sizes evicted from each. A hit in B1 grows the target size `p` of T1, a hit
/// in B2 shrinks it, and eviction takes T1's or T2's LRU end depending on `p`.
/// Sizes are bytes, `p` is a `Double` and the ghost-trimming rules follow
/// libCacheSim's variable-size adaptation, so counts match it exactly.
public struct ARC: EvictionPolicy {
    public static let name = "arc"
    public static var parameterHelp: [(key: String, help: String)] { [] }

    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<ARCNode>()
    @usableFromInline var t1 = ListHead()
    @usableFromInline var t2 = ListHead()
    @usableFromInline var b1 = ListHead()
    @usableFromInline var b2 = ListHead()
    /// Target bytes of T1.
    @usableFromInline var p: Double = 0
    @usableFromInline var ghostHitInB1 = false
    @usableFromInline var ghostHitInB2 = false
    /// Requests seen (libCacheSim's `n_req`): a ghost hit steers the eviction and
    /// insertion of the same request only.
    @usableFromInline var clock: Int64 = 0
    @usableFromInline var ghostHitClock: Int64 = -1

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }

    public var occupied: Int64 { t1.bytes + t2.bytes }
    public var objectCount: Int { t1.count + t2.count }

    /// Bytes remembered in the ghost lists B1 and B2.
    public var ghostBytes: Int64 { b1.bytes + b2.bytes }
    /// The current target size of T1, in bytes.
    public var target: Double { p }

    @inlinable
    var ghostHitPending: Bool { ghostHitClock == clock && (ghostHitInB1 || ghostHitInB2) }

    /// A hit in T1 or T2 promotes to T2's head. A ghost hit adapts `p`, drops the
    /// ghost and counts as a miss; the following insert then goes to T2.
    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        clock &+= 1
        guard let i = index.find(request.id) else { return false }
        ghostHitInB1 = false
        ghostHitInB2 = false
        let size = nodes[i].size
        if nodes[i].ghost {
            ghostHitClock = clock
            // The ratio uses the ghost sizes before this ghost leaves its list.
            if nodes[i].list == 1 {
                ghostHitInB1 = true
                let delta = Self.larger(Double(b2.bytes) / Double(b1.bytes), 1)
                p = Self.smaller(p + delta, Double(capacity))
                nodes.unlink(i, &b1, size: size)
            } else {
                ghostHitInB2 = true
                let delta = Self.larger(Double(b1.bytes) / Double(b2.bytes), 1)
                p = Self.larger(p - delta, 0)
                nodes.unlink(i, &b2, size: size)
            }
            index.remove(request.id)
            nodes.free(i)
            return false
        }
        if nodes[i].list == 1 {
            nodes[i].list = 2
            nodes.unlink(i, &t1, size: size)
            nodes.pushHead(i, &t2, size: size)
        } else {
            nodes.moveToHead(i, &t2)
        }
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let toT2 = ghostHitPending
        let i = nodes.allocate(ARCNode(id: request.id, size: request.size, list: toT2 ? 2 : 1))
        if toT2 {
            nodes.pushHead(i, &t2, size: request.size)
            ghostHitInB1 = false
            ghostHitInB2 = false
            ghostHitClock = -1
        } else {
            nodes.pushHead(i, &t1, size: request.size)
        }
        index.set(request.id, i)
    }

    /// Evicts one resident object: REPLACE after a ghost hit, otherwise the paper's
    /// case IV, which may first forget the LRU ghost of B1 or B2.
    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        if ghostHitPending { return replace() }
        if t1.bytes + b1.bytes + request.size > capacity {
            // L1 = T1 + B1 is full.
            if b1.bytes > 0 {
                let g = b1.tail
                nodes.unlink(g, &b1, size: nodes[g].size)
                forget(g)
                return replace()
            }
            // B1 is empty, so T1 alone fills the cache: evict without a ghost.
            let i = t1.tail
            let victim = Victim(id: nodes[i].id, size: nodes[i].size)
            nodes.unlink(i, &t1, size: victim.size)
            index.remove(victim.id)
            nodes.free(i)
            return victim
        }
        if t1.bytes + b1.bytes + t2.bytes + b2.bytes >= capacity &* 2, b2.bytes > 0 {
            // Variable sizes can leave B2 empty here; then nothing is forgotten.
            let g = b2.tail
            nodes.unlink(g, &b2, size: nodes[g].size)
            forget(g)
        }
        return replace()
    }

    /// The paper's REPLACE: move T1's or T2's LRU object to its ghost list.
    @inlinable
    mutating func replace() -> Victim {
        let t1Bytes = Double(t1.bytes)
        let fromT1 = (t1.bytes > 0 && (t1Bytes > p || (t1Bytes == p && ghostHitInB2))) || t2.bytes == 0
        let i: Int32
        if fromT1 {
            i = t1.tail
            let size = nodes[i].size
            nodes.unlink(i, &t1, size: size)
            nodes.pushHead(i, &b1, size: size)
        } else {
            i = t2.tail
            let size = nodes[i].size
            nodes.unlink(i, &t2, size: size)
            nodes.pushHead(i, &b2, size: size)
        }
        nodes[i].ghost = true
        return Victim(id: nodes[i].id, size: nodes[i].size)
    }

    /// Drops an unlinked ghost from the table and the pool.
    @inlinable
    func forget(_ i: Int32) {
        index.remove(nodes[i].id)
        nodes.free(i)
    }

    /// Removes a resident object without leaving a ghost. A ghost of `id` is
    /// forgotten too, but does not count as cached.
    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        let size = nodes[i].size
        let ghost = nodes[i].ghost
        switch (ghost, nodes[i].list) {
        case (false, 1): nodes.unlink(i, &t1, size: size)
        case (false, _): nodes.unlink(i, &t2, size: size)
        case (true, 1): nodes.unlink(i, &b1, size: size)
        case (true, _): nodes.unlink(i, &b2, size: size)
        }
        nodes.free(i)
        return !ghost
    }

    // libCacheSim's MAX/MIN macros: `a > b ? a : b`, so a NaN ratio (0/0) yields `b`.
    @inlinable static func larger(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
    @inlinable static func smaller(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
}
