import Testing
import TierCore

@testable import TierDaemon

/// The heat model on hand-made observations: exact regions, ages and refaults.
struct ProcessHeatTests {
    let p = PageState.present.rawValue
    let s = PageState.swapped.rawValue
    let base: UInt64 = 0x7000_0000_0000
    let second: UInt64 = 1_000_000_000

    @Test func regionsCountPagesAndAgeFromFirstSight() {
        var heat = ProcessHeat(regionPages: 4)
        let states = [p, p, p, p, p, s, 0, p]
        let first = heat.observe([VMAObservation(start: base, states: states, referencedBytes: 0)], faults: [:], now: 10 * second)
        #expect(first.regions.map(\.start) == [base, base + 4 * 4096])
        #expect(first.regions.map(\.pages) == [4, 4])
        #expect(first.regions.map(\.residentPages) == [4, 2])
        #expect(first.regions.map(\.swappedPages) == [0, 1])
        #expect(first.regions.map(\.ageNanoseconds) == [0, 0])
        let later = heat.observe([VMAObservation(start: base, states: states, referencedBytes: 0)], faults: [:], now: 13 * second)
        #expect(later.regions.map(\.ageNanoseconds) == [3 * second, 3 * second])
        #expect(later.refaults == 0)
    }

    @Test func faultsMakeARegionYoungAndSwappedToPresentIsARefault() {
        var heat = ProcessHeat(regionPages: 4)
        _ = heat.observe([VMAObservation(start: base, states: [s, s, s, s, p, p, p, p], referencedBytes: 0)], faults: [:], now: 1 * second)
        // Page 1 came back (refault); page 6 faulted (first touch of a present page's region).
        let next = heat.observe([VMAObservation(start: base, states: [s, p, s, s, p, p, p, p], referencedBytes: 0)],
                                faults: [(base + 6 * 4096) / 4096: 1], now: 5 * second)
        #expect(next.refaults == 1)
        #expect(next.refaultAddresses == [base + 4096])
        #expect(next.regions.map(\.refaults) == [1, 0])
        #expect(next.regions.map(\.accesses) == [1, 1])
        #expect(next.regions.map(\.ageNanoseconds) == [0, 0])
    }

    @Test func provenHotRegionsStayYoungWhileTheirVMAIsReferenced() {
        var heat = ProcessHeat(regionPages: 2)
        let all = [p, p, p, p, p, p]
        _ = heat.observe([VMAObservation(start: base, states: all, referencedBytes: 0)], faults: [:], now: 0)
        // The daemon paged out everything; region 0 was touched at once (advised out, faulted).
        heat.update(vmaStart: base, firstPage: 0, states: [PageState.advisedOut.rawValue, PageState.advisedOut.rawValue, s, s, s, s])
        let probed = heat.observe([VMAObservation(start: base, states: [p, p, s, s, s, s], referencedBytes: 8192)],
                                  faults: [base / 4096: 1, base / 4096 + 1: 1], now: 2 * second)
        #expect(probed.refaults == 2)
        #expect(probed.regions.map(\.ageNanoseconds) == [0, 2 * second, 2 * second])
        // No more faults, but the VMA stays referenced: region 0 stays young; the rest ages.
        let held = heat.observe([VMAObservation(start: base, states: [p, p, s, s, s, s], referencedBytes: 8192)], faults: [:], now: 7 * second)
        #expect(held.regions.map(\.ageNanoseconds) == [0, 7 * second, 7 * second])
        #expect(held.regions[0].accesses == 2)
        // A period with nothing referenced drops the mark; the region ages from then on.
        _ = heat.observe([VMAObservation(start: base, states: [p, p, s, s, s, s], referencedBytes: 0)], faults: [:], now: 8 * second)
        let cooled = heat.observe([VMAObservation(start: base, states: [p, p, s, s, s, s], referencedBytes: 8192)], faults: [:], now: 9 * second)
        #expect(cooled.regions[0].ageNanoseconds == 2 * second)
    }

    @Test func rateLimiterGrantsOnePeriodThenTheRate() {
        var limiter = RateLimiter(rate: 1000, periodSeconds: 0.5, now: 0)
        #expect(limiter.available == 500)
        limiter.spend(500)
        #expect(limiter.available == 0)
        limiter.refill(now: 250_000_000)
        #expect(limiter.available == 250)
        limiter.refill(now: 10 * second)
        #expect(limiter.available == 1000)  // capped at one second's worth
        #expect(RateLimiter(rate: nil, periodSeconds: 1, now: 0).available == Int64.max)
    }
}
