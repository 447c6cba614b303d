/// XXH3-64 (seed 0, default secret) of one 64-bit little-endian key: the hash
/// libCacheSim's hash table uses for object ids. Only the 8-byte input path is
/// needed, so only it is written out.
public enum XXH3 {
    /// `XXH3_64bits(&key, 8)`.
    @inlinable
    public static func hash(_ key: UInt64) -> UInt64 {
        // XXH3_len_4to8_64b with seed 0: the two 32-bit halves swapped into one
        // word, keyed with secret bytes 8..<24, then the rrmxmx avalanche.
        let low = key & 0xFFFF_FFFF, high = key >> 32
        let bitflip: UInt64 = 0x1CAD_21F7_2C81_017C ^ 0xDB97_9083_E96D_D4DE
        var h = (high &+ (low << 32)) ^ bitflip
        h ^= rotl(h, 49) ^ rotl(h, 24)
        h &*= 0x9FB2_1C65_1E98_DF25
        h ^= (h >> 35) &+ 8
        h &*= 0x9FB2_1C65_1E98_DF25
        return h ^ (h >> 28)
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
}
