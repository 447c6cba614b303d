/// Rows of f32 activations quantized to 8 bits in blocks of 32, as GGML's Q8_1 does before it
/// multiplies them with Q4_1 or Q8_0 weights: per block a scale `d = max|x| / 127` (kept at f16
/// precision), the values `round(x / d)` and `s = d * Σ round(x / d)` (also at f16 precision).
///
/// Values are stored widened to Int16 so the dot kernels load them without conversion, in the
/// order in which the kernels unpack 16-bit lanes of weight bytes (`Layout`, `MatMul`).
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

    /// How a row's values are ordered, to match the weight format that consumes them.
    public enum Layout: Sendable {
        /// Per block, values 0, 2, ..., 30 then 1, 3, ..., 31 (Q8_0 weights).
        case evenOdd
        /// Per pair of blocks, four groups of 16: for g in (0, 16, 1, 17), values g, g+2, ...,
        /// g+14 of the first block then of the second (Q4_1 weights, see `MatMul.nibbles`).
        case nibblePairs
    }

    /// Position within its block (or block pair) of value `j` of block parity `p`.
    @inline(__always)
    static func slot(_ j: Int, parity p: Int, layout: Layout) -> Int {
        switch layout {
        case .evenOdd:
            return j % 2 == 0 ? j / 2 : 16 + j / 2
        case .nibblePairs:
            let group = (j % 2 == 0 ? 0 : 2) + (j >= 16 ? 1 : 0)
            return group * 16 + p * 8 + (j % 16) / 2
        }
    }

    /// Quantizes `cols` values of `x` into row `row` in `layout`.
    @inline(__always)
    public func quantize(row: Int, from x: UnsafePointer<Float>, cols: Int, layout: Layout) {
        quantize(row: row, from: x, blocks: 0..<(cols / 32), layout: layout)
    }

    /// Quantizes the blocks `blocks` of 32 values of `x` (the row's first value at `x`) into
    /// row `row`; blocks are independent, so workers may quantize disjoint ranges of one row.
    @inline(__always)
    public func quantize(row: Int, from x: UnsafePointer<Float>, blocks: Range<Int>, layout: Layout) {
        let q = values + row * maxCols
        let d = scales + row * (maxCols / 32)
        let s = sums + row * (maxCols / 32)
        for b in blocks {
            let p = UnsafeRawPointer(x + b * 32)
            let v0 = p.loadUnaligned(as: SIMD16<Float>.self)
            let v1 = p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let amax = max(max(v0.max(), -v0.min()), max(v1.max(), -v1.min()))
            let scale = amax / 127
            let inverse: Float = amax != 0 ? 127 / amax : 0
            // Round to nearest even by adding 1.5 * 2^23 (|v| <= 127 here): the sum's low bits
            // are the rounded value, as `rounded(.toNearestOrEven)` gives it, eight lanes at a time.
            let magic = SIMD16<Float>(repeating: 12_582_912)
            let bias = SIMD16<Int32>(repeating: 0x4B40_0000)
            var r = (unsafeBitCast(v0 * inverse + magic, to: SIMD16<Int32>.self) &- bias,
                     unsafeBitCast(v1 * inverse + magic, to: SIMD16<Int32>.self) &- bias)
            let total = (r.0 &+ r.1).wrappedSum()
            withUnsafeBytes(of: &r) { raw in
                let v = raw.bindMemory(to: Int32.self)
                switch layout {
                case .evenOdd:
                    let out = q + b * 32
                    for k in 0..<16 {
                        out[k] = Int16(truncatingIfNeeded: v[2 * k])
                        out[k + 16] = Int16(truncatingIfNeeded: v[2 * k + 1])
                    }
                case .nibblePairs:
                    let out = q + (b & ~1) * 32 + (b & 1) * 8
                    for k in 0..<8 {
                        out[k] = Int16(truncatingIfNeeded: v[2 * k])
                        out[16 + k] = Int16(truncatingIfNeeded: v[2 * k + 16])
                        out[32 + k] = Int16(truncatingIfNeeded: v[2 * k + 1])
                        out[48 + k] = Int16(truncatingIfNeeded: v[2 * k + 17])
                    }
                }
            }
            d[b] = Float(Float16(scale))
            s[b] = Float(Float16(scale * Float(total)))
        }
    }
}
