/// libCacheSim's `minimalIncrementCBF`: a counting Bloom filter used as a
/// count-min frequency sketch (W-TinyLFU's admission filter).
///
/// Sized like libCacheSim for `entries` expected items at a 0.1% error rate:
/// 10 hash functions and `ceil(bitsPerEntry * entries)` 32-bit counters (capped at
/// `Int32.max`). Counter `i` of an id is `(a + i * b) % counters` in 32-bit
/// arithmetic, where `a` and `b` are the low halves of XXH64 of the id with two
/// fixed seeds; an add increments every one of those counters and an estimate
/// is their minimum. ``decay()`` halves every counter.
///
/// libCacheSim sizes the filter by the cache size in *bytes*, which gives up to
/// 2^31 counters (8 GiB that its `calloc` maps lazily). Such filters are held
/// sparsely here: an open-addressing table of the counters that were ever
/// touched, with identical counts. Small filters are plain arrays.
public final class CountingBloomFilter {
    /// -ln(0.001) / ln(2)^2 exactly as libCacheSim computes it in double precision.
    public static let bitsPerEntry: Double = 0x1.cc153284f21cdp+3
    /// Seeds libCacheSim passes to XXH64 (`HASH_SEED0`, `HASH_SEED1`).
    public static let seeds: (UInt64, UInt64) = (0x1234_5678, 0x1234_4321)
    /// Filters with more counters than this are stored sparsely.
    public static let denseLimit = 1 << 24

    /// Number of hash functions.
    public let hashCount: UInt32
    /// Number of counters.
    public let counterCount: UInt32
    /// Lemire's fastmod constant for `counterCount`: `x % counterCount` without a
    /// division, exact for every 32-bit `x`. Ten positions per id made the
    /// hardware divide the sketch's largest cost.
    @usableFromInline let reciprocal: UInt64

    // Dense storage (nil when sparse).
    @usableFromInline let dense: UnsafeMutablePointer<UInt32>?
    /// A sparse counter: its position and count side by side, so a probe
    /// touches one cache line.
    @usableFromInline struct Cell {
        @usableFromInline var key: UInt32
        @usableFromInline var count: UInt32
        @inlinable init(key: UInt32, count: UInt32) {
            self.key = key
            self.count = count
        }
    }
    // Sparse storage (open addressing, linear probing); `emptyKey` marks a free cell.
    @usableFromInline var cells: UnsafeMutablePointer<Cell>
    @usableFromInline var mask: Int
    @usableFromInline var used: Int = 0
    /// Slots of the counters of the id being added.
    @usableFromInline let slots: UnsafeMutablePointer<Int>
    @usableFromInline static let emptyKey = UInt32.max

    /// A filter for `entries` items. `entries` is a C `int` in libCacheSim, so a
    /// larger value wraps as it does there (and a non-positive result falls back
    /// to libCacheSim's minimum of twice the hash count).
    public init(entries: Int64) {
        let bpe = Self.bitsPerEntry
        hashCount = UInt32((0.693147180559945 * bpe).rounded(.up))
        let n = Double(Int32(truncatingIfNeeded: entries))
        let wanted = min((bpe * n).rounded(.up), Double(Int32.max))
        let counters = wanted >= Double(hashCount) ? Int(wanted) : Int(hashCount) * 2
        counterCount = UInt32(counters)
        reciprocal = UInt64.max / UInt64(counters) &+ 1
        slots = .allocate(capacity: Int(hashCount))

        if counters <= Self.denseLimit {
            let d = UnsafeMutablePointer<UInt32>.allocate(capacity: counters)
            d.initialize(repeating: 0, count: counters)
            dense = d
            cells = .allocate(capacity: 1)
            mask = 0
        } else {
            dense = nil
            let capacity = 1 << 16
            cells = .allocate(capacity: capacity)
            cells.initialize(repeating: Cell(key: Self.emptyKey, count: 0), count: capacity)
            mask = capacity - 1
        }
    }

    deinit {
        dense?.deallocate()
        slots.deallocate()
        cells.deallocate()
    }

