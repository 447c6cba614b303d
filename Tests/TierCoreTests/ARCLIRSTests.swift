import Testing
import TierCore

/// Replays unit-size requests through `policy`, returning hits and victims in order.
private func run<P: EvictionPolicy>(_ policy: inout P, _ ids: [UInt64]) -> (hits: [Bool], victims: [UInt64]) {
    var hits: [Bool] = []
    var victims: [UInt64] = []
    var always = AdmitAll()
    for id in ids {
        hits.append(policy.access(Request(id: id), admission: &always, onEvict: { victims.append($0.id) }))
    }
    return (hits, victims)
}

private func replayCounts(_ spec: String, capacity: Int64, objectMode: Bool) throws -> ReplayCounts? {
    guard let path = ConformanceData.tracePath else {
        print("ARC/LIRS exact counts: SKIPPED - conformance trace absent; set TIERKIT_CONFORMANCE_DIR")
        return nil
    }
    let (descriptor, parameters) = try Policies.parse(spec)
    var setup = ReplaySetup(trace: TraceSpec(path: path, format: .oracleGeneral, objectMode: objectMode),
                            capacity: capacity, parameters: parameters)
    return try descriptor.run(&setup).counts
}

@Suite("ARC")
struct ARCTests {
    @Test("ghost hits adapt p and go to T2")
    func handMade() throws {
        var params = PolicyParameters()
        var arc = try ARC(capacity: 3, parameters: &params)
        // 1,2 -> T1; 1 -> T2; 3 fills; 4 pushes 2 to B1; 2 is a B1 ghost hit (p = 1),
        // pushes 3 to B1 and enters T2; 5 pushes 1 (T2's LRU, T1 = p) to B2; 1 is a
        // B2 ghost hit (p = 0) and pushes 4 to B1; 2 hits in T2; 3 is a B1 ghost hit
        // (p = 1, T1 = p) and pushes 1 from T2 to B2 again.
        let (hits, victims) = run(&arc, [1, 2, 1, 3, 4, 2, 5, 1, 2, 3])
        #expect(hits == [false, false, true, false, false, false, false, false, true, false])
        #expect(victims == [2, 3, 1, 4, 1])
        #expect(arc.occupied == 3)
        #expect(arc.objectCount == 3)
        // libCacheSim aa0fc40 on this trace, 3 objects: 8 misses.
        #expect(hits.filter { !$0 }.count == 8)
    }

    @Test("evict removes one resident object and remove skips ghosts")
    func evictAndRemove() throws {
        var params = PolicyParameters()
        var arc = try ARC(capacity: 10, parameters: &params)
        _ = run(&arc, [1, 2, 3])
        let victim = arc.evict(Request(id: 99))
        #expect(victim == Victim(id: 1, size: 1))
        #expect(arc.objectCount == 2)
        #expect(arc.ghostBytes == 1)
        let removedGhost = arc.remove(1)   // only a ghost
        #expect(!removedGhost)
        #expect(arc.ghostBytes == 0)
        let removed = arc.remove(2)
        #expect(removed)
        #expect(arc.occupied == 1)
    }

    // libCacheSim aa0fc40, set_rand_seed(0)
    @Test("exact counts, object mode", arguments: [
        (Int64(1), Int64(111_187)), (2, 110_101), (10, 106_062), (100, 97_330), (500, 94_218),
        (2000, 92_829), (10_000, 79_413), (50_000, 48_974),
    ])
    func objectMode(_ size: Int64, _ misses: Int64) throws {
        guard let c = try replayCounts("arc", capacity: size, objectMode: true) else { return }
        #expect(c.requests == 113_872)
        #expect(c.misses == misses)
        #expect(c.missBytes == misses)
    }

    // libCacheSim aa0fc40, set_rand_seed(0); the 128 MiB multiples are in the conformance CSV.
    @Test("exact counts, small byte caches", arguments: [
        (Int64(65_536), Int64(105_974), Int64(4_343_000_576)), (100_000, 104_027, 4_333_737_472),
        (300_000, 99_184, 4_313_376_768), (1_048_576, 96_200, 4_299_051_008), (16_777_216, 93_751, 4_269_066_240),
    ])
    func byteMode(_ size: Int64, _ misses: Int64, _ missBytes: Int64) throws {
        guard let c = try replayCounts("arc", capacity: size, objectMode: false) else { return }
        #expect(c.misses == misses)
        #expect(c.missBytes == missBytes)
    }
}

