#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea, Flood 2014): expands a 64-bit seed into well-mixed words.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser, a bijective 64-bit mixer.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna 2018), seeded through SplitMix64. Its output is
/// fixed by the seed on every machine, which makes generated traces reproducible.
public struct Xoshiro256StarStar: Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [0, bound) without bias (Lemire's multiply-and-reject).
    @inlinable
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }
}

extension UInt64 {
    @inlinable
    func rotatedLeft(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}

/// Zipf-distributed ranks 1...n with P(k) proportional to 1/k^alpha, by
/// rejection-inversion (Hörmann and Derflinger 1996): O(1) memory and expected
/// O(1) time per sample for any n and alpha >= 0.
public struct ZipfSampler: Sendable {
    public let objects: Int64
    public let alpha: Double
    private let hIntegralX1: Double
    private let hIntegralN: Double
    private let s: Double

    public init(objects: Int64, alpha: Double) {
        precondition(objects >= 1 && alpha >= 0)
        self.objects = objects
        self.alpha = alpha
        hIntegralX1 = Self.hIntegral(1.5, alpha) - 1
        hIntegralN = Self.hIntegral(Double(objects) + 0.5, alpha)
        s = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, alpha) - Self.h(2, alpha), alpha)
    }

    /// A rank in 1...objects; rank 1 is the most popular.
    public func sample(_ rng: inout Xoshiro256StarStar) -> Int64 {
        while true {
            let u = hIntegralN + rng.nextDouble() * (hIntegralX1 - hIntegralN)
            let x = Self.hIntegralInverse(u, alpha)
            guard x.isFinite else { continue }
            let k = min(max(Int64(min(max(x + 0.5, 1), Double(objects))), 1), objects)
            if Double(k) - x <= s || u >= Self.hIntegral(Double(k) + 0.5, alpha) - Self.h(Double(k), alpha) {
                return k
            }
        }
    }

    /// h(x) = x^-alpha.
    private static func h(_ x: Double, _ alpha: Double) -> Double { exp(-alpha * log(x)) }

    /// H(x) = (x^(1-alpha) - 1) / (1 - alpha), or log(x) when alpha = 1.
    private static func hIntegral(_ x: Double, _ alpha: Double) -> Double {
        let logX = log(x)
        return helper2((1 - alpha) * logX) * logX
    }

    private static func hIntegralInverse(_ x: Double, _ alpha: Double) -> Double {
        var t = x * (1 - alpha)
        if t < -1 { t = -1 } // rounding guard, as in the published algorithm
        return exp(helper1(t) * x)
    }

    /// log1p(x) / x, stable near 0.
    private static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// expm1(x) / x, stable near 0.
    private static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3.0) * (1 + 0.25 * x))
    }
}

/// A generated request stream, reproducible from its configuration.
///
/// Ids are 0..<objects. Time is the 0-based request index. Each object's size is a
/// fixed function of the seed and id, so an object keeps one size throughout.
/// Integer-only kinds (uniform, scan, loop) are bit-identical everywhere; zipf uses
/// `log`/`exp`, which IEEE-754 platforms' libm agree on in practice.
public struct SyntheticTrace: RequestSource {
    public enum Kind: String, Sendable, CaseIterable {
        /// Rank k (id k - 1) with probability proportional to 1/k^alpha.
        case zipf
        /// Every object equally likely, independently.
        case uniform
        /// 0, 1, ..., objects - 1, then again from 0.
        case scan
        /// All objects in one seeded pseudo-random order (i -> (a*i + b) mod objects,
        /// a coprime to objects), the same order every cycle.
        case loop
    }

    public enum SizeSpec: Sendable, Equatable {
        case fixed(Int64)
        /// Uniform in lo...hi, drawn once per object.
        case uniform(Int64, Int64)
    }

    public struct Config: Sendable, Equatable {
        public var kind: Kind
        public var requests: Int64
        public var objects: Int64
        public var alpha: Double
        public var size: SizeSpec
        public var seed: UInt64

