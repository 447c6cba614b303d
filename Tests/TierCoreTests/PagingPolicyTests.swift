import Testing

@testable import TierCore

private let page: UInt64 = 4096

private func snapshot(free: Double = 0.3, period: UInt64 = 1_000_000_000, refaultRate: Double = 0, psi: Double? = nil,
                      regions: [PageRegion], refaults: [UInt64] = []) -> HeatSnapshot {
    HeatSnapshot(time: 0, periodNanoseconds: period, pageSize: 4096, totalMemory: 1000 * 4096,
                 freeMemory: Int64(free * 1000) * 4096, psiSomeAvg10: psi, refaultRate: refaultRate,
                 regions: regions, refaultAddresses: refaults)
}

private func make<P: PagingPolicy>(_ type: P.Type, _ text: String) throws -> P {
    var p = try PolicyParameters(policy: P.name, parsing: Substring(text))
    return try P(parameters: &p)
}

@Suite struct ColdAgeReclaimTests {
    let regions = [
        PageRegion(start: 0x10000, pages: 8, residentPages: 8, accesses: 0, ageNanoseconds: 200_000_000_000),
        PageRegion(start: 0x20000, pages: 4, residentPages: 4, accesses: 0, ageNanoseconds: 300_000_000_000),
        PageRegion(start: 0x30000, pages: 4, residentPages: 4, accesses: 3, ageNanoseconds: 0),
        PageRegion(start: 0x40000, pages: 4, residentPages: 0, swappedPages: 4, ageNanoseconds: 500_000_000_000),
        PageRegion(start: 0x50000, pages: 2, residentPages: 2, ageNanoseconds: 50_000_000_000),
    ]

    @Test func oldestFirstWithinTheQuota() throws {
        // 10 pages per second: B (age 300 s) whole, then A (200 s) cut to the 6 pages left.
        // C was accessed, D has nothing resident, E is younger than min_age.
        var p = try make(ColdAgeReclaim.self, "quota=40KiB,wmark_high=1,wmark_mid=1,wmark_low=0")
        #expect(p.decide(snapshot(regions: regions)) == [
            PagingAction(.pageout, start: 0x20000, length: 4 * page),
            PagingAction(.pageout, start: 0x10000, length: 6 * page),
        ])
        // Half a second of period: half the quota (5 pages): B is 4, then one page of A.
        #expect(p.decide(snapshot(period: 500_000_000, regions: regions)) == [
            PagingAction(.pageout, start: 0x20000, length: 4 * page),
            PagingAction(.pageout, start: 0x10000, length: 1 * page),
        ])
    }

    @Test func minAgeAndColdAction() throws {
        var p = try make(ColdAgeReclaim.self, "min_age=50s,action=cold,wmark_high=1,wmark_mid=1,wmark_low=0")
        // Default quota (128 MiB/s) covers everything unaccessed at least 50 s old.
        #expect(p.decide(snapshot(regions: regions)) == [
            PagingAction(.cold, start: 0x20000, length: 4 * page),
            PagingAction(.cold, start: 0x10000, length: 8 * page),
            PagingAction(.cold, start: 0x50000, length: 2 * page),
        ])
    }

    @Test func watermarksFollowDAMOS() throws {
        var p = try make(ColdAgeReclaim.self, "min_age=1s")  // 0.5 / 0.4 / 0.2
        let one = [PageRegion(start: 0x10000, pages: 1, residentPages: 1, ageNanoseconds: 2_000_000_000)]
        let act = [PagingAction(.pageout, start: 0x10000, length: page)]
        #expect(p.decide(snapshot(free: 0.45, regions: one)) == [])   // inactive, above mid: wait
        #expect(p.decide(snapshot(free: 0.35, regions: one)) == act)  // below mid: activate
        #expect(p.decide(snapshot(free: 0.45, regions: one)) == act)  // active stays active up to high
        #expect(p.decide(snapshot(free: 0.50, regions: one)) == act)  // high itself is still in
        #expect(p.decide(snapshot(free: 0.55, regions: one)) == [])   // above high: deactivate
        #expect(p.decide(snapshot(free: 0.45, regions: one)) == [])   // and wait for mid again
        #expect(p.decide(snapshot(free: 0.25, regions: one)) == act)
        #expect(p.decide(snapshot(free: 0.15, regions: one)) == [])   // below low: the kernel's job
        #expect(p.active == false)
    }

    @Test func badParameters() throws {
        #expect(throws: PolicyError("cold-age: watermarks must satisfy wmark_low <= wmark_mid <= wmark_high (got 0.5, 0.4, 0.6)")) {
            try make(ColdAgeReclaim.self, "wmark_low=0.5,wmark_mid=0.4,wmark_high=0.6")
        }
        #expect(throws: PolicyError("cold-age: unknown parameter 'minage' (known: min_age, quota, wmark_high, wmark_mid, wmark_low, action)")) {
            try make(ColdAgeReclaim.self, "minage=3s")
        }
        #expect(throws: PolicyError("cold-age: min_age=soon is not a duration (e.g. 120s, 500ms, 2m)")) {
            try make(ColdAgeReclaim.self, "min_age=soon")
        }
    }
}

