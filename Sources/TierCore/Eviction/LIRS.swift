/// One entry of a ``LIRS`` stack. An object can have an entry in S, in Q and in
/// NH at once; each entry keeps its own flags and size, as libCacheSim's three
/// LRU sub-caches do.
@usableFromInline
struct LIRSNode: ListNode {
    @usableFromInline var prev: Int32 = -1
    @usableFromInline var next: Int32 = -1
    @usableFromInline var id: UInt64
    @usableFromInline var size: Int64
    /// Low inter-reference recency: the object is in the protected LIR set.
    @usableFromInline var isLIR: Bool
    /// The object is held (false for S's non-resident HIR entries).
    @usableFromInline var resident: Bool

    @inlinable init(id: UInt64, size: Int64, isLIR: Bool, resident: Bool) {
        self.id = id
        self.size = size
        self.isLIR = isLIR
        self.resident = resident
    }
}

/// One LRU stack of ``LIRS``: its own id table and list over the shared node pool.
@usableFromInline
struct LIRSStack {
    @usableFromInline let index = IdTable()
    @usableFromInline var list = ListHead()

    @inlinable init() {}

    @inlinable func find(_ id: UInt64) -> Int32? { index.find(id) }

    /// Pushes a new entry on top of the stack.
    @inlinable @discardableResult
    mutating func push(_ node: LIRSNode, _ pool: NodePool<LIRSNode>) -> Int32 {
        let i = pool.allocate(node)
        pool.pushHead(i, &list, size: node.size)
        index.set(node.id, i)
        return i
    }

    @inlinable mutating func touch(_ i: Int32, _ pool: NodePool<LIRSNode>) {
        pool.moveToHead(i, &list)
    }

    /// Unlinks, unindexes and frees entry `i`.
    @inlinable mutating func drop(_ i: Int32, _ pool: NodePool<LIRSNode>) {
        let id = pool[i].id
        pool.unlink(i, &list, size: pool[i].size)
        index.remove(id)
        pool.free(i)
    }

    @inlinable @discardableResult
    mutating func remove(_ id: UInt64, _ pool: NodePool<LIRSNode>) -> Bool {
        guard let i = index.find(id) else { return false }
        drop(i, pool)
        return true
    }
}

/// Low Inter-reference Recency Set (Jiang and Zhang, SIGMETRICS '02), byte-sized as in libCacheSim.
///
/// Stack S orders recently seen objects (LIR, resident HIR and non-resident HIR
/// entries); queue Q holds the resident HIR objects, which are evicted first; NH
/// lists S's non-resident entries oldest first so that S can be trimmed to twice
/// the cache size. LIR objects get `1 - hir` of the bytes, Q gets `hir`.
///
/// This mirrors libCacheSim's LIRS.c step for step, including its admission
/// rules (an object larger than Q's share is never cached), the eviction that
/// happens while making room on some hits, and S pruning. ``access(_:admission:onEvict:)``
/// is the exact replay path; ``evict(_:)`` alone removes one object (Q's oldest,
/// demoting LIR objects into Q first if Q is empty).
public struct LIRS: EvictionPolicy {
    public static let name = "lirs"
    public static var parameterHelp: [(key: String, help: String)] {
        [("hir", "share of the cache for resident HIR objects (queue Q), in (0, 0.5]; default 0.01 as in libCacheSim")]
    }

