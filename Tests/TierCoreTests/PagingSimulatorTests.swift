import Foundation
import Testing

@testable import TierCore

private let ms: UInt64 = 1_000_000
private let s: UInt64 = 1_000_000_000

private func sim(_ memory: Int, regionPages: Int = 1, _ policy: String?) throws -> PagingSimulator {
    PagingSimulator(configuration: .init(memoryPages: memory, regionPages: regionPages),
                    policy: try policy.map { try PagingPolicies.make($0) })
}

/// The cold-age script: pages 0-3 touched at once, page 0 kept warm, page 1 touched again late.
private let coldAgeScript: [(page: UInt64, time: UInt64)] =
    [(0, 0), (1, 1 * ms), (2, 2 * ms), (3, 3 * ms), (0, 500 * ms), (0, 1500 * ms), (0, 2500 * ms), (0, 3500 * ms), (1, 3600 * ms)]

@Suite struct PagingSimulatorTests {
    @Test func kernelLRUAlone() throws {
        var m = try sim(4, nil)
        for p in 0..<6 { m.access(page: UInt64(p), time: UInt64(p) * ms) }
        m.access(page: 0, time: 6 * ms)
        var expected = PagingSimulator.Counts()
        expected.accesses = 7
        expected.faults = 6
        expected.refaults = 1
        expected.reclaimed = 3
        #expect(m.finish() == expected)
        #expect(m.residentPages == 4 && m.swappedPages == 2)
    }

    @Test func coldAgePagesOutWhatAged() throws {
        var m = try sim(8, "cold-age:min_age=2s,quota=1MiB,wmark_high=1,wmark_mid=1,wmark_low=0")
        for a in coldAgeScript { m.access(page: a.page, time: a.time) }
        var expected = PagingSimulator.Counts()
        expected.accesses = 9
        expected.faults = 4
        expected.refaults = 1
        expected.pagedOut = 3
        expected.periods = 3
        #expect(m.finish(at: 3600 * ms) == expected)
        // Pages 1-3 reach min_age only at the third decision.
        #expect(m.samples.map(\.time) == [1 * s, 2 * s, 3 * s])
        #expect(m.samples.map(\.residentPages) == [4, 4, 1])
        #expect(m.samples.map(\.swappedPages) == [0, 0, 3])
    }

    @Test func snapshotsDescribeTheSimulation() throws {
        var m = try sim(8, regionPages: 2, nil)
        for a in coldAgeScript.prefix(5) { m.access(page: a.page, time: a.time) }
        let snap = m.snapshot(at: 1 * s)
        #expect(snap.totalMemory == 8 * 4096 && snap.freeMemory == 4 * 4096)
        #expect(snap.regions == [
            PageRegion(start: 0, pages: 2, residentPages: 2, accesses: 3, ageNanoseconds: 0),
            PageRegion(start: 2 * 4096, pages: 2, residentPages: 2, accesses: 2, ageNanoseconds: 0),
        ])
        _ = m.finish(at: 1 * s)
        // After the decision the period's accesses are cleared: ages count from the last access.
        #expect(m.snapshot(at: 2 * s).regions[1] == PageRegion(start: 2 * 4096, pages: 2, residentPages: 2, ageNanoseconds: 2 * s - 3 * ms))
    }

    @Test func prefetchFollowsTheRefaultStride() throws {
        func run(_ policy: String?) throws -> PagingSimulator.Counts {
            var m = try sim(4, regionPages: 4, policy)
            for p in 0..<8 { m.access(page: UInt64(p), time: UInt64(p) * ms) }
            for p in 0..<3 { m.access(page: UInt64(p), time: 100 * ms + UInt64(p) * ms) }
            for p in 3..<6 { m.access(page: UInt64(p), time: 1100 * ms + UInt64(p) * ms) }
            return m.finish()
        }
        var expected = PagingSimulator.Counts()
        expected.accesses = 14
        expected.faults = 8
        expected.refaults = 4
        expected.prefetchHits = 2
        expected.prefetched = 2
        expected.reclaimed = 10
        expected.periods = 1
        #expect(try run("prefetch:window=4,depth=2") == expected)
        // Without the policy pages 3 and 4 refault too.
        let baseline = try run(nil)
        #expect(baseline.refaults == 6 && baseline.prefetchHits == 0 && baseline.reclaimed == 10)
    }

    @Test func replayFromATraceFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("paging-\(UUID().uuidString).tkt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var records = coldAgeScript.map { PageTraceRecord(time: $0.time, address: $0.page << 12, pid: 7, tid: 7, kind: .writeFault) }
        // Kernel events are not accesses: skipped.
        records.insert(PageTraceRecord(time: 2 * ms, address: 9 << 12, pid: 7, tid: 7, kind: .reclaim), at: 2)
        let w = try PageTraceWriter(path: path, header: PageTraceHeader(kernelRelease: "test"))
        for r in records { try w.append(r) }
        try w.close()
        var reader = try PageTraceReader(path: path)
        let m = try PagingSimulator.replay(&reader, configuration: .init(memoryPages: 8, regionPages: 1),
                                           policy: PagingPolicies.make("cold-age:min_age=2s,wmark_high=1,wmark_mid=1,wmark_low=0"))
        #expect(m.counts.faults == 4 && m.counts.refaults == 1 && m.counts.pagedOut == 3 && m.counts.accesses == 9)
        #expect(m.samples.map(\.residentPages) == [4, 4, 1])
    }
}
