/// Per-object state of ``WTinyLFU``: the queue that holds the object.
public struct TinyLFUNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    /// ``WTinyLFU/windowQueue``, ``WTinyLFU/probationQueue`` or ``WTinyLFU/protectedQueue``.
    public var queue: Int8
    /// The id's sketch hashes, kept so each sketch update skips two XXH64 runs.
    public var hashes: (UInt32, UInt32)
    @inlinable public init(id: UInt64, size: Int64, queue: Int8, hashes: (UInt32, UInt32)) {
        self.id = id
        self.size = size
        self.queue = queue
        self.hashes = hashes
    }
}

/// W-TinyLFU as libCacheSim implements it (`WTinyLFU.c`; cachesim's `tinyLFU`).
///
/// Misses enter a small LRU window (`window` of the capacity). When the cache is
/// full, the window's LRU victim moves to the main cache if that has room;
/// otherwise it competes with the main cache's victim and the one with the
/// higher estimated frequency (a ``CountingBloomFilter``) stays. The main cache
/// is an SLRU with a 20% probationary and an 80% protected segment (or an LRU).
///
/// libCacheSim's details are kept because results are compared with it: the
/// window is not capped at its share (it only bounds object size), so it fills
/// the whole cache until the first eviction; one eviction keeps draining the
/// window into the main cache until a window victim loses, so it can remove
/// several objects; the sketch counts insertions, main-cache hits (not window
/// hits) and every window victim considered, has no doorkeeper, and halves its
/// counters after `32 × main capacity` main-cache hits. A main-cache hit can
/// itself evict: promotion overflows the protected segment, which cools into the
/// probationary one, whose overflow is evicted.
public struct WTinyLFU: EvictionPolicy {
    public static let name = "wtinylfu"

    public static var parameterHelp: [(key: String, help: String)] {
        [("window", "share of the capacity for the LRU window, in [0, 1) (default 0.01; also window-size)"),
         ("main", "main cache: slru (probationary 1/5 + protected 4/5, the default) or lru (also main-cache)")]
    }

    /// The main cache behind the window.
    public enum MainCache: String, Sendable {
        /// libCacheSim's SLRU with `seg-size=1:4`.
        case slru
        /// libCacheSim's LRU.
        case lru
    }

    public static let windowQueue: Int8 = 0
    public static let probationQueue: Int8 = 1
    public static let protectedQueue: Int8 = 2

    public let capacity: Int64
    /// Share of the capacity given to the window.
    public let window: Double
    public let main: MainCache
    /// Window capacity: the largest object the cache admits.
    public let windowCapacity: Int64
    public let mainCapacity: Int64
    /// Byte limits of the probationary and protected segments (SLRU main only).
    @usableFromInline let probationLimit: Int64
    @usableFromInline let protectedLimit: Int64

    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<TinyLFUNode>()
    /// Window, probationary and protected queues, indexed by ``TinyLFUNode/queue``.
    @usableFromInline var queues = [ListHead](repeating: ListHead(), count: 3)
    @usableFromInline let sketch: CountingBloomFilter
    /// Main-cache hits between two halvings of the sketch.
    @usableFromInline let decayPeriod: Int64
    @usableFromInline var hitsSinceDecay: Int64 = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        let windowAlias = try parameters.double("window-size", default: 0.01)
        let window = try parameters.double("window", default: windowAlias)
        guard window >= 0, window < 1 else {
            throw PolicyError("\(Self.name): window=\(window) must be in [0, 1)")
        }
        let mainAlias = parameters.string("main-cache", default: MainCache.slru.rawValue)
        let mainName = parameters.string("main", default: mainAlias).lowercased()
        guard let main = MainCache(rawValue: mainName) else {
            throw PolicyError("\(Self.name): main=\(mainName) is not one of slru, lru")
        }
        try parameters.finish(known: ["window", "main"])

