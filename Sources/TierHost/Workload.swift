import CTierShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The access pattern of a synthetic workload.
public enum WorkloadShape: String, Sendable, CaseIterable {
    /// A fixed hot set at the start of the region touched in a loop; the rest touched once.
    case hotcold
    /// Every page drawn from a Zipf distribution over the region (page 0 most popular); the
    /// "hot" set is the most popular pages that take the `hot` share of the region.
    case zipf
    /// Like hotcold, but the hot set moves to the next slice of the region every phase.
    case phases
}

/// What to run.
public struct WorkloadSpec: Sendable, Equatable {
    public var shape: WorkloadShape
    /// Bytes of anonymous memory (rounded down to whole pages).
    public var size: Int64
    /// Share of the region that is hot (0 < hot ≤ 1).
    public var hotFraction: Double
    /// How long to run the access loop, nanoseconds.
    public var duration: UInt64
    /// `phases`: how long each phase lasts, nanoseconds.
    public var phaseDuration: UInt64
    /// `zipf`: the skew (alpha).
    public var zipfAlpha: Double
    /// Seed of the random choices (zipf).
    public var seed: UInt64

    public init(shape: WorkloadShape, size: Int64, hotFraction: Double = 0.1, duration: UInt64 = 60_000_000_000,
                phaseDuration: UInt64 = 10_000_000_000, zipfAlpha: Double = 1.0, seed: UInt64 = 42) {
        self.shape = shape
        self.size = size
        self.hotFraction = hotFraction
        self.duration = duration
        self.phaseDuration = phaseDuration
        self.zipfAlpha = zipfAlpha
        self.seed = seed
    }
}

/// Where a workload's memory is and which of it is hot: the first line a workload prints, so
/// that a test, the daemon's demo or a benchmark checks pagemap on exactly these ranges.
public struct WorkloadLayout: Sendable, Equatable {
    public var pid: Int32
    public var shape: WorkloadShape
    public var pageSize: Int
    /// The whole region.
    public var region: AddressRange
    /// The hot ranges of phase 0 (the only phase unless the shape is `phases`).
    public var hot: [AddressRange]
    /// Everything in the region that is not hot in phase 0.
    public var cold: [AddressRange]
    /// `phases`: the hot range of each phase, in order (cycling).
    public var phaseHot: [AddressRange]
}

/// One second of a running workload.
public struct WorkloadSample: Sendable, Equatable {
    /// 1 for the first second of the access loop.
    public var second: Int
    /// Page touches in this second.
    public var operations: Int64
    /// Operations per second (operations / the second's actual length).
    public var operationsPerSecond: Double
    /// The phase the workload is in (0 unless the shape is `phases`).
    public var phase: Int
}

/// A synthetic memory workload in this process: anonymous memory (no huge pages), every page
/// written once (half random, half zero), then a hot set touched continuously. Owns its mapping; unmaps it when released.
public final class Workload {
    public let spec: WorkloadSpec
    public let layout: WorkloadLayout
    private let base: UnsafeMutableRawPointer
    private let pages: Int
    private let pageSize: Int

