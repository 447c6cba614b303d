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
