/// libCacheSim's `next_rand()`: Knuth's MMIX linear congruential generator on a
/// 64-bit state. libCacheSim's simulator calls `set_rand_seed(0)` before each run;
/// a policy that samples owns one of these seeded with 0 so its draws (and hence
/// its miss counts) match libCacheSim's exactly.
public struct LibCacheSimRandom: Sendable {
    public var state: UInt64

    @inlinable public init(seed: UInt64 = 0) { state = seed }

    /// Advances the state and returns it.
    @inlinable
    public mutating func next() -> UInt64 {
        state = 6_364_136_223_846_793_005 &* state &+ 1_442_695_040_888_963_407
        return state
    }
}
