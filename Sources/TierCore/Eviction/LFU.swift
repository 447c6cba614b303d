/// Least frequently used, as libCacheSim's `LFU.c`: objects sit in frequency
/// buckets, a hit moves the object to the tail of the next bucket, and eviction
/// takes the head of the lowest non-empty bucket, so ties within a frequency go
/// first-in first-out (by the time the object reached that frequency).
///
/// Frequencies are forgotten on eviction: a returning object starts at 1.
/// Buckets form a list in ascending frequency and only non-empty ones exist,
/// so every operation is O(1).
public struct LFU: EvictionPolicy {
    public static let name = "lfu"

    /// One cached object.
    @usableFromInline
    struct Node: ListNode {
        @usableFromInline var prev: Int32 = -1
        @usableFromInline var next: Int32 = -1
        @usableFromInline var id: UInt64
        @usableFromInline var size: Int64
        @usableFromInline var freq: UInt64 = 1
        @usableFromInline var bucket: Int32
        @inlinable init(id: UInt64, size: Int64, bucket: Int32) {
            self.id = id
            self.size = size
            self.bucket = bucket
        }
    }

    /// The objects of one frequency, oldest arrival at the head.
    @usableFromInline
    struct Bucket: ListNode {
        @usableFromInline var prev: Int32 = -1
        @usableFromInline var next: Int32 = -1
        @usableFromInline var freq: UInt64
        @usableFromInline var objects = ListHead()
        @inlinable init(freq: UInt64) { self.freq = freq }
    }

    public let capacity: Int64
    @usableFromInline let index = IdTable()
    @usableFromInline let nodes = NodePool<Node>()
    @usableFromInline let buckets = NodePool<Bucket>(capacity: 64)
    /// Non-empty buckets, lowest frequency at the head.
    @usableFromInline var bucketList = ListHead()
    @usableFromInline var bytes: Int64 = 0
    @usableFromInline var count = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }

    public var occupied: Int64 { bytes }
    public var objectCount: Int { count }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        let b = nodes[i].bucket
        let freq = nodes[i].freq + 1
        nodes[i].freq = freq
        // The bucket for freq + 1, if it exists, directly follows b.
        var target = buckets[b].next
        if target < 0 || buckets[target].freq != freq {
            target = buckets.allocate(Bucket(freq: freq))
            insertBucket(target, after: b)
        }
        let size = nodes[i].size
        nodes.unlink(i, &buckets[b].objects, size: size)
        nodes.pushTail(i, &buckets[target].objects, size: size)
        nodes[i].bucket = target
        if buckets[b].objects.isEmpty { dropBucket(b) }
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        var b = bucketList.head
        if b < 0 || buckets[b].freq != 1 {
            b = buckets.allocate(Bucket(freq: 1))
            buckets.pushHead(b, &bucketList, size: 0)
        }
        let i = nodes.allocate(Node(id: request.id, size: request.size, bucket: b))
        nodes.pushTail(i, &buckets[b].objects, size: request.size)
        index.set(request.id, i)
        bytes += request.size
        count += 1
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        let b = bucketList.head
        let i = buckets[b].objects.head
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        detach(i)
        index.remove(victim.id)
        return victim
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        detach(i)
        return true
    }

    /// Takes object `i` out of its bucket and frees it.
    @inlinable
    mutating func detach(_ i: Int32) {
        let b = nodes[i].bucket
        let size = nodes[i].size
        nodes.unlink(i, &buckets[b].objects, size: size)
        nodes.free(i)
        if buckets[b].objects.isEmpty { dropBucket(b) }
        bytes -= size
        count -= 1
    }

    /// Links bucket `n` into the bucket list right after `p`.
    @inlinable
    mutating func insertBucket(_ n: Int32, after p: Int32) {
        let after = buckets[p].next
        buckets[n].prev = p
        buckets[n].next = after
        buckets[p].next = n
        if after >= 0 { buckets[after].prev = n } else { bucketList.tail = n }
        bucketList.count += 1
    }

    @inlinable
    mutating func dropBucket(_ b: Int32) {
        buckets.unlink(b, &bucketList, size: 0)
        buckets.free(b)
    }
}
