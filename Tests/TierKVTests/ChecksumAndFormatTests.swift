import Foundation
import Testing
import TierKV

@Suite struct CRC32CTests {
    /// RFC 3720 (iSCSI) appendix B.4 vectors and the classic check value.
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func hardwareEqualsTableAndContinues() {
        var state: UInt64 = 42
        let bytes = (0..<(1 << 20) + 13).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        bytes.withUnsafeBytes { all in
            let whole = CRC32C.checksum(all)
            #expect(whole == CRC32C.portableChecksum(all))
            let split = 100_003
            let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
            #expect(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[split...]), continuing: first) == whole)
        }
        #expect(CRC32C.isHardwareAccelerated)
    }
}

@Suite struct Q8CompressionTests {
    @Test func roundTripWithinHalfAStep() {
        let count = 4096
        let values = (0..<count).map { Float16(sin(Float($0) * 0.37) * Float($0 % 97) * 0.05) }
        let packed = UnsafeMutableRawPointer.allocate(byteCount: Q8Compression.compressedSize(ofBlockBytes: count * 2), alignment: 64)
        defer { packed.deallocate() }
        var back = [Float16](repeating: 0, count: count)
        values.withUnsafeBytes { Q8Compression.compress($0.baseAddress!, count: count, into: packed) }
        back.withUnsafeMutableBytes { Q8Compression.decompress(packed, count: count, into: $0.baseAddress!) }
        #expect(Q8Compression.compressedSize(ofBlockBytes: count * 2) == count / 32 * 34)
        for g in stride(from: 0, to: count, by: 32) {
            let amax = values[g..<g + 32].map { abs(Float($0)) }.max()!
            let step = amax / 127
            for i in g..<g + 32 {
                // Half a step of quantization plus the f16 rounding of scale and result.
                #expect(abs(Float(back[i]) - Float(values[i])) <= step * 0.5 + amax * 0.002 + 1e-6)
            }
        }
    }
}

@Suite struct PrefixHashTests {
    @Test func chainNamesPrefixes() {
        let a: [Int32] = Array(0..<40)
        var b = a
        b[20] = 999
        let ca = PrefixHash.chain(a, blockSize: 16)
        let cb = PrefixHash.chain(b, blockSize: 16)
        #expect(ca.count == 2 && cb.count == 2)
        #expect(ca[0] == cb[0])           // the first block is the same
        #expect(ca[1] != cb[1])           // the second differs
        // The same block after a different prefix is a different block.
        let shifted = PrefixHash.chain(Array(a[16..<32]), blockSize: 16)
        #expect(shifted[0] != ca[1])
        #expect(PrefixHash.chain(Array(a[0..<15]), blockSize: 16).isEmpty)
    }
}