@Suite struct RefaultFeedbackTests {
    @Test func pressureFollowsTheRefaultRate() throws {
        var p = try make(RefaultFeedback.self, "target=10,step=8KiB,max=64KiB,gain=0.5,signal=refaults")
        #expect(p.pressure == 8192)
        let x = PageRegion(start: 0x100000, pages: 2, residentPages: 2, ageNanoseconds: 10_000_000_000)
        let y = PageRegion(start: 0x200000, pages: 4, residentPages: 4, ageNanoseconds: 20_000_000_000)
        let z = PageRegion(start: 0x300000, pages: 4, residentPages: 4, accesses: 5)
        let w = PageRegion(start: 0x400000, pages: 2, residentPages: 2, accesses: 1)
        // No refaults: e = 1, pressure 8 KiB × 1.5 = 12 KiB; the oldest cold region first, cut to 3 pages.
        #expect(p.decide(snapshot(refaultRate: 0, regions: [x, y, z, w])) == [PagingAction(.pageout, start: 0x200000, length: 3 * page)])
        #expect(p.pressure == 12288)
        // Half the target: e = 0.5, pressure 15 KiB. Y has one resident page left (charged 4 KiB, advised
        // whole), X takes 8 KiB, and 3 KiB is less than a page.
        var y2 = y
        y2.residentPages = 1
        y2.swappedPages = 3
        #expect(p.decide(snapshot(refaultRate: 5, regions: [x, y2, z, w])) == [
            PagingAction(.pageout, start: 0x200000, length: 4 * page),
            PagingAction(.pageout, start: 0x100000, length: 2 * page),
        ])
        #expect(p.pressure == 15360)
        // Twice the target: e = -1, pressure halves to 7.5 KiB, held at the 8 KiB step; no reclaim.
        #expect(p.decide(snapshot(refaultRate: 20, regions: [x, y, z, w])) == [])
        #expect(p.pressure == 8192)
        // At the target: e = 0, pressure unchanged, no reclaim.
        #expect(p.decide(snapshot(refaultRate: 10, regions: [x, y, z, w])) == [])
        #expect(p.pressure == 8192)
        // With only accessed regions left, the least accessed goes first.
        #expect(p.decide(snapshot(refaultRate: 0, regions: [z, w])) == [
            PagingAction(.pageout, start: 0x400000, length: 2 * page),
            PagingAction(.pageout, start: 0x300000, length: 1 * page),
        ])
    }

    @Test func psiWinsWhenPresent() throws {
        var p = try make(RefaultFeedback.self, "target=10,psi_target=0.1,step=8KiB,gain=0.5")
        let r = PageRegion(start: 0x100000, pages: 8, residentPages: 8, ageNanoseconds: 1)
        // Refaults are 10× the target, but PSI (0.05 of 0.1) says there is room: e = 0.5, 10 KiB → 2 pages.
        #expect(p.decide(snapshot(refaultRate: 100, psi: 0.05, regions: [r])) == [PagingAction(.pageout, start: 0x100000, length: 2 * page)])
        #expect(p.pressure == 10240)
        var q = try make(RefaultFeedback.self, "target=10,step=8KiB,signal=refaults")
        #expect(q.decide(snapshot(refaultRate: 100, psi: 0.05, regions: [r])) == [])
    }
}

