/// Admits each miss with probability `prob` (libCacheSim's `prob` admissioner).
///
/// Draws from libCacheSim's generator (Knuth's MMIX LCG, `next_rand`) and admits
/// when `draw % 10_000_000 < Int(prob * 10_000_000)`, so with the same seed it
/// admits exactly the same misses. libCacheSim's generator is process-wide and
/// shared with randomised eviction policies; here each admission policy owns
/// one, which matches libCacheSim whenever the eviction policy draws nothing.
public struct ProbabilisticAdmission: AdmissionPolicy {
    public static let name = "prob"
    /// libCacheSim's `MAX_MODULE`.
    @usableFromInline static let modulus: UInt64 = 10_000_000

    /// Admission probability, in (0, 1].
    public let probability: Double
    /// First generator state (libCacheSim's tests use `set_rand_seed(0)`).
    public let seed: UInt64
    @usableFromInline let threshold: UInt64
    @usableFromInline var random: LibCacheSimRandom

    public init(probability: Double = 0.5, seed: UInt64 = 0) {
        self.probability = probability
        self.seed = seed
        // libCacheSim truncates the scaled probability to an int.
        threshold = UInt64(probability * Double(Self.modulus))
        random = LibCacheSimRandom(seed: seed)
    }

    public init(parameters: inout PolicyParameters) throws(PolicyError) {
        let alias = try parameters.double("p", default: 0.5)
        let p = try parameters.double("prob", default: alias)
        guard p > 0, p <= 1 else { throw PolicyError("\(Self.name): prob=\(p) must be in (0, 1]") }
        let seed = try parameters.int("seed", default: 0, in: 0...Int.max)
        try parameters.finish(known: ["prob", "p", "seed"])
        self.init(probability: p, seed: UInt64(seed))
    }

    public var label: String {
        seed == 0 ? "\(Self.name)(prob=\(probability))" : "\(Self.name)(prob=\(probability),seed=\(seed))"
    }

    @inlinable
    public mutating func admit(_ request: Request) -> Bool {
        random.next() % Self.modulus < threshold
    }
}