@Suite("LIRS")
struct LIRSTests {
    @Test("HIR eviction, non-resident promotion and pruning")
    func handMade() throws {
        var params = PolicyParameters()
        var lirs = try LIRS(capacity: 3, parameters: &params)   // LIR 2 objects, Q 1 object
        // 1,2 -> LIR; 3 -> HIR in S and Q; 4 evicts 3 (its S entry turns non-resident)
        // and takes Q; 3 returns: LIR 1 is demoted to Q, evicting 4, and 3 becomes LIR;
        // 3 and 2 are LIR hits (2's hit prunes 4's non-resident entry); 4 is new again
        // and evicts Q's 1.
        let (hits, victims) = run(&lirs, [1, 2, 3, 4, 3, 3, 2, 4])
        #expect(hits == [false, false, false, false, false, true, true, false])
        #expect(victims == [3, 4, 1])
        #expect(lirs.occupied == 3)
        // libCacheSim aa0fc40 on this trace, 3 objects: 6 misses.
        #expect(hits.filter { !$0 }.count == 6)
        #expect(lirs.label == "lirs(hir=0.01)")
    }

    @Test("evict demotes LIR objects when Q is empty")
    func evictDemotes() throws {
        var params = PolicyParameters()
        var lirs = try LIRS(capacity: 200, parameters: &params)   // Q holds 2
        _ = run(&lirs, [1, 2, 3])                                 // all LIR
        let victim = lirs.evict(Request(id: 99))
        #expect(victim == Victim(id: 1, size: 1))
        #expect(lirs.objectCount == 2)
        let removed = lirs.remove(2)
        #expect(removed)
        let removedAgain = lirs.remove(1)
        #expect(!removedAgain)
        #expect(lirs.objectCount == 1)
    }

    @Test("objects larger than Q's share are not cached")
    func tooLarge() throws {
        var params = PolicyParameters()
        var lirs = try LIRS(capacity: 1000, parameters: &params)  // Q share 10 bytes
        var always = AdmitAll()
        #expect(!lirs.access(Request(id: 1, size: 11), admission: &always, onEvict: { _ in }))
        #expect(lirs.objectCount == 0)
        #expect(!lirs.access(Request(id: 2, size: 10), admission: &always, onEvict: { _ in }))
        #expect(lirs.access(Request(id: 2, size: 10), admission: &always, onEvict: { _ in }))
    }

    // libCacheSim aa0fc40, set_rand_seed(0)
    @Test("exact counts, object mode", arguments: [
        (Int64(1), Int64(113_872)), (2, 109_662), (10, 106_339), (100, 97_875), (200, 95_726),
        (500, 94_631), (2000, 93_073), (10_000, 74_395), (50_000, 48_974),
    ])
    func objectMode(_ size: Int64, _ misses: Int64) throws {
        guard let c = try replayCounts("lirs", capacity: size, objectMode: true) else { return }
        #expect(c.requests == 113_872)
        #expect(c.misses == misses)
        #expect(c.missBytes == misses)
    }

    // libCacheSim aa0fc40, set_rand_seed(0); the 128 MiB multiples are in the conformance CSV.
    @Test("exact counts, small byte caches", arguments: [
        (Int64(65_536), Int64(112_623), Int64(4_367_400_960)), (100_000, 112_609, 4_367_393_792),
        (300_000, 107_129, 4_357_116_416), (1_048_576, 95_645, 4_308_294_144), (16_777_216, 93_903, 4_274_672_128),
    ])
    func byteMode(_ size: Int64, _ misses: Int64, _ missBytes: Int64) throws {
        guard let c = try replayCounts("lirs", capacity: size, objectMode: false) else { return }
        #expect(c.misses == misses)
        #expect(c.missBytes == missBytes)
    }
}
