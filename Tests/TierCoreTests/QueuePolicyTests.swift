import Testing
@testable import TierCore

/// Exact counts for Clock, SLRU, Sieve, S3FIFO and TwoQ beyond libCacheSim's
/// own test (which ConformanceTests checks for the first four).
/// All numbers: libCacheSim aa0fc40, set_rand_seed(0), cloudPhysicsIO.oracleGeneral.bin.
enum QueueExact {
    struct Case: Sendable, CustomTestStringConvertible {
        var spec: String             // TierKit spec
        var objectMode: Bool
        var sizes: [Int64]
        var misses: [Int64]
        var missBytes: [Int64]?      // byte mode only
        var testDescription: String { "\(spec) \(objectMode ? "objects" : "bytes") \(sizes)" }
    }

    static let byteSizes: [Int64] = (1...8).map { Int64($0) * 134_217_728 }
    static let objectSizes: [Int64] = [500, 2000, 10000]
    static let tinyObjectSizes: [Int64] = [3, 7, 33, 101]
    static let smallByteSizes: [Int64] = [1_048_576, 12_345_678, 300_000_000]

    static let cases: [Case] = [
        // TwoQ is not in libCacheSim's test: its 8 byte sizes.
        Case(spec: "twoq", objectMode: false, sizes: byteSizes,
             misses: [91729, 83567, 82245, 77039, 72182, 72136, 72113, 72074],
             missBytes: [4130814976, 3757302784, 3693497856, 3305772032, 3080457216, 3079010304, 3078737920, 3077292544]),

        // Object mode.
        Case(spec: "clock", objectMode: true, sizes: objectSizes, misses: [95293, 94081, 84750]),
        Case(spec: "clock:bits=2", objectMode: true, sizes: objectSizes, misses: [95166, 93960, 85279]),
        Case(spec: "slru", objectMode: true, sizes: objectSizes, misses: [94579, 93636, 82234]),
        Case(spec: "slru:segments=5", objectMode: true, sizes: objectSizes, misses: [94693, 93734, 82257]),
        Case(spec: "sieve", objectMode: true, sizes: objectSizes, misses: [94379, 93411, 81059]),
        Case(spec: "s3fifo", objectMode: true, sizes: objectSizes, misses: [94551, 92455, 76212]),
        Case(spec: "s3fifo:small=0.2,threshold=1", objectMode: true, sizes: objectSizes, misses: [94258, 92687, 80235]),
        Case(spec: "twoq", objectMode: true, sizes: objectSizes, misses: [94565, 93075, 78831]),
        Case(spec: "twoq:ain=0.3,aout=1.0", objectMode: true, sizes: objectSizes, misses: [94469, 92216, 77343]),

        // Tiny caches, where queue shares round down to a few objects (or none).
        Case(spec: "clock", objectMode: true, sizes: tinyObjectSizes, misses: [109854, 108517, 104004, 99994]),
        Case(spec: "clock:bits=3", objectMode: true, sizes: tinyObjectSizes, misses: [109811, 108521, 103877, 99902]),
        Case(spec: "slru", objectMode: true, sizes: tinyObjectSizes, misses: [113872, 108531, 103517, 98309]),
        Case(spec: "slru:segments=3", objectMode: true, sizes: tinyObjectSizes, misses: [109967, 108622, 102611, 98285]),
        Case(spec: "sieve", objectMode: true, sizes: tinyObjectSizes, misses: [109740, 107509, 102466, 98480]),
        Case(spec: "s3fifo", objectMode: true, sizes: tinyObjectSizes, misses: [113872, 113872, 101034, 96863]),
        Case(spec: "s3fifo:ghost=0.3,threshold=3", objectMode: true, sizes: tinyObjectSizes, misses: [113872, 113872, 101385, 98243]),
        Case(spec: "twoq", objectMode: true, sizes: tinyObjectSizes, misses: [113872, 107387, 100522, 97453]),

        // Small byte caches (sizes not multiples of the segment count).
        Case(spec: "clock", objectMode: false, sizes: smallByteSizes, misses: [98874, 95150, 88040],
             missBytes: [4310214656, 4283510272, 3980470272]),
        Case(spec: "clock:bits=3", objectMode: false, sizes: smallByteSizes, misses: [98536, 94927, 87766],
             missBytes: [4308711936, 4282101248, 3980499968]),
        Case(spec: "slru", objectMode: false, sizes: smallByteSizes, misses: [95814, 93724, 86050],
             missBytes: [4295132160, 4273544704, 3860868608]),
        Case(spec: "slru:segments=3", objectMode: false, sizes: smallByteSizes, misses: [96096, 93770, 86079],
             missBytes: [4297203712, 4273851904, 3854961152]),
        Case(spec: "sieve", objectMode: false, sizes: smallByteSizes, misses: [97540, 93899, 84796],
             missBytes: [4304066048, 4273060864, 3821942272]),
        Case(spec: "s3fifo", objectMode: false, sizes: smallByteSizes, misses: [95905, 93898, 82348],
             missBytes: [4297075200, 4273704448, 3693574656]),
        Case(spec: "s3fifo:ghost=0.3,threshold=3", objectMode: false, sizes: smallByteSizes, misses: [96144, 94028, 83910],
             missBytes: [4298221056, 4274814976, 3801023488]),
        Case(spec: "twoq", objectMode: false, sizes: smallByteSizes, misses: [95933, 94516, 83815],
             missBytes: [4297098752, 4280513024, 3777271808]),
    ]
}

