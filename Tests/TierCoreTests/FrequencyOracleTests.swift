import Testing
import TierCore

/// Replays the conformance trace through `spec`; nil (after printing why) when the trace is absent.
private func replayConformance(_ spec: String, capacity: Int64, objects: Bool = false) throws -> ReplayCounts? {
    guard let path = ConformanceData.tracePath else {
        print("\(spec): SKIPPED - conformance trace not found; set TIERKIT_CONFORMANCE_DIR")
        return nil
    }
    let (descriptor, parameters) = try Policies.parse(spec)
    var setup = ReplaySetup(trace: TraceSpec(path: path, format: .oracleGeneral, objectMode: objects),
                            capacity: capacity, parameters: parameters)
    return try descriptor.run(&setup).counts
}

/// Replays `requests` (ids with sizes and next-access indexes) and returns hits and victims in order.
private func replayByHand<P: EvictionPolicy>(_ policy: inout P, _ requests: [Request]) -> (hits: [Bool], victims: [UInt64]) {
    var hits: [Bool] = []
    var victims: [UInt64] = []
    var admit = AdmitAll()
    for r in requests {
        hits.append(policy.access(r, admission: &admit, onEvict: { victims.append($0.id) }))
    }
    return (hits, victims)
}

/// Builds unit-size requests from ids, filling in next-access indexes (1-based, as oracleGeneral).
private func requestsWithFuture(_ ids: [UInt64]) -> [Request] {
    var out = ids.map { Request(id: $0, size: 1) }
    var nextSeen: [UInt64: Int64] = [:]
    for k in stride(from: ids.count - 1, through: 0, by: -1) {
        out[k].nextAccess = nextSeen[ids[k]] ?? Request.never
        nextSeen[ids[k]] = Int64(k + 1)
    }
    return out
}

/// Object-mode miss counts from libCacheSim aa0fc40 (lcs-exact, set_rand_seed(0)).
struct FrequencyOracleExpectation: Sendable, CustomTestStringConvertible {
    var spec: String
    var size: Int64
    var misses: Int64
    var testDescription: String { "\(spec) @ \(size) objects" }
}

@Suite("frequency and oracle policies")
struct FrequencyOracleTests {
    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE ALGO "" 500,2000,10000 objects
    static let objectMode: [FrequencyOracleExpectation] = [
        .init(spec: "lfu", size: 500, misses: 96651),
        .init(spec: "lfu", size: 2000, misses: 93707),
        .init(spec: "lfu", size: 10000, misses: 81059),
        .init(spec: "belady", size: 500, misses: 90175),
        .init(spec: "belady", size: 2000, misses: 81870),
        .init(spec: "belady", size: 10000, misses: 61843),
        .init(spec: "beladysize", size: 500, misses: 90257),
        .init(spec: "beladysize", size: 2000, misses: 81970),
        .init(spec: "beladysize", size: 10000, misses: 61843),
        .init(spec: "lhd", size: 500, misses: 95204),
        .init(spec: "lhd", size: 2000, misses: 94078),
        .init(spec: "lhd", size: 10000, misses: 82382),
    ]

