import Foundation
import Testing
import TierCore

/// libCacheSim's own expected miss counts on its sample trace, read from
/// ../shared/conformance (or $TIERKIT_CONFORMANCE_DIR); never copied into the repo.
enum ConformanceData {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var policy: String          // libCacheSim's name
        var misses: [Int64]
        var missBytes: [Int64]
        var testDescription: String { policy }
    }

    static let directory: String? = {
        let env = ProcessInfo.processInfo.environment
        if env["TIERKIT_CONFORMANCE_DIR"] == nil, env["CI"] == nil || env["TIERKIT_REQUIRE_CONFORMANCE"] == nil {}
        if let dir = env["TIERKIT_CONFORMANCE_DIR"] { return dir }
        // Tests run from the package root; shared/ sits beside the checkout.
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return here.deletingLastPathComponent().appendingPathComponent("shared/conformance").path
    }()

    static var tracePath: String? {
        guard let d = directory else { return nil }
        let p = d + "/cloudPhysicsIO.oracleGeneral.bin"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// Cache sizes of libCacheSim's test: 128 MiB × k for k = 1...8.
    static let sizes: [Int64] = (1...8).map { Int64($0) * 134_217_728 }

    static let expectations: [Expectation] = {
        guard let d = directory,
              let text = try? String(contentsOfFile: d + "/libcachesim-expected.csv", encoding: .utf8) else { return [] }
        var out: [Expectation] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("policy,") {
            let fields = line.split(separator: "\"", omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            let names = fields[0].split(separator: ",")
            func numbers(_ s: Substring) -> [Int64] { s.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) } }
            out.append(Expectation(policy: String(names[0]), misses: numbers(fields[1]), missBytes: numbers(fields[3])))
        }
        return out
    }()

    /// TierKit's command-line name for libCacheSim's policy name.
    static func tierkitName(_ libcachesim: String) -> String {
        switch libcachesim.lowercased() {
        case "twoq": return "twoq"
        case "slru": return "slru:segments=5"    // libCacheSim's test uses n-seg=5
        case "s3fifo", "s3-fifo": return "s3fifo:small=0.1,threshold=2"
        case "tinylfu", "wtinylfu": return "wtinylfu"
        default: return libcachesim.lowercased()
        }
    }
}

@Suite("libCacheSim conformance")
struct ConformanceTests {
    @Test("the conformance data is present")
    func dataPresent() throws {
        guard ConformanceData.tracePath != nil else {
            print("conformance: SKIPPED - \(ConformanceData.directory ?? "?") does not hold cloudPhysicsIO.oracleGeneral.bin; set TIERKIT_CONFORMANCE_DIR")
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("conformance data missing under CI")
            }
            return
        }
        #expect(ConformanceData.expectations.count >= 10)
    }

    @Test("exact miss counts and miss bytes at 8 sizes", arguments: ConformanceData.expectations)
    func exactMisses(_ expected: ConformanceData.Expectation) throws {
        guard let path = ConformanceData.tracePath else { return }
        let (descriptor, parameters) = try Policies.parse(ConformanceData.tierkitName(expected.policy))
        for (k, size) in ConformanceData.sizes.enumerated() {
            var setup = ReplaySetup(trace: TraceSpec(path: path, format: .oracleGeneral), capacity: size, parameters: parameters)
            let outcome = try descriptor.run(&setup)
            #expect(outcome.counts.requests == 113_872)
            #expect(outcome.counts.bytes == 4_368_040_448)
            #expect(outcome.counts.misses == expected.misses[k], "\(expected.policy) misses at \(size) bytes")
            #expect(outcome.counts.missBytes == expected.missBytes[k], "\(expected.policy) miss bytes at \(size) bytes")
        }
    }
}
