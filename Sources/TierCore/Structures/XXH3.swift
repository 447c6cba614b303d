/// XXH3 64-bit (xxHash, seed 0, default secret), the hash libCacheSim applies to
/// object ids in its hash table and to non-numeric CSV object ids (`get_hash_value_str` with `HASH_TYPE == XXHASH3`).
/// Hashing ids the same way keeps TierKit's ids identical to libCacheSim's, which
/// matters for policies whose sketches hash the id again. Scalar code, no allocation.
public enum XXH3 {
    @usableFromInline static let prime32_1: UInt64 = 0x9E37_79B1
    @usableFromInline static let prime32_2: UInt64 = 0x85EB_CA77
    @usableFromInline static let prime32_3: UInt64 = 0xC2B2_AE3D
    @usableFromInline static let prime64_1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime64_2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime64_3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let prime64_4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let prime64_5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// xxHash's default 192-byte secret.
    static let secret: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]

    /// `XXH3_64bits(&key, 8)` of one little-endian 64-bit key: the hash libCacheSim's
    /// hash table applies to object ids, written out for the 8-byte path alone.
    @inlinable
    public static func hash(_ key: UInt64) -> UInt64 {
        // XXH3_len_4to8_64b with seed 0: the two 32-bit halves swapped into one
        // word, keyed with secret bytes 8..<24, then the rrmxmx avalanche.
        let low = key & 0xFFFF_FFFF, high = key >> 32
        let bitflip: UInt64 = 0x1CAD_21F7_2C81_017C ^ 0xDB97_9083_E96D_D4DE
        var h = (high &+ (low << 32)) ^ bitflip
        h ^= rotl64(h, 49) ^ rotl64(h, 24)
        h &*= 0x9FB2_1C65_1E98_DF25
        h ^= (h >> 35) &+ 8
        h &*= 0x9FB2_1C65_1E98_DF25
        return h ^ (h >> 28)
    }

    @inlinable @inline(__always)
    static func rotl64(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    /// XXH3_64bits of `bytes`.
    public static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        secret.withUnsafeBytes { s in hash64(bytes, secret: s) }
    }

    /// XXH3_64bits of a string's UTF-8 bytes.
    public static func hash64(_ string: String) -> UInt64 {
        var copy = string
        return copy.withUTF8 { hash64(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    static func read64(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    static func read32(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.low ^ m.high
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    static func xxh64Avalanche(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= prime64_2
        h ^= h >> 29
        h &*= prime64_3
        return h ^ (h >> 32)
    }

    static func avalanche(_ x: UInt64) -> UInt64 {
        var h = x ^ (x >> 37)
        h &*= 0x1656_6791_9E37_79F9
        return h ^ (h >> 32)
    }

    static func rrmxmx(_ x: UInt64, _ len: UInt64) -> UInt64 {
        var h = x ^ rotl(x, 49) ^ rotl(x, 24)
        h &*= 0x9FB2_1C65_1E98_DF25
        h ^= (h >> 35) &+ len
        h &*= 0x9FB2_1C65_1E98_DF25
        return h ^ (h >> 28)
    }

    @inline(__always)
    static func mix16(_ p: UnsafeRawBufferPointer, _ at: Int, _ s: UnsafeRawBufferPointer, _ sAt: Int) -> UInt64 {
        fold(read64(p, at) ^ read64(s, sAt), read64(p, at + 8) ^ read64(s, sAt + 8))
    }

    static func hash64(_ p: UnsafeRawBufferPointer, secret s: UnsafeRawBufferPointer) -> UInt64 {
        let len = p.count
        let ulen = UInt64(len)
        if len == 0 {
            return xxh64Avalanche(read64(s, 56) ^ read64(s, 64))
        }
        if len <= 3 {
            let c1 = UInt64(p[0]), c2 = UInt64(p[len >> 1]), c3 = UInt64(p[len - 1])
            let combined = (c1 << 16) | (c2 << 24) | c3 | (ulen << 8)
            return xxh64Avalanche(combined ^ (read32(s, 0) ^ read32(s, 4)))
        }
        if len <= 8 {
            let input64 = read32(p, len - 4) &+ (read32(p, 0) << 32)
            return rrmxmx(input64 ^ (read64(s, 8) ^ read64(s, 16)), ulen)
        }
        if len <= 16 {
            let lo = read64(p, 0) ^ (read64(s, 24) ^ read64(s, 32))
            let hi = read64(p, len - 8) ^ (read64(s, 40) ^ read64(s, 48))
            return avalanche(ulen &+ lo.byteSwapped &+ hi &+ fold(lo, hi))
        }
        if len <= 128 {
            var acc = ulen &* prime64_1
            if len > 32 {
                if len > 64 {
                    if len > 96 {
                        acc &+= mix16(p, 48, s, 96)
                        acc &+= mix16(p, len - 64, s, 112)
                    }
                    acc &+= mix16(p, 32, s, 64)
                    acc &+= mix16(p, len - 48, s, 80)
                }
                acc &+= mix16(p, 16, s, 32)
                acc &+= mix16(p, len - 32, s, 48)
            }
            acc &+= mix16(p, 0, s, 0)
            acc &+= mix16(p, len - 16, s, 16)
            return avalanche(acc)
        }
        if len <= 240 {
            var acc = ulen &* prime64_1
            for i in 0..<8 { acc &+= mix16(p, 16 * i, s, 16 * i) }
            acc = avalanche(acc)
            for i in 8..<(len / 16) { acc &+= mix16(p, 16 * i, s, 16 * (i - 8) + 3) }
            acc &+= mix16(p, len - 16, s, 136 - 17)
            return avalanche(acc)
        }
        return hashLong(p, s, ulen)
    }

    private static func hashLong(_ p: UnsafeRawBufferPointer, _ s: UnsafeRawBufferPointer, _ ulen: UInt64) -> UInt64 {
        var acc: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (prime32_3, prime64_1, prime64_2, prime64_3, prime64_4, prime32_2, prime64_5, prime32_1)
        let len = p.count
        let secretSize = s.count
        let stripesPerBlock = (secretSize - 64) / 8
        let blockLength = 64 * stripesPerBlock
        let blocks = (len - 1) / blockLength
        withUnsafeMutableBytes(of: &acc) { raw in
            let a = raw.bindMemory(to: UInt64.self)
            func accumulate512(_ at: Int, _ sAt: Int) {
                for i in 0..<8 {
                    let value = read64(p, at + 8 * i)
                    let key = value ^ read64(s, sAt + 8 * i)
                    a[i ^ 1] &+= value
                    a[i] &+= (key & 0xFFFF_FFFF) &* (key >> 32)
                }
            }
            for n in 0..<blocks {
                for k in 0..<stripesPerBlock { accumulate512(n * blockLength + 64 * k, 8 * k) }
                for i in 0..<8 {
                    var x = a[i]
                    x ^= x >> 47
                    x ^= read64(s, secretSize - 64 + 8 * i)
                    a[i] = x &* prime32_1
                }
            }
            let stripes = ((len - 1) - blockLength * blocks) / 64
            for k in 0..<stripes { accumulate512(blocks * blockLength + 64 * k, 8 * k) }
            accumulate512(len - 64, secretSize - 64 - 7)
        }
        return withUnsafeBytes(of: &acc) { raw in
            let a = raw.bindMemory(to: UInt64.self)
            var result = ulen &* prime64_1
            for i in 0..<4 {
                result &+= fold(a[2 * i] ^ read64(s, 11 + 16 * i), a[2 * i + 1] ^ read64(s, 11 + 16 * i + 8))
            }
            return avalanche(result)
        }
    }
}
