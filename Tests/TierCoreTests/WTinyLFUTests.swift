import Testing
import TierCore

/// Replays the conformance trace through `policy` at `sizes`; nil when the trace is absent.
func replayConformanceTrace(policy spec: String, sizes: [Int64], objectMode: Bool = false,
                            admission: AdmissionSpec = .always) throws -> [ReplayCounts]? {
    guard let path = ConformanceData.tracePath else {
        print("\(spec): SKIPPED - conformance trace absent; set TIERKIT_CONFORMANCE_DIR")
        return nil
    }
    let (descriptor, parameters) = try Policies.parse(spec)
    return try sizes.map { size in
        var setup = ReplaySetup(trace: TraceSpec(path: path, format: .oracleGeneral, objectMode: objectMode),
                                capacity: size, parameters: parameters, admission: admission)
        let outcome = try descriptor.run(&setup)
        #expect(outcome.counts.requests == 113_872)
        return outcome.counts
    }
}

@Suite("XXH64 and the counting Bloom filter")
struct SketchTests {
    @Test("XXH64 of 8-byte ids matches xxhash 0.7 with libCacheSim's seeds")
    func xxh64Ids() {
        // XXH64(&id, 8, HASH_SEED0) and XXH64(&id, 8, HASH_SEED1) from libCacheSim's xxhash.h.
        let expected: [(UInt64, UInt64, UInt64)] = [
            (0, 0x67bb_774d_39f5_d473, 0xc2a6_4453_b85a_5e79),
            (1, 0x071b_9484_a237_4097, 0x83e9_f36f_cb58_54bf),
            (42, 0xf78b_4ad5_3460_7625, 0xca6b_8301_1840_5888),
            (123_456_789, 0x0f9f_f923_bc79_7b26, 0xaa7d_e97a_bad7_cda4),
            (.max, 0x60b3_8a7d_6d1e_7ea9, 0xcead_0a48_b29d_4d47),
            (0x8000_0000_0000_0001, 0xfe2a_eba4_585a_3f48, 0x5890_be6c_e3f3_4b52),
        ]
        for (id, h0, h1) in expected {
            #expect(XXHash64.hash(id, seed: 0x1234_5678) == h0, "id \(id)")
            #expect(XXHash64.hash(id, seed: 0x1234_4321) == h1, "id \(id)")
            var le = id.littleEndian
            let viaBytes = withUnsafeBytes(of: &le) { XXHash64.hash($0, seed: 0x1234_5678) }
            #expect(viaBytes == h0, "id \(id) via bytes")
        }
    }

    @Test("XXH64 of byte strings of every tail length")
    func xxh64Bytes() {
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let expected: [(Int, UInt64)] = [
            (0, 0x30b9_3d61_1716_104a), (1, 0x417e_f614_9fa3_949a), (3, 0xc40d_af63_43a0_52cd),
            (4, 0xb8bc_677a_3db9_5fdf), (7, 0xca9c_66e8_3d41_78aa), (8, 0xa9d3_6b69_919c_ff16),
            (12, 0xcf77_4577_ddf9_7c9a), (31, 0x13e4_d3a3_3290_e4b4), (32, 0x39ba_501b_3294_2425),
            (33, 0x395f_0496_35da_d93a), (64, 0xabdd_efe6_b592_6f11), (100, 0xb8c1_1536_feb3_4e64),
        ]
        for (length, hash) in expected {
            let h = bytes.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length]), seed: 0x1234_5678) }
            #expect(h == hash, "length \(length)")
        }
    }

    @Test("counter estimates match libCacheSim's minimalIncrementCBF, collisions and decay included")
    func countingBloomFilter() {
        // minimalIncrementCBF_init(entries, 0.001), adds and estimates as printed by libCacheSim's C code.
        let small = CountingBloomFilter(entries: 3)
        #expect(small.counterCount == 44)
        #expect(small.hashCount == 10)
        for i in UInt64(0)..<200 { small.add(i % 37 + (i % 5) * 1000) }
        #expect((UInt64(0)..<8).map { small.estimate($0) } == [35, 35, 35, 34, 34, 31, 31, 38])
        small.decay()
        #expect((UInt64(0)..<8).map { small.estimate($0) } == [17, 17, 17, 17, 17, 15, 15, 19])

        let other = CountingBloomFilter(entries: 20)
        #expect(other.counterCount == 288)
        for i in UInt64(0)..<300 { other.add((i * i) % 41) }
        #expect((UInt64(0)..<12).map { other.estimate($0) } == [8, 15, 14, 0, 15, 14, 0, 0, 15, 15, 14, 0])
    }

    @Test("sizing follows libCacheSim, including its int wrap-around")
    func sizing() {
        #expect(CountingBloomFilter(entries: 495).counterCount == 7117)
        #expect(CountingBloomFilter(entries: 132_875_551).counterCount == 1_910_429_870)
        #expect(CountingBloomFilter(entries: 265_751_102).counterCount == UInt32(Int32.max))
        // 2^32 + 5 wraps to 5 entries in a C int; 2^31 wraps negative: the 2 × hashes floor.
        #expect(CountingBloomFilter(entries: (1 << 32) + 5).counterCount == 72)
        #expect(CountingBloomFilter(entries: 1 << 31).counterCount == 20)
        #expect(CountingBloomFilter(entries: 0).counterCount == 20)
    }

    @Test("a sparse filter counts like a dense one")
    func sparseMatchesDense() {
        let sparse = CountingBloomFilter(entries: 100_000_000)
        let dense = CountingBloomFilter(entries: 1_000_000)
        #expect(sparse.memoryBytes < dense.memoryBytes)
        var x: UInt64 = 12345
        for _ in 0..<50_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1
            let id = x >> 50
            let a = sparse.add(id), b = dense.add(id)
            #expect(a == sparse.estimate(id) && b == dense.estimate(id))
        }
        // With few collisions either way, both should see the true counts of most ids.
        var agree = 0
        for id in UInt64(0)..<200 where sparse.estimate(id) == dense.estimate(id) { agree += 1 }
        #expect(agree > 190)
        sparse.decay()
        #expect(sparse.estimate(7) <= dense.estimate(7) / 2 + 1)
    }
}

