/// XXH64, the 64-bit xxHash (the variant libCacheSim's sketches use), so that
/// structures hashing object ids land on the same counters as libCacheSim's.
public enum XXHash64 {
    @usableFromInline static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inlinable @inline(__always)
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var acc = acc &+ input &* prime2
        acc = (acc << 31) | (acc >> 33)
        return acc &* prime1
    }

    @inlinable @inline(__always)
    static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inlinable @inline(__always)
    static func avalanche(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        h = h &* prime3
        h ^= h >> 32
        return h
    }

    /// XXH64 of the 8 bytes of `value` as they lie in memory on a little-endian
    /// machine, i.e. what `XXH64(&obj_id, sizeof(obj_id), seed)` returns.
    @inlinable @inline(__always)
    public static func hash(_ value: UInt64, seed: UInt64) -> UInt64 {
        var h = seed &+ prime5 &+ 8
        h ^= round(0, value)
        h = rotl(h, 27) &* prime1 &+ prime4
        return avalanche(h)
    }

    /// XXH64 of arbitrary bytes.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var p = 0
        func load64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func load32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }

        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while p + 32 <= count {
                v1 = round(v1, load64(p))
                v2 = round(v2, load64(p + 8))
                v3 = round(v3, load64(p + 16))
                v4 = round(v4, load64(p + 24))
                p += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt64(count)

        while p + 8 <= count {
            h ^= round(0, load64(p))
            h = rotl(h, 27) &* prime1 &+ prime4
            p += 8
        }
        if p + 4 <= count {
            h ^= load32(p) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            p += 4
        }
        while p < count {
            h ^= UInt64(bytes[p]) &* prime5
            h = rotl(h, 11) &* prime1
            p += 1
        }
        return avalanche(h)
    }
}
