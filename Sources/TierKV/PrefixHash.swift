/// Identities of full KV blocks: a hash chain over token ids, as in vLLM and SGLang. Block k's
/// hash covers its own tokens and block k-1's hash, so equal hashes mean equal prefixes (the tier
/// also compares the tokens, so a 64-bit collision can never serve a wrong block).
public enum PrefixHash {
    /// The parent of a sequence's first block.
    public static let root: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The hash of a block holding `tokens` after the block whose hash is `parent`.
    @inlinable
    public static func hash<C: Collection>(parent: UInt64, tokens: C) -> UInt64 where C.Element == Int32 {
        var h = parent ^ 0xCBF2_9CE4_8422_2325
        for t in tokens {
            h = (h ^ UInt64(UInt32(bitPattern: t))) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
        }
        // SplitMix64's finaliser: every input bit reaches every output bit.
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    /// Hashes of every full block of `tokens` (`tokens.count / blockSize` of them).
    public static func chain(_ tokens: [Int32], blockSize: Int, from parent: UInt64 = root) -> [UInt64] {
        var out: [UInt64] = []
        var p = parent
        var start = 0
        while start + blockSize <= tokens.count {
            p = hash(parent: p, tokens: tokens[start..<start + blockSize])
            out.append(p)
            start += blockSize
        }
        return out
    }
}