@Suite("W-TinyLFU")
struct WTinyLFUTests {
    func make(_ capacity: Int64, _ params: String = "") throws -> WTinyLFU {
        var p = try PolicyParameters(policy: "wtinylfu", parsing: Substring(params))
        return try WTinyLFU(capacity: capacity, parameters: &p)
    }

    @Test("parameters, defaults and label")
    func parameters() throws {
        let w = try make(1000)
        #expect(w.label == "wtinylfu(window=0.01,main=slru)")
        #expect(w.windowCapacity == 10 && w.mainCapacity == 990)
        #expect(try make(1000, "window-size=0.1,main-cache=LRU").label == "wtinylfu(window=0.1,main=lru)")
        #expect(throws: PolicyError.self) { try make(1000, "window=1") }
        #expect(throws: PolicyError.self) { try make(1000, "main=arc") }
        #expect(throws: PolicyError.self) { try make(1000, "segments=3") }
        #expect(Policies.named("wtinylfu") != nil)
    }

    @Test("objects live in the window first, and a frequent window victim displaces a rare main victim")
    func handMade() throws {
        // 100 objects: window 1, main 99 (probation 19, protected 79).
        var c = try make(100)
        #expect(!c.canInsert(Request(id: 1, size: 2)))
        var victims: [UInt64] = []
        var always = AdmitAll()
        func get(_ id: UInt64) -> Bool {
            c.access(Request(id: id), admission: &always, onEvict: { victims.append($0.id) })
        }
        for id in UInt64(1)...100 { let hit = get(id); #expect(!hit) }
        #expect(c.objectCount == 100 && c.occupied == 100)
        for id in UInt64(1)...100 { let hit = get(id); #expect(hit) }
        #expect(victims.isEmpty)
        // Window hits are not counted, so every object has count 1 (its insert).
        // The window holds everything until the first eviction; then it drains
        // into main (1...19 probation, 20...98 protected, 99 probation again
        // since main still has room) and each mover is counted again. 100 then
        // meets a full main: count 1 against main victim 1's count 2, so it loses.
        var hit = get(200)
        #expect(!hit)
        #expect(victims == [100])
        #expect(c.objectCount == 100)
        // 200 (count 1) loses against 1 (count 2) too.
        hit = get(201)
        #expect(!hit && victims == [100, 200])
        hit = get(201)
        #expect(hit)
        // 201: insert + its loss = 2, not more than 2: it loses as well.
        hit = get(200)
        #expect(!hit && victims == [100, 200, 201])
        // 200 now has 3 counts (two inserts, one loss) and beats 1: main evicts 1
        // and takes 200; the window is then empty, so main evicts once more (2).
        hit = get(202)
        #expect(!hit && victims == [100, 200, 201, 1, 2])
        #expect(c.objectCount == 99 && c.occupied == 99)
        hit = get(200)
        #expect(hit)
    }

    @Test("evict removes exactly one object")
    func evictOne() throws {
        var c = try make(500)
        // Fill, force a drain into main, then hit some main objects (promotions).
        for id in UInt64(1)...520 { _ = c.access(Request(id: id)) }
        for id in UInt64(1)...520 where id % 3 == 0 { _ = c.access(Request(id: id)) }
        #expect(c.objectCount > 400)
        let resident = c.objectCount
        var seen = Set<UInt64>()
        while c.objectCount > 0 {
            let before = c.objectCount, bytes = c.occupied
            let v = c.evict(Request(id: 999))
            #expect(c.objectCount == before - 1)
            #expect(c.occupied == bytes - v.size)
            #expect(seen.insert(v.id).inserted)
        }
        #expect(seen.count == resident)
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "" SIZES bytes
    // (cachesim's default: main-cache=SLRU, window-size=0.01).
    @Test("exact misses at 8 byte sizes, as cachesim's tinyLFU")
    func exactBytes() throws {
        guard let counts = try replayConformanceTrace(policy: "wtinylfu", sizes: ConformanceData.sizes) else { return }
        #expect(counts.map(\.misses) == [90517, 84533, 79359, 75139, 72761, 65552, 61243, 53564])
        #expect(counts.map(\.missBytes) == [4_087_378_944, 3_743_911_424, 3_438_222_336, 3_161_432_576,
                                            2_974_754_304, 2_622_495_232, 2_533_577_728, 2_276_042_240])
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "<params>" 500,2000,10000 objects
    @Test("exact misses in object mode", arguments: [
        ("wtinylfu", [Int64(96285), 93795, 77188]),
        ("wtinylfu:window-size=0.01,main-cache=SLRU", [96285, 93795, 77188]),
        ("wtinylfu:main=lru", [96170, 91922, 75201]),
        ("wtinylfu:window=0.1", [95444, 93657, 78334]),
    ])
    func exactObjects(_ spec: String, _ misses: [Int64]) throws {
        guard let counts = try replayConformanceTrace(policy: spec, sizes: [500, 2000, 10000], objectMode: true) else { return }
        #expect(counts.map(\.misses) == misses)
        #expect(counts.map(\.missBytes) == misses)
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "" 100,200,300 objects.
    // 32 × main capacity main-cache hits between halvings: the sketch decays several times here.
    @Test("exact misses in object mode at sizes where the sketch decays")
    func exactObjectsDecaying() throws {
        guard let counts = try replayConformanceTrace(policy: "wtinylfu", sizes: [100, 200, 300], objectMode: true) else { return }
        #expect(counts.map(\.misses) == [98829, 97349, 96925])
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "main-cache=LRU" SIZES bytes
    @Test("exact misses at 8 byte sizes with an LRU main cache")
    func exactBytesLRUMain() throws {
        guard let counts = try replayConformanceTrace(policy: "wtinylfu:main=lru", sizes: ConformanceData.sizes) else { return }
        #expect(counts.map(\.misses) == [87824, 80636, 74226, 71934, 71195, 69321, 58760, 53966])
        #expect(counts.map(\.missBytes) == [3_858_620_416, 3_446_165_504, 3_187_732_992, 3_052_953_600,
                                            3_015_779_840, 2_887_318_016, 2_377_309_184, 2_287_613_952])
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "window-size=0.1" 134217728,536870912 bytes
    @Test("exact misses in byte mode with a 10% window")
    func exactBytesWideWindow() throws {
        guard let counts = try replayConformanceTrace(policy: "wtinylfu:window=0.1", sizes: [134_217_728, 536_870_912]) else { return }
        #expect(counts.map(\.misses) == [91113, 75618])
        #expect(counts.map(\.missBytes) == [4_116_175_360, 3_198_066_688])
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE tinyLFU "" SIZES objects|bytes <admission> <params>
    @Test("exact misses behind an admission policy")
    func exactWithAdmission() throws {
        guard let objects = try replayConformanceTrace(policy: "wtinylfu", sizes: [500, 2000, 10000], objectMode: true,
                                                       admission: AdmissionSpec(parsing: "bloom-filter")) else { return }
        #expect(objects.map(\.misses) == [96913, 93642, 77267])
        guard let bytes = try replayConformanceTrace(policy: "wtinylfu", sizes: [134_217_728, 536_870_912],
                                                     admission: AdmissionSpec(parsing: "prob:prob=0.7")) else { return }
        #expect(bytes.map(\.misses) == [90295, 75969])
        #expect(bytes.map(\.missBytes) == [4_025_222_144, 3_147_633_152])
    }
}
