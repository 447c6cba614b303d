/// Size-aware sampled Belady, as libCacheSim's `BeladySize.c`: on eviction, sample
/// `n-sample` cached objects and evict the one with the largest
/// `size × (next access − now)`.
///
/// Like libCacheSim it never caches an object that will not be requested again
/// (the miss still makes room first), and drops a cached object on a hit that is
/// its last request. Sampling goes through libCacheSim's own hash table layout
/// (``ChainedHashTable``) and random generator (``LibCacheSimRandom``, seed 0),
/// so the choices, and the miss counts, are libCacheSim's. `hashpower` is that
/// table's initial size: libCacheSim's `cachesim` uses 16 for BeladySize, its
/// unit test 20; the two give slightly different counts.
///
/// "Now" is the number of requests seen, counted by ``lookup(_:)`` (once per request).
public struct BeladySize: EvictionPolicy {
    public static let name = "beladysize"

    public static var parameterHelp: [(key: String, help: String)] {
        [("n-sample", "objects sampled per eviction (default 128)"),
         ("hashpower", "log2 of the initial hash-table bucket count sampling draws from (default 16, as libCacheSim's cachesim)")]
    }

    @usableFromInline
    struct Node: ListNode {
        @usableFromInline var prev: Int32 = -1
        @usableFromInline var next: Int32 = -1
        @usableFromInline var size: Int64
        @usableFromInline var nextAccess: Int64
        @inlinable init(size: Int64, nextAccess: Int64) {
            self.size = size
            self.nextAccess = nextAccess
        }
    }

    public let capacity: Int64
    public let samples: Int
    public let hashPower: Int
    @usableFromInline let table: ChainedHashTable
    @usableFromInline let nodes = NodePool<Node>()
    @usableFromInline var random = LibCacheSimRandom(seed: 0)
    @usableFromInline var bytes: Int64 = 0
    /// libCacheSim's `cache->n_req`.
    @usableFromInline var now: Int64 = 0

    public init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        samples = try parameters.int("n-sample", default: 128, in: 1...1_000_000)
        hashPower = try parameters.int("hashpower", default: 16, in: 1...32)
        try parameters.finish(known: Self.parameterHelp.map(\.key))
        self.capacity = capacity
        table = ChainedHashTable(hashPower: hashPower)
    }

    public var occupied: Int64 { bytes }
    public var objectCount: Int { table.count }
    public var label: String { "beladysize(n-sample=\(samples),hashpower=\(hashPower))" }

    @inlinable
    public mutating func lookup(_ request: Request) -> Bool {
        now += 1
        guard let i = table.find(request.id) else { return false }
        if request.nextAccess == Request.never {
            drop(i)
        } else {
            nodes[i].nextAccess = request.nextAccess
        }
        return true
    }

    @inlinable
    public mutating func insert(_ request: Request) {
        if request.nextAccess == Request.never { return }
        let i = nodes.allocate(Node(size: request.size, nextAccess: request.nextAccess))
        table.insert(request.id, slot: i)
        bytes += request.size
    }

    @inlinable
    public mutating func evict(_ request: Request) -> Victim {
        var victim: Int32 = -1
        while victim < 0 {
            // libCacheSim retries the whole sample when no score beats -1.
            var best: Int64 = -1
            for _ in 0..<samples {
                let s = table.randomHead(&random)
                let score = nodes[s].size &* (nodes[s].nextAccess &- now)
                if best < score {
                    victim = s
                    best = score
                }
            }
        }
        let out = Victim(id: table.key(of: victim), size: nodes[victim].size)
        drop(victim)
        return out
    }

    public mutating func remove(_ id: UInt64) -> Bool {
        guard let i = table.find(id) else { return false }
        drop(i)
        return true
    }

    @inlinable
    mutating func drop(_ i: Int32) {
        bytes -= nodes[i].size
        table.remove(slot: i)
        nodes.free(i)
    }
}