        public init(kind: Kind, requests: Int64, objects: Int64, alpha: Double = 1.0,
                    size: SizeSpec = .fixed(1), seed: UInt64 = 0) {
            self.kind = kind
            self.requests = requests
            self.objects = objects
            self.alpha = alpha
            self.size = size
            self.seed = seed
        }

        /// A short description, e.g. `zipf(alpha=1.0,objects=1000,seed=0)`.
        public var label: String {
            var s = "\(kind.rawValue)(objects=\(objects)"
            if kind == .zipf { s += ",alpha=\(alpha)" }
            switch size {
            case .fixed(let b): s += ",size=\(b)"
            case .uniform(let a, let b): s += ",size=\(a)-\(b)"
            }
            return s + ",seed=\(seed))"
        }
    }

    public let config: Config
    private var rng: Xoshiro256StarStar
    private let zipf: ZipfSampler?
    private let loopA: UInt64, loopB: UInt64
    private let sizeSalt: UInt64
    private var index: Int64 = 0

    public var hasNextAccess: Bool { false }

    /// Checks the configuration; errors name the offending parameter.
    public init(_ config: Config) throws(TraceError) {
        func fail(_ m: String) -> TraceError { TraceError(path: config.kind.rawValue, location: .file, message: m) }
        guard config.requests >= 0 else { throw fail("--requests must be >= 0") }
        guard config.objects >= 1 else { throw fail("--objects must be >= 1") }
        guard config.kind != .zipf || config.objects <= 1 << 53 else { throw fail("zipf supports up to 2^53 objects") }
        guard config.alpha >= 0 && config.alpha.isFinite else { throw fail("--alpha must be a finite number >= 0") }
        switch config.size {
        case .fixed(let b):
            guard b >= 1 else { throw fail("--size must be >= 1 (zero-size requests are skipped by readers)") }
        case .uniform(let a, let b):
            guard a >= 1 && b >= a else { throw fail("--size-range A-B needs 1 <= A <= B") }
        }
        self.config = config
        var seeder = SplitMix64(seed: config.seed)
        rng = Xoshiro256StarStar(seed: seeder.next())
        sizeSalt = seeder.next()
        zipf = config.kind == .zipf ? ZipfSampler(objects: config.objects, alpha: config.alpha) : nil
        let n = UInt64(config.objects)
        var a: UInt64 = 1, b: UInt64 = 0
        if config.kind == .loop && n > 1 {
            var pick = Xoshiro256StarStar(seed: seeder.next())
            repeat { a = 1 + pick.next(below: n - 1) } while Self.gcd(a, n) != 1
            b = pick.next(below: n)
        }
        loopA = a
        loopB = b
    }

    private static func gcd(_ x: UInt64, _ y: UInt64) -> UInt64 {
        var (a, b) = (x, y)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// The size of object `id` (fixed per object).
    public func size(of id: UInt64) -> Int64 {
        switch config.size {
        case .fixed(let b): return b
        case .uniform(let lo, let hi):
            let span = UInt64(hi - lo) + 1
            return lo + Int64(SplitMix64.mix(id ^ sizeSalt) % span)
        }
    }

    public mutating func next() -> Request? {
        guard index < config.requests else { return nil }
        let n = UInt64(config.objects)
        let id: UInt64
        switch config.kind {
        case .zipf:
            id = UInt64(zipf!.sample(&rng) - 1)
        case .uniform:
            id = rng.next(below: n)
        case .scan:
            id = UInt64(index) % n
        case .loop:
            let p = UInt64(index) % n
            let product = loopA.multipliedFullWidth(by: p)
            let (_, r) = n.dividingFullWidth(product)
            let shifted = r + loopB // both < n <= 2^63, so no overflow
            id = shifted >= n ? shifted - n : shifted
        }
        let r = Request(time: UInt64(index), id: id, size: size(of: id))
        index += 1
        return r
    }
}
