import Testing
import TierCore

@Suite("Admission policies")
struct AdmissionTests {
    func make(_ spec: String) throws -> BuiltinAdmission {
        try AdmissionSpec(parsing: spec).make()
    }

    /// The admission decisions for `requests`, in order.
    func decisions<A: AdmissionPolicy>(_ policy: inout A, _ requests: [Request]) -> [Bool] {
        requests.map { policy.admit($0) }
    }

    @Test("names, aliases, parameters and labels")
    func parsing() throws {
        #expect(BuiltinAdmission.names == ["always", "prob", "size", "secondhit"])
        #expect(try make("prob").label == "prob(prob=0.5)")
        #expect(try make("prob:p=0.25").label == "prob(prob=0.25)")
        #expect(try make("prob:prob=0.3,seed=7").label == "prob(prob=0.3,seed=7)")
        #expect(try make("size:max=4096").label == "size(size=4096)")
        #expect(try make("size:size=100").label == "size(size=100)")
        #expect(try make("bloom-filter").label == "secondhit")
        #expect(try AdmissionSpec(parsing: "bloomfilter").name == "secondhit")
        #expect(throws: PolicyError.self) { try make("prob:prob=0") }
        #expect(throws: PolicyError.self) { try make("prob:prob=1.5") }
        #expect(throws: PolicyError.self) { try make("size:limit=3") }
        #expect(throws: PolicyError.self) { try make("secondhit:x=1") }
        #expect(throws: PolicyError.self) { try make("lfu") }
    }

    @Test("prob draws libCacheSim's next_rand sequence from seed 0")
    func probSequence() {
        // rand_seed = 6364136223846793005 * rand_seed + 1442695040888963407 from 0:
        // 1442695040888963407 % 10^7 = 8963407, then 1876011003808476466 % 10^7 = 8476466,
        // then 11166244414315200793 % 10^7 = 5200793.
        var a = ProbabilisticAdmission(probability: 0.85)
        let r = Request(id: 1)
        // 8963407 >= 8500000, 8476466 < 8500000, 5200793 < 8500000.
        #expect(decisions(&a, [r, r, r]) == [false, true, true])
        // The third draw, 5200793, sits between 0.52 and 0.5201 (scaled, truncated).
        var below = ProbabilisticAdmission(probability: 0.52)
        var above = ProbabilisticAdmission(probability: 0.5201)
        #expect(decisions(&below, [r, r, r]) == [false, false, false])
        #expect(decisions(&above, [r, r, r]) == [false, false, true])
    }

    @Test("size admits strictly smaller objects only")
    func sizeThreshold() {
        var a = SizeAdmission(threshold: 4096)
        let sizes: [Int64] = [4095, 4096, 9000, 1]
        #expect(decisions(&a, sizes.map { Request(id: 1, size: $0) }) == [true, false, false, true])
        var unlimited = SizeAdmission()
        #expect(decisions(&unlimited, [Request(id: 4, size: 1 << 40)]) == [true])
    }

    @Test("secondhit rejects the first miss of each object and admits later ones")
    func secondHit() throws {
        var a = SecondHitAdmission()
        let ids: [UInt64] = [7, 8, 7, 7, 8]
        #expect(decisions(&a, ids.map { Request(id: $0) }) == [false, false, true, true, true])
        #expect(a.distinctObjects == 2)
        // Through the cache: only misses consult admission.
        var none = PolicyParameters(policy: "lru")
        var lru = try LRU(capacity: 2, parameters: &none)
        var spec = try make("secondhit")
        var outcomes: [Bool] = []
        for id: UInt64 in [1, 1, 1, 2, 3, 2, 3, 1] {
            outcomes.append(lru.access(Request(id: id), admission: &spec, onEvict: { _ in }))
        }
        // 1: rejected, admitted, hit. 2 and 3: rejected, then admitted; admitting 3
        // evicts 1, whose next request misses.
        #expect(outcomes == [false, false, true, false, false, false, false, false])
    }

    // libCacheSim aa0fc40, set_rand_seed(0):
    // lcs-exact TRACE lru "" SIZES bytes <admission> <params>, SIZES = 128 MiB × 1...8.
    @Test("exact LRU misses with admission at 8 byte sizes", arguments: [
        ("prob", [Int64(94505), 89460, 84908, 83465, 80457, 77002, 74126, 69084],
         [Int64(4_193_123_840), 3_946_762_752, 3_687_178_240, 3_597_399_040, 3_403_814_912, 3_215_304_192, 3_117_856_768, 2_904_346_112]),
        ("prob:prob=0.3", [94725, 90431, 88038, 83835, 80988, 76956, 76823, 76827],
         [4_137_285_632, 3_900_525_056, 3_752_047_616, 3_522_497_024, 3_395_323_392, 3_260_027_392, 3_254_574_592, 3_254_299_648]),
        ("size:size=65536", [90979, 84782, 77818, 77818, 77818, 77818, 77818, 77818],
         [4_166_427_648, 4_047_892_992, 3_948_315_648, 3_948_315_648, 3_948_315_648, 3_948_315_648, 3_948_315_648, 3_948_315_648]),
        ("size:max=4096", [105559, 105559, 105559, 105559, 105559, 105559, 105559, 105559],
         [4_353_313_280, 4_353_313_280, 4_353_313_280, 4_353_313_280, 4_353_313_280, 4_353_313_280, 4_353_313_280, 4_353_313_280]),
        ("secondhit", [94816, 90386, 88417, 85744, 82344, 79504, 77058, 76979],
         [4_193_502_720, 3_979_631_104, 3_877_562_880, 3_716_727_296, 3_503_820_288, 3_323_299_328, 3_257_762_304, 3_254_848_512]),
    ])
    func exactBytes(_ admission: String, _ misses: [Int64], _ missBytes: [Int64]) throws {
        guard let counts = try replayConformanceTrace(policy: "lru", sizes: ConformanceData.sizes,
                                                      admission: AdmissionSpec(parsing: admission)) else { return }
        #expect(counts.map(\.misses) == misses)
        #expect(counts.map(\.missBytes) == missBytes)
    }

    // libCacheSim aa0fc40, set_rand_seed(0): lcs-exact TRACE lru "" 500,2000,10000 objects <admission> <params>
    @Test("exact LRU misses with admission in object mode", arguments: [
        ("prob:prob=0.3", [Int64(98546), 96665, 86067]),
        ("bloom-filter", [96648, 95721, 87137]),
    ])
    func exactObjects(_ admission: String, _ misses: [Int64]) throws {
        guard let counts = try replayConformanceTrace(policy: "lru", sizes: [500, 2000, 10000], objectMode: true,
                                                      admission: AdmissionSpec(parsing: admission)) else { return }
        #expect(counts.map(\.misses) == misses)
        #expect(counts.map(\.missBytes) == misses)
    }
}