    public let capacity: Int64
    /// Share of the cache for resident HIR objects.
    public let hirRatio: Double
    // libCacheSim keeps these counters unsigned; wrapping arithmetic mirrors it.
    @usableFromInline let hirLimit: UInt64
    @usableFromInline let lirLimit: UInt64
    @usableFromInline var lirBytes: UInt64 = 0
    @usableFromInline var hirBytes: UInt64 = 0
    @usableFromInline var nonresidentBytes: UInt64 = 0
    @usableFromInline var residentBytes: Int64 = 0
    @usableFromInline var residentCount: Int = 0
    @usableFromInline let nodes = NodePool<LIRSNode>()
    @usableFromInline var s = LIRSStack()
    @usableFromInline var q = LIRSStack()
    @usableFromInline var nh = LIRSStack()

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        let hir = try parameters.double("hir", default: 0.01, in: 0.000_001...0.5)
        try parameters.finish(known: ["hir"])
        self.capacity = capacity
        self.hirRatio = hir
        // (uint64_t)(ratio * size), at least 1; the rest is the LIR share.
        hirLimit = max(1, UInt64(hir * Double(max(capacity, 0))))
        lirLimit = UInt64(bitPattern: capacity) &- hirLimit
    }

    public var occupied: Int64 { residentBytes }
    public var objectCount: Int { residentCount }
    public var label: String { "lirs(hir=\(hirRatio))" }

    // MARK: Protocol entry points

    /// The whole libCacheSim `LIRS_get`: find, can-insert (which may evict), evict
    /// until the object fits, insert, then trim stack S.
    @inlinable
    public mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool {
        let hit = find(request, onEvict)
        if !hit, admission.admit(request), prepareInsert(request, onEvict) {
            while residentBytes + request.size > capacity {
                guard evictForInsert(request, onEvict) else { break }
            }
            if residentBytes + request.size <= capacity { insertMissed(request) }
        }
        limitStack()
        return hit
    }

    /// A hit may demote LIR objects and so evict; use ``access(_:admission:onEvict:)``
    /// to see those victims.
    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        let hit = find(request, { _ in })
        if hit { limitStack() }
        return hit
    }

    /// libCacheSim's size rule without its side effects: an unseen object must fit
    /// both the LIR and the HIR share.
    @inlinable
    public func canInsert(_ request: Request) -> Bool {
        guard request.size <= capacity else { return false }
        if s.find(request.id) != nil || q.find(request.id) != nil { return true }
        let size = UInt64(bitPattern: request.size)
        return size <= lirLimit && size <= hirLimit
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        insertMissed(request)
        limitStack()
    }

    /// Evicts Q's oldest resident; when Q is empty, LIR objects are demoted into
    /// Q first (an LIR object too large for Q is evicted directly).
    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        precondition(residentCount > 0, "lirs: evict from an empty cache")
        var victim: Victim?
        while victim == nil {
            if !q.list.isEmpty {
                evictHIR { victim = $0 }
            } else if !s.list.isEmpty {
                evictLIR { victim = $0 }
            } else {
                preconditionFailure("lirs: no resident object to evict")
            }
        }
        return victim!
    }

    /// Removes `id` if cached. A non-resident HIR entry of `id` is forgotten too,
    /// but does not count as cached.
    public mutating func remove(_ id: UInt64) -> Bool {
        let si = s.find(id), qi = q.find(id)
        if let si {
            let size = nodes[si].size
            if nodes[si].isLIR {
                s.drop(si, nodes)
                lirBytes &-= UInt64(bitPattern: size)
                residentBytes -= size
                residentCount -= 1
                prune()
                return true
            }
            let resident = nodes[si].resident
            s.drop(si, nodes)
            if resident {
                hirBytes &-= UInt64(bitPattern: size)
                residentBytes -= size
                residentCount -= 1
            } else {
                // libCacheSim leaves the NH entry behind; dropping it keeps the counts right.
                if nh.remove(id, nodes) { nonresidentBytes &-= UInt64(bitPattern: size) }
            }
            if let qi { q.drop(qi, nodes) }
            return resident
        }
        if let qi {
            let size = nodes[qi].size
            q.drop(qi, nodes)
            hirBytes &-= UInt64(bitPattern: size)
            residentBytes -= size
            residentCount -= 1
            return true
        }
        return false
    }

    // MARK: libCacheSim's steps

    /// `LIRS_find(update=true)`: both stacks promote the object, then the LIRS cases.
    @inlinable
    mutating func find(_ request: Request, _ onEvict: (Victim) -> Void) -> Bool {
        let si = s.find(request.id)
        if let si { s.touch(si, nodes) }
        let qi = q.find(request.id)
        if let qi { q.touch(qi, nodes) }
        if let si {
            if nodes[si].isLIR {
                prune()
                return true
            }
            if nodes[si].resident {
                hitResidentHIRInS(si, qi, onEvict)
                return true
            }
            return false  // non-resident HIR: a miss
        }
        if let qi, nodes[qi].resident {
            hitResidentHIRInQ(qi, onEvict)
            return true
        }
        return false
    }

    /// A resident HIR object still in S has a short reuse distance: it becomes LIR
    /// and leaves Q.
    @inlinable
    mutating func hitResidentHIRInS(_ si: Int32, _ qi: Int32?, _ onEvict: (Victim) -> Void) {
        if let qi {
            let qSize = nodes[qi].size
            hirBytes &-= UInt64(bitPattern: qSize)
            q.drop(qi, nodes)
            residentBytes -= qSize
            residentCount -= 1
        }
        let id = nodes[si].id, size = nodes[si].size
        while lirBytes &+ UInt64(bitPattern: size) > lirLimit, !s.list.isEmpty {
            evictLIR(onEvict)
        }
        // The entry sits on top of S, so demotions (from S's bottom) leave it.
        if let si = s.find(id) { nodes[si].isLIR = true }
        lirBytes &+= UInt64(bitPattern: size)
        residentBytes += size
        residentCount += 1
    }

    /// A resident HIR object no longer in S stays HIR and gets a new S entry.
    @inlinable
    mutating func hitResidentHIRInQ(_ qi: Int32, _ onEvict: (Victim) -> Void) {
        let id = nodes[qi].id, size = nodes[qi].size
        while lirBytes &+ UInt64(bitPattern: size) > lirLimit, !s.list.isEmpty {
            evictLIR(onEvict)
        }
        // libCacheSim adds the S entry even when the demotions above evicted the
        // object from a tiny Q; its counters stay as they are.
        s.push(LIRSNode(id: id, size: size, isLIR: false, resident: true), nodes)
    }

    /// `LIRS_can_insert` after the admission and whole-cache size checks: may
    /// demote LIR objects or evict HIR ones to make the insert possible.
    @inlinable
    mutating func prepareInsert(_ request: Request, _ onEvict: (Victim) -> Void) -> Bool {
        guard request.size <= capacity else { return false }
        let si = s.find(request.id), qi = q.find(request.id)
        if let si, !nodes[si].isLIR, !nodes[si].resident {
            let id = nodes[si].id, size = UInt64(bitPattern: nodes[si].size)
            while lirBytes &+ size > lirLimit, !s.list.isEmpty {
                evictLIR(onEvict)
            }
            if nh.remove(id, nodes) { nonresidentBytes &-= size }
            return true
        }
        if si == nil, qi == nil {
            let size = UInt64(bitPattern: request.size)
            if size > lirLimit || size > hirLimit { return false }
            if lirBytes &+ size > lirLimit, hirBytes &+ size > hirLimit {
                while hirBytes &+ size > hirLimit, !q.list.isEmpty {
                    evictHIR(onEvict)
                }
            }
            return true
        }
        // libCacheSim aborts here; a miss cannot reach it.
        return false
    }

    /// One `LIRS_evict` call; false if it could not change anything.
    @inlinable
    mutating func evictForInsert(_ request: Request, _ onEvict: (Victim) -> Void) -> Bool {
        let si = s.find(request.id), qi = q.find(request.id)
        let size = UInt64(bitPattern: request.size)
        if let si, !nodes[si].isLIR, !nodes[si].resident {
            // Returning non-resident HIR object: it will become LIR.
            while hirBytes >= hirLimit, !q.list.isEmpty {
                evictHIR(onEvict)
            }
            guard !s.list.isEmpty else { return false }
            evictLIR(onEvict)
            return true
        }
        if si == nil, qi == nil {
            guard lirBytes &+ size > lirLimit, hirBytes &+ size > hirLimit, !q.list.isEmpty else { return false }
            evictHIR(onEvict)
            return true
        }
        return false
    }

    /// `LIRS_insert`: a returning non-resident HIR object becomes LIR; an unseen
    /// one is LIR while the LIR share has room, otherwise resident HIR in S and Q.
    @inlinable
    mutating func insertMissed(_ request: Request) {
        let si = s.find(request.id), qi = q.find(request.id)
        if let si, !nodes[si].isLIR, !nodes[si].resident {
            let size = nodes[si].size
            nodes[si].isLIR = true
            nodes[si].resident = true
            lirBytes &+= UInt64(bitPattern: size)
            residentBytes += size
            residentCount += 1
        }
        if si == nil, let qi, !nodes[qi].resident {
            // Unreachable (Q entries are resident); kept as libCacheSim has it.
            s.push(LIRSNode(id: request.id, size: request.size, isLIR: false, resident: true), nodes)
            q.push(LIRSNode(id: request.id, size: request.size, isLIR: false, resident: true), nodes)
            hirBytes &+= UInt64(bitPattern: request.size)
            residentBytes += request.size
            residentCount += 1
        }
        if si == nil, qi == nil {
            if lirBytes &+ UInt64(bitPattern: request.size) <= lirLimit {
                s.push(LIRSNode(id: request.id, size: request.size, isLIR: true, resident: true), nodes)
                lirBytes &+= UInt64(bitPattern: request.size)
            } else {
                s.push(LIRSNode(id: request.id, size: request.size, isLIR: false, resident: true), nodes)
                q.push(LIRSNode(id: request.id, size: request.size, isLIR: false, resident: true), nodes)
                hirBytes &+= UInt64(bitPattern: request.size)
            }
            residentBytes += request.size
            residentCount += 1
        }
    }

    /// Stack pruning: pop HIR entries off S's bottom until an LIR one is there
    /// (libCacheSim stops before the top entry even if it is HIR).
    @inlinable
    mutating func prune() {
        var t = s.list.tail
        while t != s.list.head {
            if nodes[t].isLIR { break }
            if !nodes[t].resident, nh.remove(nodes[t].id, nodes) {
                nonresidentBytes &-= UInt64(bitPattern: nodes[t].size)
            }
            s.drop(t, nodes)
            t = s.list.tail
        }
    }

    /// Demotes S's bottom (LIR) object to Q's top, evicting from Q to make room;
    /// an object larger than Q's share is evicted instead. Then prunes S.
    @inlinable
    mutating func evictLIR(_ onEvict: (Victim) -> Void) {
        let t = s.list.tail
        let id = nodes[t].id, size = nodes[t].size
        let usize = UInt64(bitPattern: size)
        lirBytes &-= usize
        s.drop(t, nodes)
        residentBytes -= size
        residentCount -= 1
        if usize <= hirLimit {
            while hirBytes &+ usize > hirLimit, !q.list.isEmpty {
                evictHIR(onEvict)
            }
            q.push(LIRSNode(id: id, size: size, isLIR: false, resident: true), nodes)
            hirBytes &+= usize
            residentBytes += size
            residentCount += 1
        } else {
            onEvict(Victim(id: id, size: size))
        }
        prune()
    }

    /// Evicts Q's bottom object; its S entry, if any, becomes non-resident and
    /// joins NH.
    @inlinable
    mutating func evictHIR(_ onEvict: (Victim) -> Void) {
        let t = q.list.tail
        let id = nodes[t].id, size = nodes[t].size
        hirBytes &-= UInt64(bitPattern: size)
        q.drop(t, nodes)
        if let si = s.find(id) {
            nodes[si].resident = false
            nh.push(LIRSNode(id: id, size: size, isLIR: false, resident: false), nodes)
            nonresidentBytes &+= UInt64(bitPattern: nodes[si].size)
        }
        residentBytes -= size
        residentCount -= 1
        onEvict(Victim(id: id, size: size))
    }

    /// Keeps S within twice the cache size by forgetting the oldest non-resident entries.
    @inlinable
    mutating func limitStack() {
        while s.list.bytes > capacity &* 2 {
            let t = nh.list.tail
            if t < 0 { break }
            let id = nodes[t].id
            nonresidentBytes &-= UInt64(bitPattern: nodes[t].size)
            s.remove(id, nodes)
            nh.drop(t, nodes)
        }
    }
}
