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

    // Dense storage (nil when sparse).
    @usableFromInline let dense: UnsafeMutablePointer<UInt32>?
    // Sparse storage: positions and counters; `emptyKey` marks a free slot.
    @usableFromInline var keys: UnsafeMutablePointer<UInt32>
    @usableFromInline var counts: UnsafeMutablePointer<UInt32>
    @usableFromInline var mask: Int
    @usableFromInline var used: Int = 0
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

        if counters <= Self.denseLimit {
            let d = UnsafeMutablePointer<UInt32>.allocate(capacity: counters)
            d.initialize(repeating: 0, count: counters)
            dense = d
            keys = .allocate(capacity: 1)
            counts = .allocate(capacity: 1)
            mask = 0
        } else {
            dense = nil
            let capacity = 1 << 16
            keys = .allocate(capacity: capacity)
            keys.initialize(repeating: Self.emptyKey, count: capacity)
            counts = .allocate(capacity: capacity)
            counts.initialize(repeating: 0, count: capacity)
            mask = capacity - 1
        }
    }

    deinit {
        dense?.deallocate()
        keys.deallocate()
        counts.deallocate()
    }

    /// The two base hashes of an id (libCacheSim keeps the low 32 bits of each).
    @inlinable @inline(__always)
    func bases(_ id: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: XXHash64.hash(id, seed: Self.seeds.0)),
         UInt32(truncatingIfNeeded: XXHash64.hash(id, seed: Self.seeds.1)))
    }

    /// The estimated count of `id`: the minimum of its counters.
    @inlinable
    public func estimate(_ id: UInt64) -> UInt32 {
        let (a, b) = bases(id)
        var minimum = UInt32.max
        for i in 0..<hashCount {
            let c = counter((a &+ i &* b) % counterCount)
            if c < minimum { minimum = c }
        }
        return minimum
    }

    /// Counts one occurrence of `id` (every one of its counters goes up, as in
    /// libCacheSim, not only the minimal ones). Returns the new estimate.
    @inlinable @discardableResult
    public func add(_ id: UInt64) -> UInt32 {
        let (a, b) = bases(id)
        var minimum = UInt32.max
        for i in 0..<hashCount {
            let c = counter((a &+ i &* b) % counterCount)
            if c < minimum { minimum = c }
        }
        guard minimum < UInt32.max else { return minimum }
        for i in 0..<hashCount {
            increment((a &+ i &* b) % counterCount)
        }
        return minimum + 1
    }

    /// Halves every counter (libCacheSim's `minimalIncrementCBF_decay`).
    public func decay() {
        if let dense {
            for i in 0..<Int(counterCount) { dense[i] >>= 1 }
        } else {
            for i in 0...mask where keys[i] != Self.emptyKey { counts[i] >>= 1 }
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
            let k = keys[i]
            if k == position { return counts[i] }
            if k == Self.emptyKey { return 0 }
            i = (i &+ 1) & mask
        }
    }

    @inlinable @inline(__always)
    func increment(_ position: UInt32) {
        if let dense {
            dense[Int(position)] &+= 1
            return
        }
        var i = slot(position)
        while true {
            let k = keys[i]
            if k == position {
                counts[i] &+= 1
                return
            }
            if k == Self.emptyKey { break }
            i = (i &+ 1) & mask
        }
        keys[i] = position
        counts[i] = 1
        used += 1
        if used * 2 > mask + 1 { grow() }
    }

    @usableFromInline
    func grow() {
        let oldKeys = keys, oldCounts = counts, oldCapacity = mask + 1
        let capacity = oldCapacity * 2
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.emptyKey, count: capacity)
        counts = .allocate(capacity: capacity)
        counts.initialize(repeating: 0, count: capacity)
        mask = capacity - 1
        for j in 0..<oldCapacity where oldKeys[j] != Self.emptyKey {
            var i = slot(oldKeys[j])
            while keys[i] != Self.emptyKey { i = (i &+ 1) & mask }
            keys[i] = oldKeys[j]
            counts[i] = oldCounts[j]
        }
        oldKeys.deallocate()
        oldCounts.deallocate()
    }
}