    @Test("object mode exact misses", arguments: objectMode)
    func objectModeMisses(_ e: FrequencyOracleExpectation) throws {
        guard let counts = try replayConformance(e.spec, capacity: e.size, objects: true) else { return }
        #expect(counts.requests == 113_872)
        #expect(counts.misses == e.misses)
        #expect(counts.missBytes == e.misses)
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE beladySize "" 134217728*k (cachesim: hashpower 16)
    static let beladySizeBytes: (misses: [Int64], missBytes: [Int64]) = (
        [74436, 64571, 60287, 56524, 54541, 52613, 50582, 48974],
        [3510688768, 3046747136, 2773904896, 2537691648, 2403441152, 2269253120, 2135027200, 2029769728])
    // libCacheSim aa0fc40 test/test_evictionAlgo.c test_BeladySize (hashpower 20, set_rand_seed(0) per size)
    static let beladySizeUnitTest: (misses: [Int64], missBytes: [Int64]) = (
        [74329, 64524, 60279, 56514, 54539, 52613, 50581, 48974],
        [3507168256, 3044453888, 2773635072, 2537643008, 2403463680, 2269248512, 2135011840, 2029769728])

    static func checkBytes(_ spec: String, _ expected: (misses: [Int64], missBytes: [Int64])) throws {
        for (k, size) in ConformanceData.sizes.enumerated() {
            guard let counts = try replayConformance(spec, capacity: size) else { return }
            #expect(counts.requests == 113_872)
            #expect(counts.bytes == 4_368_040_448)
            #expect(counts.misses == expected.misses[k], "\(spec) misses at \(size) bytes")
            #expect(counts.missBytes == expected.missBytes[k], "\(spec) miss bytes at \(size) bytes")
        }
    }

    @Test("BeladySize exact at 8 byte sizes, as libCacheSim's cachesim")
    func beladySizeCachesim() throws { try Self.checkBytes("beladysize", Self.beladySizeBytes) }

    @Test("BeladySize exact at 8 byte sizes, as libCacheSim's unit test (hashpower 20)")
    func beladySizeUnit() throws { try Self.checkBytes("beladysize:hashpower=20", Self.beladySizeUnitTest) }

    // libCacheSim aa0fc40 test/test_evictionAlgo.c test_LHD; lcs-exact TRACE lhd "" 134217728*k
    // (set_rand_seed(0)) gives the same numbers.
    static let lhdBytes: (misses: [Int64], missBytes: [Int64]) = (
        [90500, 86928, 82211, 77256, 71259, 67001, 63734, 61237],
        [4209021952, 4060000768, 3824893440, 3594843136, 3319633408, 3119866880, 2953787392, 2810359808])

    @Test("LHD exact at 8 byte sizes")
    func lhdExactBytes() throws { try Self.checkBytes("lhd", Self.lhdBytes) }

    @Test("LFU evicts the least frequent, oldest first among equals")
    func lfuByHand() {
        var params = PolicyParameters()
        var lfu = try! LFU(capacity: 3, parameters: &params)
        // 1 reaches freq 3, 2 freq 2, 3 stays at 1: each newcomer evicts the previous
        // freq-1 object while 1 and 2 stay; the final 2 hits.
        let ids: [UInt64] = [1, 2, 3, 1, 1, 2, 4, 5, 6, 2]
        let (hits, victims) = replayByHand(&lfu, ids.map { Request(id: $0) })
        #expect(hits == [false, false, false, true, true, true, false, false, false, true])
        #expect(victims == [3, 4, 5])
        #expect(lfu.objectCount == 3 && lfu.occupied == 3)
    }

    @Test("LFU breaks frequency ties by arrival at that frequency")
    func lfuTies() {
        var params = PolicyParameters()
        var lfu = try! LFU(capacity: 2, parameters: &params)
        // 1 and 2 both reach freq 2, 2 first: 3 evicts 2.
        let (_, victims) = replayByHand(&lfu, [1, 2, 2, 1, 3].map { Request(id: $0) })
        #expect(victims == [2])
    }

    @Test("Belady evicts the farthest next use; never-again objects go first")
    func beladyByHand() {
        var params = PolicyParameters()
        var belady = try! Belady(capacity: 2, parameters: &params)
        let (hits, victims) = replayByHand(&belady, requestsWithFuture([1, 2, 3, 1, 2, 3, 1, 1]))
        // At 3: next uses 1@4, 2@5, 3@6 -> evict 2. At 2 (miss): 1@7, 3@6, 2@never -> evict 1.
        // At 3: hit. At 1 (miss): 2 never, 3 never -> heap top.
        #expect(hits == [false, false, false, true, false, true, false, true])
        #expect(victims.prefix(2) == [2, 1])
        #expect(victims.count == 3)
    }

    @Test("BeladySize evicts the largest size x distance and never keeps last requests")
    func beladySizeByHand() throws {
        var params = try PolicyParameters(policy: "beladysize", parsing: "n-sample=16")
        var policy = try BeladySize(capacity: 8, parameters: &params)
        let requests = [
            Request(id: 1, size: 4, nextAccess: 4),
            Request(id: 2, size: 4, nextAccess: 5),
            // Full: at time 3, object 1 scores 4x(4-3)=4 and object 2 scores 4x(5-3)=8.
            // Object 2 goes even though 3 is never requested again and is not kept.
            Request(id: 3, size: 4, nextAccess: Request.never),
            Request(id: 1, size: 4, nextAccess: Request.never),  // hit, and its last: dropped
            Request(id: 2, size: 4, nextAccess: Request.never),  // miss, not kept
        ]
        let (hits, victims) = replayByHand(&policy, requests)
        #expect(hits == [false, false, false, true, false])
        #expect(victims == [2])
        #expect(policy.objectCount == 0 && policy.occupied == 0)
        #expect(policy.label == "beladysize(n-sample=16,hashpower=16)")
    }

    @Test("LHD evicts exactly one resident object per call and keeps its accounting")
    func lhdByHand() throws {
        var params = PolicyParameters()
        var lhd = try LHD(capacity: 4, parameters: &params)
        let warm = replayByHand(&lhd, (1...4).map { Request(id: $0) } + (1...4).map { Request(id: $0) })
        #expect(warm.hits == [false, false, false, false, true, true, true, true])
        #expect(warm.victims.isEmpty)
        let more = replayByHand(&lhd, [Request(id: 5), Request(id: 6, size: 2)])
        #expect(more.hits == [false, false])
        #expect(more.victims.count == 3)
        #expect(Set(more.victims).count == 3 && more.victims.allSatisfy { (1...5).contains($0) })
        #expect(lhd.objectCount == 3 && lhd.occupied == 4)
        let sixHits = lhd.lookup(Request(id: 6, size: 2))
        #expect(sixHits)
        for v in more.victims {
            let hit = lhd.lookup(Request(id: v))
            #expect(!hit)
        }
        // Too large for the cache: not admitted, nothing evicted.
        let big = replayByHand(&lhd, [Request(id: 7, size: 5)])
        #expect(big.hits == [false] && big.victims.isEmpty)
    }
}

/// `evict` removes exactly one resident object, victims are resident, `remove` and
/// the counters agree with a shadow set, on a real trace prefix.
@Suite("LFU, Belady, BeladySize, LHD: eviction contract")
struct FrequencyOracleContractTests {
    static func check<P: EvictionPolicy>(_ policy: inout P, path: String, objectMode: Bool, limit: Int) throws {
        var reader = try OracleGeneralReader(path: path, objectMode: objectMode)
        var resident = Set<UInt64>()
        var always = AdmitAll()
        var n = 0
        while n < limit, let r = try reader.next() {
            n += 1
            let before = policy.objectCount
            var victims: [UInt64] = []
            let hit = policy.access(r, admission: &always, onEvict: { victims.append($0.id) })
            #expect(hit == resident.contains(r.id))
            for v in victims {
                let was = resident.remove(v)
                #expect(was != nil, "victim \(v) was not resident")
            }
            let after = policy.objectCount
            if hit {
                // BeladySize drops an object at its last request.
                if after == before - 1 { resident.remove(r.id) } else { #expect(after == before) }
            } else if after == before - victims.count + 1 {
                resident.insert(r.id)
            } else {
                #expect(after == before - victims.count)
            }
            #expect(resident.count == after)
            #expect(policy.occupied <= policy.capacity)
        }
        // Remove every third resident object by id, then drain one per evict call.
        for (k, id) in resident.sorted().enumerated() where k % 3 == 0 {
            let first = policy.remove(id), second = policy.remove(id)
            #expect(first && !second)
            resident.remove(id)
        }
        #expect(policy.objectCount == resident.count)
        while policy.objectCount > 0 {
            let before = policy.objectCount
            let v = policy.evict(Request(id: 0))
            let was = resident.remove(v.id)
            #expect(was != nil)
            #expect(policy.objectCount == before - 1)
        }
        #expect(resident.isEmpty && policy.occupied == 0)
    }

    @Test("victims are resident and evict removes one object", arguments: ["lfu", "belady", "beladysize", "lhd"])
    func contract(_ name: String) throws {
        guard let path = ConformanceData.tracePath else {
            print("frequency/oracle contract: SKIPPED - conformance trace absent; set TIERKIT_CONFORMANCE_DIR")
            return
        }
        for (capacity, objectMode) in [(Int64(200), true), (Int64(16 << 20), false)] {
            var p = PolicyParameters()
            switch name {
            case "lfu": var c = try LFU(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "belady": var c = try Belady(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "beladysize": var c = try BeladySize(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "lhd": var c = try LHD(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            default: Issue.record("unknown policy \(name)")
            }
        }
    }
}