        self.capacity = capacity
        self.window = window
        self.main = main
        // libCacheSim scales the size in double precision and truncates.
        windowCapacity = Int64(Double(capacity) * window)
        mainCapacity = capacity - windowCapacity
        switch main {
        case .slru:
            probationLimit = Int64(1.0 / 5.0 * Double(mainCapacity))
            protectedLimit = Int64(4.0 / 5.0 * Double(mainCapacity))
        case .lru:
            probationLimit = mainCapacity
            protectedLimit = 0
        }
        sketch = CountingBloomFilter(entries: mainCapacity)
        decayPeriod = 32 &* mainCapacity
    }

    public var occupied: Int64 { queues[0].bytes + queues[1].bytes + queues[2].bytes }
    public var objectCount: Int { queues[0].count + queues[1].count + queues[2].count }
    public var label: String { "\(Self.name)(window=\(window),main=\(main.rawValue))" }

    @inlinable var mainOccupied: Int64 { queues[1].bytes + queues[2].bytes }

    /// An object must fit the window and the main cache's first segment.
    @inlinable
    public func canInsert(_ request: Request) -> Bool {
        request.size <= capacity && request.size <= windowCapacity
            && request.size <= mainCapacity && request.size <= probationLimit
    }

    // MARK: EvictionPolicy

    /// Looks `request` up and updates the state. A main-cache hit can evict
    /// objects (see the type's notes); only ``access(_:admission:onEvict:)``
    /// reports those.
    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        find(request, onEvict: { _ in })
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        let hashes = sketch.bases(request.id)
        let i = nodes.allocate(TinyLFUNode(id: request.id, size: request.size, queue: Self.windowQueue, hashes: hashes))
        nodes.pushHead(i, &queues[0], size: request.size)
        index.set(request.id, i)
        sketch.add(bases: hashes)
    }

    /// Removes exactly one object. Runs libCacheSim's eviction loop but stops at
    /// the first victim: when a window victim beats the main victim it follows
    /// the evicted main victim into the main cache only if it fits there without
    /// a further eviction.
    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        evictRound(single: true, onEvict: { _ in })
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        let q = Int(nodes[i].queue)
        nodes.unlink(i, &queues[q], size: nodes[i].size)
        nodes.free(i)
        return true
    }

    /// libCacheSim's `cache_get_base` with `WTinyLFU_evict`, which may evict
    /// several objects per call, and hits that may evict.
    @inlinable
    public mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool {
        if find(request, onEvict: onEvict) { return true }
        guard admission.admit(request), canInsert(request) else { return false }
        while occupied + request.size > capacity {
            _ = evictRound(single: false, onEvict: onEvict)
        }
        insert(request)
        return false
    }

    // MARK: libCacheSim's control flow

    /// `WTinyLFU_find` with update: window hits refresh the window; main hits go
    /// through the SLRU and are counted in the sketch.
    @inlinable
    mutating func find(_ request: Request, onEvict: (Victim) -> Void) -> Bool {
        guard let i = index.find(request.id) else { return false }
        if nodes[i].queue == Self.windowQueue {
            nodes.moveToHead(i, &queues[0])
            return true
        }
        let hashes = nodes[i].hashes
        mainHit(i, onEvict: onEvict)
        sketch.add(bases: hashes)
        hitsSinceDecay += 1
        if hitsSinceDecay >= decayPeriod {
            hitsSinceDecay = 0
            sketch.decay()
        }
        return true
    }

    /// `SLRU_find` (or `LRU_find`): the top segment refreshes, the probationary
    /// one promotes, and an overfull protected segment cools its tail down.
    @inlinable
    mutating func mainHit(_ i: Int32, onEvict: (Victim) -> Void) {
        let q = nodes[i].queue
        if main == .lru || q == Self.protectedQueue {
            nodes.moveToHead(i, &queues[Int(q)])
            return
        }
        let size = nodes[i].size
        nodes.unlink(i, &queues[1], size: size)
        nodes.pushHead(i, &queues[2], size: size)
        nodes[i].queue = Self.protectedQueue
        while queues[2].bytes > protectedLimit {
            // SLRU_cool(1): the protected tail moves down; probation overflow is evicted.
            let t = queues[2].tail
            let tSize = nodes[t].size
            nodes.unlink(t, &queues[2], size: tSize)
            nodes.pushHead(t, &queues[1], size: tSize)
            nodes[t].queue = Self.probationQueue
            while queues[1].bytes > probationLimit {
                onEvict(mainEvict())
            }
        }
    }

    /// `SLRU_to_evict`: the tail of the lowest segment holding bytes.
    @inlinable
    func mainCandidate() -> Int32 {
        if main == .slru, queues[1].bytes <= 0 { return queues[2].tail }
        return queues[1].tail
    }

    /// Evicts the main cache's candidate.
    @inlinable
    mutating func mainEvict() -> Victim {
        let i = mainCandidate()
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &queues[Int(nodes[i].queue)], size: victim.size)
        index.remove(victim.id)
        nodes.free(i)
        return victim
    }

    /// `SLRU_insert` of node `i` (on no list): the lowest segment with room, or
    /// else evict until the main cache has room and use the probationary one.
    /// `LRU_insert` never evicts.
    @inlinable
    mutating func mainInsert(_ i: Int32, onEvict: (Victim) -> Void) {
        let size = nodes[i].size
        var q = Self.probationQueue
        if main == .slru, queues[1].bytes + size > probationLimit {
            if queues[2].bytes + size <= protectedLimit {
                q = Self.protectedQueue
            } else {
                while mainOccupied + size > mainCapacity { onEvict(mainEvict()) }
            }
        }
        nodes.pushHead(i, &queues[Int(q)], size: size)
        nodes[i].queue = q
    }

    /// `WTinyLFU_evict`. With `single` false it is libCacheSim's loop: window
    /// victims move into a main cache with room, or compete with its victim,
    /// until one loses (and is evicted) or the window is empty (then the main
    /// cache evicts). With `single` true it returns at the first victim.
    /// Returns the last victim.
    @inlinable
    mutating func evictRound(single: Bool, onEvict: (Victim) -> Void) -> Victim {
        while true {
            guard queues[0].bytes > 0 else {
                let v = mainEvict()
                onEvict(v)
                return v
            }
            let w = queues[0].tail
            let wid = nodes[w].id, wsize = nodes[w].size, whashes = nodes[w].hashes
            if mainOccupied + wsize <= mainCapacity {
                nodes.unlink(w, &queues[0], size: wsize)
                mainInsert(w, onEvict: onEvict)
                sketch.add(bases: whashes)
                continue
            }
            let m = mainCandidate()
            if sketch.estimate(bases: whashes) > sketch.estimate(bases: nodes[m].hashes) {
                let v = mainEvict()
                onEvict(v)
                if !single || main == .lru || mainOccupied + wsize <= mainCapacity {
                    nodes.unlink(w, &queues[0], size: wsize)
                    mainInsert(w, onEvict: onEvict)
                }
                sketch.add(bases: whashes)
                if single { return v }
            } else {
                nodes.unlink(w, &queues[0], size: wsize)
                index.remove(wid)
                nodes.free(w)
                let v = Victim(id: wid, size: wsize)
                onEvict(v)
                sketch.add(bases: whashes)
                return v
            }
        }
    }
}