@Suite("Clock, SLRU, Sieve, S3FIFO, TwoQ: exact libCacheSim counts")
struct QueuePolicyExactTests {
    @Test("exact miss counts", arguments: QueueExact.cases)
    func exact(_ c: QueueExact.Case) throws {
        guard let path = ConformanceData.tracePath else {
            print("queue policies: SKIPPED - conformance trace absent; set TIERKIT_CONFORMANCE_DIR")
            return
        }
        let (descriptor, parameters) = try Policies.parse(c.spec)
        for (k, size) in c.sizes.enumerated() {
            var setup = ReplaySetup(trace: TraceSpec(path: path, format: .oracleGeneral, objectMode: c.objectMode),
                                    capacity: size, parameters: parameters)
            let outcome = try descriptor.run(&setup)
            #expect(outcome.counts.requests == 113_872)
            #expect(outcome.counts.misses == c.misses[k], "\(c.spec) misses at \(size)")
            if let bytes = c.missBytes {
                #expect(outcome.counts.missBytes == bytes[k], "\(c.spec) miss bytes at \(size)")
            }
        }
    }
}

/// Small hand-worked request sequences (unit-size objects unless noted).
@Suite("Clock, SLRU, Sieve, S3FIFO, TwoQ: hand-made cases")
struct QueuePolicyUnitTests {
    struct Trace {
        var hits: [Bool] = []
        var victims: [UInt64] = []
    }

    static func make<P: EvictionPolicy>(_ type: P.Type, _ capacity: Int64, _ params: String = "") throws -> P {
        var p = try PolicyParameters(policy: P.name, parsing: Substring(params))
        return try P(capacity: capacity, parameters: &p)
    }

    static func run<P: EvictionPolicy>(_ policy: inout P, _ requests: [(UInt64, Int64)]) -> Trace {
        var t = Trace()
        var always = AdmitAll()
        for (id, size) in requests {
            t.hits.append(policy.access(Request(id: id, size: size), admission: &always, onEvict: { t.victims.append($0.id) }))
        }
        return t
    }

    static func run<P: EvictionPolicy>(_ policy: inout P, _ ids: [UInt64]) -> Trace {
        run(&policy, ids.map { ($0, 1) })
    }

