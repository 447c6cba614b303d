/// Rows of f32 activations quantized to 8 bits in blocks of 32, as GGML's Q8_1 does before it
/// multiplies them with Q4_1 or Q8_0 weights: per block a scale `d = max|x| / 127` (kept at f16
/// precision), the values `round(x / d)` and `s = d * Σ round(x / d)` (also at f16 precision).
///
/// Values are stored widened to Int16 so the dot kernels load them without conversion, each
/// block's even-indexed values first and its odd-indexed ones after: the order in which the
/// kernels unpack 16-bit lanes of weight bytes (see `MatMul`).
public struct QuantizedActivations: @unchecked Sendable {
    public let capacityRows: Int
    public let maxCols: Int
    let values: UnsafeMutablePointer<Int16>
    let scales: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Float>
    private let owner: AlignedBuffer

    /// Space for `rows` rows of up to `maxCols` values (a multiple of 32).
    public init(rows: Int, maxCols: Int) {
        precondition(maxCols % 32 == 0)
        capacityRows = rows
        self.maxCols = maxCols
        let valueBytes = (rows * maxCols * 2 + 63) & ~63
        let scaleBytes = (rows * maxCols / 32 * 4 + 63) & ~63
        owner = AlignedBuffer(byteCount: valueBytes + 2 * scaleBytes)
        values = owner.base.bindMemory(to: Int16.self, capacity: rows * maxCols)
        scales = (owner.base + valueBytes).bindMemory(to: Float.self, capacity: rows * maxCols / 32)
        sums = (owner.base + valueBytes + scaleBytes).bindMemory(to: Float.self, capacity: rows * maxCols / 32)
    }

    /// Quantizes `cols` values of `x` into row `row`.
    @inline(__always)
    public func quantize(row: Int, from x: UnsafePointer<Float>, cols: Int) {
        let blocks = cols / 32
        let q = values + row * maxCols
        let d = scales + row * (maxCols / 32)
        let s = sums + row * (maxCols / 32)
        for b in 0..<blocks {
            let p = UnsafeRawPointer(x + b * 32)
            let v0 = p.loadUnaligned(as: SIMD16<Float>.self)
            let v1 = p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let amax = max(max(v0.max(), -v0.min()), max(v1.max(), -v1.min()))
            let scale = amax / 127
            let inverse: Float = amax != 0 ? 127 / amax : 0
            let out = q + b * 32
            var total: Int32 = 0
            for k in 0..<16 {
                let even = Int32((x[b * 32 + 2 * k] * inverse).rounded(.toNearestOrEven))
                let odd = Int32((x[b * 32 + 2 * k + 1] * inverse).rounded(.toNearestOrEven))
                out[k] = Int16(truncatingIfNeeded: even)
                out[k + 16] = Int16(truncatingIfNeeded: odd)
                total += even + odd
            }
            d[b] = Float(Float16(scale))
            s[b] = Float(Float16(scale * Float(total)))
        }
    }
}
