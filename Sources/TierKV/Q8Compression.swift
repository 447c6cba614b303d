/// Q8_0 compression of f16 KV blocks for the SSD tier: each group of 32 values becomes an f16
/// scale and 32 signed bytes (34 bytes instead of 64), as GGML's Q8_0.
///
/// Lossy: a block read back differs from the one written by at most half a quantization step
/// per value, so generated tokens may change; `tierkit bench kv` reports by how much.
public enum Q8Compression {
    /// Values per group.
    public static let groupSize = 32
    /// Bytes per compressed group.
    public static let groupBytes = 34

    /// Compressed size of a block of `bytes` f16 bytes.
    public static func compressedSize(ofBlockBytes bytes: Int) -> Int {
        (bytes / 2 + groupSize - 1) / groupSize * groupBytes
    }

    /// Compresses `count` f16 values from `source` into `destination` (``compressedSize(ofBlockBytes:)`` bytes).
    public static func compress(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer) {
        let values = source.assumingMemoryBound(to: Float16.self)
        var out = destination
        var g = 0
        while g < count {
            let n = min(groupSize, count - g)
            var amax: Float = 0
            for i in 0..<n { amax = max(amax, abs(Float(values[g + i]))) }
            let d = amax / 127
            let inverse: Float = d > 0 ? 1 / d : 0
            out.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
            let q = (out + 2).assumingMemoryBound(to: Int8.self)
            for i in 0..<groupSize {
                q[i] = i < n ? Int8(max(-127, min(127, (Float(values[g + i]) * inverse).rounded()))) : 0
            }
            out += groupBytes
            g += groupSize
        }
    }

    /// Expands `count` f16 values from `source` into `destination`.
    public static func decompress(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer) {
        let values = destination.assumingMemoryBound(to: Float16.self)
        var input = source
        var g = 0
        while g < count {
            let d = Float(Float16(bitPattern: input.loadUnaligned(as: UInt16.self)))
            let q = (input + 2).assumingMemoryBound(to: Int8.self)
            for i in 0..<min(groupSize, count - g) { values[g + i] = Float16(Float(q[i]) * d) }
            input += groupBytes
            g += groupSize
        }
    }
}