@Suite struct SwapPrefetchTests {
    @Test func majorityTrend() {
        #expect(SwapPrefetch.trend([10, 11, 12, 13], window: 32) == 1)
        #expect(SwapPrefetch.trend([10, 12, 14, 16, 100], window: 32) == 2)
        #expect(SwapPrefetch.trend([5, 3, 1], window: 32) == -2)
        #expect(SwapPrefetch.trend([1, 5, 6, 20, 22], window: 32) == nil)
        #expect(SwapPrefetch.trend([7, 7, 7], window: 32) == nil)  // a zero stride is no trend
        #expect(SwapPrefetch.trend([7], window: 32) == nil)
        // The newest span wins: an old stride of 1, then four strides of 3 (window/4 = 4 deltas).
        #expect(SwapPrefetch.trend([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 14, 17, 20], window: 16) == 3)
    }

    @Test func readsAheadInsideSwappedRegions() throws {
        var p = try make(SwapPrefetch.self, "window=8,depth=4")
        let r1 = PageRegion(start: 0x100000, pages: 16, residentPages: 6, swappedPages: 10)
        let resident = PageRegion(start: 0x110000, pages: 16, residentPages: 16)
        // Stride +1 from page 0x102: pages 0x103...0x106, one range.
        #expect(p.decide(snapshot(regions: [r1, resident], refaults: [0x100000, 0x101000, 0x102000])) == [
            PagingAction(.willneed, start: 0x103000, length: 4 * page),
        ])
        // Stride +2 from 0x10C: 0x10E is in r1; 0x110...0x114 are in a region with nothing swapped.
        var q = try make(SwapPrefetch.self, "window=8,depth=4")
        #expect(q.decide(snapshot(regions: [r1, resident], refaults: [0x108000, 0x10A000, 0x10C000])) == [
            PagingAction(.willneed, start: 0x10E000, length: page),
        ])
    }

    @Test func historySpansPeriods() throws {
        var p = try make(SwapPrefetch.self, "window=8,depth=4")
        let r = PageRegion(start: 0x200000, pages: 16, residentPages: 11, swappedPages: 5)
        #expect(p.decide(snapshot(regions: [r], refaults: [0x20A000])) == [])
        #expect(p.decide(snapshot(regions: [r], refaults: [])) == [])
        // Downwards: 0x20A, 0x209, 0x208 → pages 0x207...0x204, merged into one ascending range.
        #expect(p.decide(snapshot(regions: [r], refaults: [0x209000, 0x208000])) == [
            PagingAction(.willneed, start: 0x204000, length: 4 * page),
        ])
        #expect(p.history == [0x20A, 0x209, 0x208])
    }
}

@Suite struct PagingRegistryTests {
    @Test func namesAndParameters() throws {
        #expect(PagingPolicies.all.map(\.name) == ["cold-age", "refault", "prefetch"])
        let p = try PagingPolicies.make("cold-age:min_age=2s,quota=1MiB")
        #expect(p.label == "cold-age(min_age=2s,quota=1048576B/s,wmarks=0.5/0.4/0.2)")
        #expect(try PagingPolicies.make("PREFETCH").label == "prefetch(window=32,depth=8)")
        #expect(throws: PolicyError("unknown paging policy 'lru'; known paging policies: cold-age, refault, prefetch")) {
            try PagingPolicies.make("lru")
        }
        #expect(throws: PolicyError("prefetch: depth=0 is outside 1...65536")) {
            try PagingPolicies.make("prefetch:depth=0")
        }
    }

    @Test func durations() {
        #expect(DurationText.parse("120s") == 120_000_000_000)
        #expect(DurationText.parse("500ms") == 500_000_000)
        #expect(DurationText.parse("2m") == 120_000_000_000)
        #expect(DurationText.parse("2min") == 120_000_000_000)
        #expect(DurationText.parse("1.5") == 1_500_000_000)
        #expect(DurationText.parse("250us") == 250_000)
        #expect(DurationText.parse("-1s") == nil)
        #expect(DurationText.parse("soon") == nil)
        #expect(DurationText.format(1_500_000_000) == "1500ms")
        #expect(DurationText.format(120_000_000_000) == "120s")
    }
}