    @Test("clock gives a hit object a second chance")
    func clockSecondChance() throws {
        var c = try Self.make(Clock.self, 3)
        let t = Self.run(&c, [1, 2, 3, 1, 4, 2, 1])
        #expect(t.hits == [false, false, false, true, false, false, true])
        #expect(t.victims == [2, 3])          // FIFO would have evicted 1 first
        #expect(c.label == "clock(bits=1)")
    }

    @Test("clock with a 2-bit counter keeps a hot object for three rounds")
    func clockCounter() throws {
        var c2 = try Self.make(Clock.self, 2, "bits=2")
        #expect(Self.run(&c2, [1, 2, 1, 1, 1, 1, 3, 4, 5, 6]).victims == [2, 3, 4, 1])
        var c1 = try Self.make(Clock.self, 2)
        #expect(Self.run(&c1, [1, 2, 1, 1, 1, 1, 3, 4]).victims == [2, 1])
    }

    @Test("sieve's hand keeps its place and survivors do not move")
    func sieveHand() throws {
        var s = try Self.make(Sieve.self, 3)
        let t = Self.run(&s, [1, 2, 3, 1, 4, 3, 5, 6])
        #expect(t.hits == [false, false, false, true, false, true, false, false])
        #expect(t.victims == [2, 4, 1])
        let removed = s.remove(5), again = s.remove(5)
        #expect(removed && !again)
        #expect(s.objectCount == 2)
    }

    @Test("slru fills every segment, then a hit can demote down to an eviction")
    func slruHitEvicts() throws {
        // capacity 10, 2 segments of 5 bytes
        var s = try Self.make(SLRU.self, 10, "segments=2")
        var t = Self.run(&s, [(1, 3), (2, 3), (3, 4)])
        // A -> seg0, B -> seg1 (seg0 full), C fits no segment -> seg0 (now 7 > 5)
        #expect(t.victims.isEmpty && s.occupied == 10)
        #expect(s.objects(inSegment: 0) == 2 && s.objects(inSegment: 1) == 1)
        // Hit on 1: promoted to seg1 (6 > 5) -> 2 demoted to seg0 (7 > 5) -> 3 evicted.
        t = Self.run(&s, [(1, 3)])
        #expect(t.hits == [true])
        #expect(t.victims == [3])
        #expect(s.objectCount == 2 && s.occupied == 6)
        #expect(s.label == "slru(segments=2)")
    }

    @Test("slru evicts from the lowest segment and promotes on hits")
    func slruOrder() throws {
        var s = try Self.make(SLRU.self, 4, "segments=2")
        let t = Self.run(&s, [1, 2, 3, 4, 5, 2, 5, 3, 6])
        // 1,2 -> seg0; 3,4 -> seg1; 5 evicts 1 (seg0's LRU); hits promote and demote
        // without evicting; 6 evicts seg0's LRU, which is 4 by then.
        #expect(t.hits == [false, false, false, false, false, true, true, true, false])
        #expect(t.victims == [1, 4])
        #expect(throws: PolicyError.self) { try Self.make(SLRU.self, 4, "segs=2") }
    }

