import Testing
import TierCore

/// Most recently used: evicts the head. Written only against the public protocol,
/// as a plug-in would be, to show a policy from outside TierCore drives the simulator.
struct MRU: EvictionPolicy {
    static let name = "mru"
    let capacity: Int64
    let index = IdTable()
    let nodes = NodePool<ObjectNode>()
    var queue = ListHead()

    init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }
    var occupied: Int64 { queue.bytes }
    var objectCount: Int { queue.count }

    mutating func lookup(_ request: Request) -> Bool {
        guard let i = index.find(request.id) else { return false }
        nodes.moveToHead(i, &queue)
        return true
    }
    mutating func insert(_ request: Request) {
        let i = nodes.allocate(ObjectNode(id: request.id, size: request.size))
        nodes.pushHead(i, &queue, size: request.size)
        index.set(request.id, i)
    }
    mutating func evict(_ request: Request) -> Victim {
        let i = queue.head
        let v = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &queue, size: v.size)
        index.remove(v.id)
        nodes.free(i)
        return v
    }
    mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        nodes.unlink(i, &queue, size: nodes[i].size)
        nodes.free(i)
        return true
    }
}

/// Refuses every odd id.
struct EvenOnly: AdmissionPolicy {
    static let name = "even"
    init(parameters: inout PolicyParameters) throws(PolicyError) {}
    init() {}
    mutating func admit(_ request: Request) -> Bool { request.id % 2 == 0 }
}

@Suite("cache simulator semantics")
struct SimulatorTests {
    func run<P: EvictionPolicy>(_ type: P.Type, capacity: Int64, _ requests: [Request]) throws -> ReplayCounts {
        var params = PolicyParameters(policy: P.name)
        var policy = try P(capacity: capacity, parameters: &params)
        var source = ArraySource(requests)
        var admit = AdmitAll()
        return try replay(&source, policy: &policy, admission: &admit)
    }

    @Test("LRU on a hand-made sequence")
    func lruByHand() throws {
        // capacity 3: 1 2 3 1 4 (evicts 2) 2 (miss, evicts 3) 1 (hit)
        let c = try run(LRU.self, capacity: 3, ArraySource(ids: [1, 2, 3, 1, 4, 2, 1]).requests)
        #expect(c.requests == 7)
        #expect(c.misses == 5)
    }

    @Test("FIFO ignores hits when evicting")
    func fifoByHand() throws {
        // capacity 3: 1 2 3 1(hit) 4 (evicts 1) 1 (miss)
        let c = try run(FIFO.self, capacity: 3, ArraySource(ids: [1, 2, 3, 1, 4, 1]).requests)
        #expect(c.misses == 5)
    }

    @Test("a plug-in policy from outside TierCore runs in the simulator")
    func plugInPolicy() throws {
        // MRU, capacity 2: 1 2 3 (evicts 2) 1 (hit) 2 (miss, evicts 1) 1 (miss)
        let c = try run(MRU.self, capacity: 2, ArraySource(ids: [1, 2, 3, 1, 2, 1]).requests)
        #expect(c.misses == 5)
    }

    @Test("objects larger than the cache miss and are not inserted; zero-size requests are skipped")
    func largeAndZeroSize() throws {
        let reqs = [
            Request(id: 1, size: 60), Request(id: 2, size: 200), Request(id: 1, size: 60),
            Request(id: 3, size: 0), Request(id: 2, size: 200), Request(id: 4, size: 40), Request(id: 1, size: 60),
        ]
        let c = try run(LRU.self, capacity: 100, reqs)
        #expect(c.requests == 6)
        #expect(c.misses == 4)          // 1, 2, 2 (too large twice), 4
        #expect(c.bytes == 620)
        #expect(c.missBytes == 500)
    }

    @Test("a hit does not update the object's size")
    func sizeNotUpdatedOnHit() throws {
        var params = PolicyParameters(policy: "lru")
        var lru = try LRU(capacity: 100, parameters: &params)
        let first = lru.access(Request(id: 1, size: 10))
        let second = lru.access(Request(id: 1, size: 90))
        #expect(!first)
        #expect(second)
        #expect(lru.occupied == 10)
    }

    @Test("admission refuses misses; victims are reported")
    func admissionAndVictims() throws {
        var params = PolicyParameters(policy: "lru")
        var lru = try LRU(capacity: 2, parameters: &params)
        var even = EvenOnly()
        var victims: [UInt64] = []
        for id: UInt64 in [2, 3, 4, 6, 3, 8] {
            _ = lru.access(Request(id: id), admission: &even, onEvict: { victims.append($0.id) })
        }
        #expect(victims == [2, 4])
        #expect(lru.objectCount == 2)
        let removed8 = lru.remove(8), removed3 = lru.remove(3)
        #expect(removed8)
        #expect(!removed3)
    }

    @Test("policy lists split on commas but keep parameters together")
    func policyLists() {
        #expect(Policies.splitList("lru,s3fifo:small=0.2,threshold=1,arc") == ["lru", "s3fifo:small=0.2,threshold=1", "arc"])
        #expect(Policies.splitList("all") == Policies.all.map(\.name))
    }

    @Test("an unknown policy lists the known ones; a bad parameter is named")
    func unknownPolicy() {
        #expect(throws: PolicyError.self) { try Policies.parse("lruu") }
        do {
            _ = try Policies.parse("lruu")
        } catch {
            #expect(error.description.contains("known policies: lru"))
        }
        do {
            let (d, p) = try Policies.parse("lru:bogus=1")
            var setup = ReplaySetup(trace: TraceSpec(path: "/nonexistent", format: .oracleGeneral), capacity: 10, parameters: p)
            _ = try d.run(&setup)
            Issue.record("expected an error")
        } catch let error as PolicyError {
            #expect(error.description == "lru: unknown parameter 'bogus' (known: none)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("IdTable")
struct IdTableTests {
    @Test("matches a dictionary under random inserts and deletes")
    func randomized() {
        let table = IdTable(expected: 4)
        var reference: [UInt64: Int32] = [:]
        var x: UInt64 = 0x1234_5678
        for step in 0..<200_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let key = (x >> 33) % 5000
            if step % 3 == 0 {
                #expect(table.remove(key) == reference.removeValue(forKey: key))
            } else {
                table.set(key, Int32(step))
                reference[key] = Int32(step)
            }
        }
        #expect(table.count == reference.count)
        for (k, v) in reference { #expect(table.find(k) == v) }
    }
}