    /// Maps and writes the memory (every page once, in address order). Errors if mmap fails.
    public init(spec: WorkloadSpec) throws(SystemCallError) {
        guard spec.hotFraction > 0, spec.hotFraction <= 1 else {
            throw SystemCallError("workload", errno: EINVAL, detail: "hot share \(spec.hotFraction) is not in (0, 1]")
        }
        pageSize = hostPageSize
        pages = Int(spec.size / Int64(pageSize))
        guard pages >= 2 else { throw SystemCallError("workload", errno: EINVAL, detail: "size \(spec.size) is less than two pages") }
        let length = pages * pageSize
        guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw SystemCallError.fromErrno("mmap \(length) bytes")
        }
        // Huge pages would make pageout and pagemap counts move in 512-page steps.
        _ = madvise(p, length, ctiershims_madv_nohugepage())
        base = p
        self.spec = spec
        let hotPages = max(1, min(pages, Int((Double(pages) * spec.hotFraction).rounded(.down))))
        let start = UInt64(UInt(bitPattern: p))
        let ps = UInt64(pageSize)
        func range(_ first: Int, _ count: Int) -> AddressRange { AddressRange(start: start + UInt64(first) * ps, length: UInt64(count) * ps) }
        let hot = [range(0, hotPages)]
        let cold = hotPages < pages ? [range(hotPages, pages - hotPages)] : []
        var phaseHot: [AddressRange] = []
        if spec.shape == .phases {
            var first = 0
            while first + hotPages <= pages {
                phaseHot.append(range(first, hotPages))
                first += hotPages
            }
        }
        layout = WorkloadLayout(pid: getpid(), shape: spec.shape, pageSize: pageSize, region: range(0, pages),
                                hot: hot, cold: cold, phaseHot: phaseHot)
        // Half of each page pseudo-random, half zero: about 2:1 under zram's compressor, like
        // ordinary anonymous memory, so swapping it costs what it would for a real program.
        var fill = SplitMix64(seed: spec.seed ^ 0x5EED)
        let words = pageSize / 16
        for i in 0..<pages {
            let page = base + i * pageSize
            for w in 0..<words { page.storeBytes(of: fill.next(), toByteOffset: w * 8, as: UInt64.self) }
        }
    }

    deinit { munmap(base, pages * pageSize) }

    /// Runs the access loop for the spec's duration, calling `report` after each second;
    /// stops early when `report` returns false. Returns the total operations.
    @discardableResult
    public func run(report: (WorkloadSample) -> Bool) -> Int64 {
        let start = monotonicNs()
        let end = start + spec.duration
        var second = 1
        var secondStart = start
        var ops: Int64 = 0
        var total: Int64 = 0
        let hotPages = Int(layout.hot[0].length / UInt64(pageSize))
        var rng = SplitMix64(seed: spec.seed)
        let zipf = spec.shape == .zipf ? ZipfTable(count: pages, alpha: spec.zipfAlpha) : nil
        var cursor = 0
        var phase = 0
        while true {
            // Work in batches so the clock is read rarely.
            let firstPage: Int
            switch spec.shape {
            case .phases:
                phase = layout.phaseHot.isEmpty ? 0 : Int((monotonicNs() - start) / max(1, spec.phaseDuration)) % layout.phaseHot.count
                firstPage = phase * hotPages
            default:
                firstPage = 0
            }
            for _ in 0..<4096 {
                let page: Int
                if let zipf {
                    page = zipf.sample(&rng)
                } else {
                    page = firstPage + cursor
                    cursor += 1
                    if cursor == hotPages { cursor = 0 }
                }
                let offset = page * pageSize + (Int(ops) & 63) * 64 % pageSize
                let v = base.load(fromByteOffset: offset, as: UInt8.self)
                base.storeBytes(of: v &+ 1, toByteOffset: offset, as: UInt8.self)
                ops += 1
            }
            let now = monotonicNs()
            if now - secondStart >= 1_000_000_000 || now >= end {
                let seconds = Double(now - secondStart) / 1e9
                total += ops
                let keepGoing = report(WorkloadSample(second: second, operations: ops, operationsPerSecond: Double(ops) / seconds, phase: phase))
                ops = 0
                second += 1
                secondStart = now
                if !keepGoing || now >= end { break }
            }
        }
        return total
    }
}

func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A small fast generator (SplitMix64) so runs are repeatable.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// Inverse-CDF sampling of page ranks with P(k) ∝ 1/(k+1)^alpha.
struct ZipfTable {
    var cdf: [Double]
    init(count: Int, alpha: Double) {
        cdf = [Double](repeating: 0, count: count)
        var sum = 0.0
        for k in 0..<count {
            sum += 1 / pow(Double(k + 1), alpha)
            cdf[k] = sum
        }
        for k in 0..<count { cdf[k] /= sum }
    }
    func sample(_ rng: inout SplitMix64) -> Int {
        let u = rng.unit()
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let m = (lo + hi) / 2
            if cdf[m] < u { lo = m + 1 } else { hi = m }
        }
        return lo
    }
}