    @Test("s3fifo moves twice-hit objects to main and admits ghost hits to main")
    func s3fifoQueues() throws {
        // capacity 8, small = 2, main = 6, ghost = 7
        var s = try Self.make(S3FIFO.self, 8, "small=0.25")
        let t = Self.run(&s, [1, 2, 3, 4, 5, 6, 7, 8, 2, 2, 3, 9, 10, 1, 2, 11])
        #expect(t.hits == [false, false, false, false, false, false, false, false,
                           true, true, true, false, false, false, true, false])
        // 9 drops 1; 10 moves 2 to main (not a victim) and drops 3 (one hit < 2);
        // 1 is a ghost hit that enters main, dropping 4; 11 drops 5.
        #expect(t.victims == [1, 3, 4, 5])
        #expect(s.queueCounts == (small: 6, main: 2, ghost: 3))
        #expect(s.label == "s3fifo(small=0.25,threshold=2)")
        // Empty the small queue: main then evicts, reinserting 2 (hit once) and dropping 1.
        for id: UInt64 in 6...11 {
            let removed = s.remove(id)
            #expect(removed)
        }
        let victim = s.evict(Request(id: 99))
        #expect(victim.id == 1)
        #expect(s.objectCount == 1)
    }

    @Test("s3fifo does not keep an object as large as the small queue")
    func s3fifoSmallQueueSize() throws {
        var s = try Self.make(S3FIFO.self, 10)   // small queue of 1
        let t = Self.run(&s, [1, 1, 2])
        #expect(t.hits == [false, false, false])
        #expect(s.objectCount == 0)
        #expect(!s.canInsert(Request(id: 3, size: 2)))
    }

    @Test("twoq sends ghost hits to Am, which may evict on insert")
    func twoqQueues() throws {
        // capacity 4, ain=0.5: A1in 2, A1out 2, Am 2
        var q = try Self.make(TwoQ.self, 4, "ain=0.5")
        var t = Self.run(&q, [1, 2, 3, 4, 5, 6, 1, 2, 3])
        #expect(t.hits == [false, false, false, false, false, false, false, false, false])
        // 5, 6 push 1, 2 to A1out; 1 and 2 come back to Am (pushing 3, 4 out of A1in);
        // 3 is a ghost hit too: A1in is within its share, so Am's LRU (1) goes.
        #expect(t.victims == [1, 2, 3, 4, 1])
        #expect(q.queueCounts == (ain: 2, am: 2, aout: 1))
        // With A1in shrunk, the next ghost hit fits the cache but not Am.
        let removed = q.remove(6)
        #expect(removed)
        t = Self.run(&q, [4, 3])
        #expect(t.hits == [false, true])
        #expect(t.victims == [2])
        #expect(q.queueCounts == (ain: 1, am: 2, aout: 0))
        #expect(q.label == "twoq(ain=0.5,aout=0.5)")
    }
}

/// Properties every policy here must keep on a real trace: `evict` removes
/// exactly one resident object, victims are resident, occupancy stays in bounds.
@Suite("Clock, SLRU, Sieve, S3FIFO, TwoQ: eviction contract")
struct QueuePolicyContractTests {
    static let specs = ["clock", "clock:bits=2", "slru", "slru:segments=5", "sieve", "s3fifo", "s3fifo:threshold=1", "twoq"]

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
            if hit { #expect(resident.contains(r.id)) } else { #expect(!resident.contains(r.id)) }
            for v in victims {
                let was = resident.remove(v)
                #expect(was != nil, "victim \(v) was not resident")
            }
            let after = policy.objectCount
            if !hit && after == before - victims.count + 1 {
                resident.insert(r.id)
            } else {
                #expect(after == before - victims.count)
            }
            #expect(resident.count == after)
            #expect(policy.occupied <= policy.capacity)
        }
        // Drain: one resident object per call.
        while policy.objectCount > 0 {
            let before = policy.objectCount
            let v = policy.evict(Request(id: 0))
            let was = resident.remove(v.id)
            #expect(was != nil)
            #expect(policy.objectCount == before - 1)
        }
        #expect(resident.isEmpty && policy.occupied == 0)
    }

    @Test("victims are resident and evict removes one object", arguments: specs)
    func contract(_ spec: String) throws {
        guard let path = ConformanceData.tracePath else {
            print("queue policy contract: SKIPPED - conformance trace absent; set TIERKIT_CONFORMANCE_DIR")
            return
        }
        let (_, params) = try Policies.parse(spec)
        for (capacity, objectMode) in [(Int64(200), true), (Int64(16 << 20), false)] {
            var p = params
            switch spec.split(separator: ":")[0] {
            case "clock": var c = try Clock(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "slru": var c = try SLRU(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "sieve": var c = try Sieve(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "s3fifo": var c = try S3FIFO(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            case "twoq": var c = try TwoQ(capacity: capacity, parameters: &p); try Self.check(&c, path: path, objectMode: objectMode, limit: 30_000)
            default: Issue.record("unknown spec \(spec)")
            }
        }
    }
}
