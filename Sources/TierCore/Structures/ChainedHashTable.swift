/// libCacheSim's chained hash table (`chainedHashTableV2`), reproduced layout and all,
/// mapping object ids to caller-owned slot indexes (e.g. ``NodePool`` indexes).
///
/// Policies that sample "a random cached object" in libCacheSim actually draw a
/// random non-empty bucket and take its chain head, so which object they get
/// depends on the bucket count, the hash (``XXH3``), insertion at the chain head,
/// and the order in which growth re-links chains. Matching their miss counts needs
/// this exact table rather than any hash map. Flat arrays only; no per-request allocation.
public final class ChainedHashTable {
    /// log2 of the bucket count.
    public private(set) var hashPower: Int
    @usableFromInline var heads: UnsafeMutablePointer<Int32>
    @usableFromInline var mask: UInt64
    /// Per slot: the next slot in its bucket's chain, and its key.
    @usableFromInline var chainNext: UnsafeMutablePointer<Int32>
    @usableFromInline var keys: UnsafeMutablePointer<UInt64>
    @usableFromInline var slotCapacity: Int
    /// Entries held.
    @inlinable public var count: Int { entries }
    @usableFromInline var entries: Int = 0

    /// A table of `2^hashPower` buckets; it doubles when it holds more entries than buckets.
    public init(hashPower: Int) {
        precondition((1...39).contains(hashPower), "hash power must be in 1...39")
        self.hashPower = hashPower
        let n = 1 << hashPower
        heads = .allocate(capacity: n)
        heads.initialize(repeating: -1, count: n)
        mask = UInt64(n - 1)
        slotCapacity = 1024
        chainNext = .allocate(capacity: slotCapacity)
        chainNext.initialize(repeating: -1, count: slotCapacity)
        keys = .allocate(capacity: slotCapacity)
        keys.initialize(repeating: 0, count: slotCapacity)
    }

    deinit {
        heads.deallocate()
        chainNext.deallocate()
        keys.deallocate()
    }

    /// The slot holding `key`, or nil.
    @inlinable
    public func find(_ key: UInt64) -> Int32? {
        var s = heads[Int(XXH3.hash(key) & mask)]
        while s >= 0 {
            if keys[Int(s)] == key { return s }
            s = chainNext[Int(s)]
        }
        return nil
    }

    /// Adds `key` (not present) stored in `slot`, at the head of its bucket.
    @inlinable
    public func insert(_ key: UInt64, slot: Int32) {
        if entries > Int(mask) + 1 { expand() }
        if Int(slot) >= slotCapacity { growSlots(Int(slot)) }
        keys[Int(slot)] = key
        link(slot)
        entries += 1
    }

    /// Removes the entry in `slot`.
    @inlinable
    public func remove(slot: Int32) {
        entries -= 1
        let b = Int(XXH3.hash(keys[Int(slot)]) & mask)
        if heads[b] == slot {
            heads[b] = chainNext[Int(slot)]
            return
        }
        var s = heads[b]
        while chainNext[Int(s)] != slot { s = chainNext[Int(s)] }
        chainNext[Int(s)] = chainNext[Int(slot)]
    }

    /// libCacheSim's `hashtable_rand_obj`: draw buckets until one is non-empty and
    /// return its chain head. The table must not be empty.
    @inlinable
    public func randomHead(_ random: inout LibCacheSimRandom) -> Int32 {
        // A sparse table takes many draws per hit; keep the loop on locals.
        let heads = self.heads, mask = self.mask
        var r = random
        var s: Int32
        repeat { s = heads[Int(r.next() & mask)] } while s < 0
        random = r
        return s
    }

    /// The key stored in `slot`.
    @inlinable public func key(of slot: Int32) -> UInt64 { keys[Int(slot)] }

    @inlinable
    func link(_ slot: Int32) {
        let b = Int(XXH3.hash(keys[Int(slot)]) & mask)
        chainNext[Int(slot)] = heads[b]
        heads[b] = slot
    }

    /// Doubles the buckets, re-linking chains bucket by bucket, head first, as libCacheSim does.
    @usableFromInline
    func expand() {
        let oldHeads = heads, oldCount = Int(mask) + 1
        hashPower += 1
        let n = oldCount * 2
        heads = .allocate(capacity: n)
        heads.initialize(repeating: -1, count: n)
        mask = UInt64(n - 1)
        for b in 0..<oldCount {
            var s = oldHeads[b]
            while s >= 0 {
                let next = chainNext[Int(s)]
                link(s)
                s = next
            }
        }
        oldHeads.deallocate()
    }

    @usableFromInline
    func growSlots(_ needed: Int) {
        var n = slotCapacity * 2
        while n <= needed { n *= 2 }
        let c = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        c.initialize(from: chainNext, count: slotCapacity)
        (c + slotCapacity).initialize(repeating: -1, count: n - slotCapacity)
        chainNext.deallocate()
        chainNext = c
        let k = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        k.initialize(from: keys, count: slotCapacity)
        (k + slotCapacity).initialize(repeating: 0, count: n - slotCapacity)
        keys.deallocate()
        keys = k
        slotCapacity = n
    }

    /// Bytes held by the table's buffers.
    public var memoryBytes: Int {
        (Int(mask) + 1) * MemoryLayout<Int32>.stride + slotCapacity * (MemoryLayout<Int32>.stride + MemoryLayout<UInt64>.stride)
    }
}