    /// The two base hashes of an id (libCacheSim keeps the low 32 bits of each).
    /// Callers that see an id often may keep them and use the `bases:` forms.
    @inlinable @inline(__always)
    public func bases(_ id: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: XXHash64.hash(id, seed: Self.seeds.0)),
         UInt32(truncatingIfNeeded: XXHash64.hash(id, seed: Self.seeds.1)))
    }

    /// `x % counterCount` by multiplication (Lemire, Kaser & Kurz, 2019).
    @inlinable @inline(__always)
    func position(_ x: UInt32) -> UInt32 {
        let low = reciprocal &* UInt64(x)
        return UInt32(truncatingIfNeeded: low.multipliedFullWidth(by: UInt64(counterCount)).high)
    }

    /// The estimated count of `id`: the minimum of its counters.
    @inlinable
    public func estimate(_ id: UInt64) -> UInt32 {
        estimate(bases: bases(id))
    }

    /// The estimate for an id whose ``bases(_:)`` are given.
    @inlinable
    public func estimate(bases: (UInt32, UInt32)) -> UInt32 {
        let (a, b) = bases
        var minimum = UInt32.max
        for i in 0..<hashCount {
            let c = counter(position(a &+ i &* b))
            if c < minimum { minimum = c }
        }
        return minimum
    }

    /// Counts one occurrence of `id` (every one of its counters goes up, as in
    /// libCacheSim, not only the minimal ones). Returns the new estimate.
    @inlinable @discardableResult
    public func add(_ id: UInt64) -> UInt32 {
        add(bases: bases(id))
    }

    /// Counts one occurrence of the id whose ``bases(_:)`` are given.
    @inlinable @discardableResult
    public func add(bases: (UInt32, UInt32)) -> UInt32 {
        let (a, b) = bases
        var minimum = UInt32.max
        if let dense {
            for i in 0..<hashCount {
                let c = dense[Int(position(a &+ i &* b))]
                if c < minimum { minimum = c }
            }
            guard minimum < UInt32.max else { return minimum }
            for i in 0..<hashCount { dense[Int(position(a &+ i &* b))] &+= 1 }
            return minimum + 1
        }
        // Sparse: find or create each counter's slot once, then read and bump it.
        // Growing first keeps the slots valid across the two passes.
        if (used + Int(hashCount)) * 2 > mask + 1 { grow() }
        for i in 0..<Int(hashCount) {
            let k = slotCreating(position(a &+ UInt32(i) &* b))
            slots[i] = k
            if cells[k].count < minimum { minimum = cells[k].count }
        }
        guard minimum < UInt32.max else { return minimum }
        for i in 0..<Int(hashCount) { cells[slots[i]].count &+= 1 }
        return minimum + 1
    }

    /// Halves every counter (libCacheSim's `minimalIncrementCBF_decay`).
    public func decay() {
        if let dense {
            for i in 0..<Int(counterCount) { dense[i] >>= 1 }
        } else {
            for i in 0...mask where cells[i].key != Self.emptyKey { cells[i].count >>= 1 }
        }
    }

    /// Bytes held by the counters.
    public var memoryBytes: Int {
        dense != nil ? Int(counterCount) * 4 : (mask + 1) * 8
    }

    @inlinable @inline(__always)
    func slot(_ position: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(position) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inlinable @inline(__always)
    func counter(_ position: UInt32) -> UInt32 {
        if let dense { return dense[Int(position)] }
        var i = slot(position)
        while true {
            let c = cells[i]
            if c.key == position { return c.count }
            if c.key == Self.emptyKey { return 0 }
            i = (i &+ 1) & mask
        }
    }

    /// The sparse slot of `position`, created with a zero count if absent.
    /// The caller guarantees room.
    @inlinable @inline(__always)
    func slotCreating(_ position: UInt32) -> Int {
        var i = slot(position)
        while true {
            let k = cells[i].key
            if k == position { return i }
            if k == Self.emptyKey { break }
            i = (i &+ 1) & mask
        }
        cells[i] = Cell(key: position, count: 0)
        used += 1
        return i
    }

    @usableFromInline
    func grow() {
        let old = cells, oldCapacity = mask + 1
        let capacity = oldCapacity * 2
        cells = .allocate(capacity: capacity)
        cells.initialize(repeating: Cell(key: Self.emptyKey, count: 0), count: capacity)
        mask = capacity - 1
        for j in 0..<oldCapacity where old[j].key != Self.emptyKey {
            var i = slot(old[j].key)
            while cells[i].key != Self.emptyKey { i = (i &+ 1) & mask }
            cells[i] = old[j]
        }
        old.deallocate()
    }
}
