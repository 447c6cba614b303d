/// Products of quantized weight matrices with quantized activation rows.
///
/// A Q4_1 row times a Q8 activation row is `Σ_b d_b·da_b·(Σ_j q_j·a_j) + m_b·s_b` (the integer
/// sums exact, as in GGML); Q8_0 rows lack the `m·s` term. For every (weight row, activation row)
/// pair the arithmetic is the same whatever the number of activation rows processed together,
/// so a batch of sequences produces bit-identical results to the sequences run one at a time.
public enum MatMul {
    /// Blocks per row handled in one pass over the per-row scale scratch.
    static let maxBlocks = 64

    /// `out[t * outStride + r] = W[r] · x[t]` for `r` in `rows` and `t` in `0..<tokens`.
    @inline(never)
    public static func multiply(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        precondition(w.blocksPerRow <= maxBlocks && w.cols <= x.maxCols)
        precondition(w.type != .q4_1 || w.blocksPerRow % 2 == 0, "Q4_1 rows hold an even number of blocks")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * maxBlocks) { scratch in
            let s = scratch.baseAddress!
            if w.type == .q4_1 {
                q4_1(w, x, tokens: tokens, rows: rows, out: out, outStride: outStride, scratch: s)
            } else {
                q8_0(w, x, tokens: tokens, rows: rows, out: out, outStride: outStride, scratch: s)
            }
        }
    }

    /// Sums the two 16-bit halves of each 32-bit lane (exact: the halves are small products).
    @inline(__always)
    static func pairSums(_ p: SIMD16<Int16>) -> SIMD8<Float> {
        let v = unsafeBitCast(p, to: SIMD8<Int32>.self)
        return SIMD8<Float>(((v &<< 16) &>> 16) &+ (v &>> 16))
    }

    /// The integer dot product of one block with 32 activations stored evens first (`lo` holds
    /// weights 0, 2, ..., 30 and `hi` weights 1, 3, ..., 31), as 8 partial sums.
    @inline(__always)
    static func block(_ lo: SIMD16<Int16>, _ hi: SIMD16<Int16>, _ a: UnsafeRawPointer) -> SIMD8<Float> {
        let a0 = a.load(as: SIMD16<Int16>.self)
        let a1 = a.load(fromByteOffset: 32, as: SIMD16<Int16>.self)
        return pairSums(lo &* a0 &+ hi &* a1)
    }

    /// The integer dot products of two consecutive Q4_1 blocks with their activations in
    /// `.nibblePairs` order: 16-bit lane `k` of a block's bytes holds its values `2k` (bits 0-3),
    /// `2k + 16` (bits 4-7), `2k + 1` (bits 8-11) and `2k + 17` (bits 12-15). Partial sums 0-3
    /// belong to the first block, 4-7 to the second.
    @inline(__always)
    static func nibblePair(_ q: UnsafeRawPointer, _ a: UnsafeRawPointer) -> SIMD8<Float> {
        let x = q.loadUnaligned(as: SIMD16<UInt16>.self)
        let n0 = unsafeBitCast(x & 15, to: SIMD16<Int16>.self)
        let n1 = unsafeBitCast((x &>> 4) & 15, to: SIMD16<Int16>.self)
        let n2 = unsafeBitCast((x &>> 8) & 15, to: SIMD16<Int16>.self)
        let n3 = unsafeBitCast(x &>> 12, to: SIMD16<Int16>.self)
        let p = n0 &* a.load(as: SIMD16<Int16>.self) &+ n1 &* a.load(fromByteOffset: 32, as: SIMD16<Int16>.self)
            &+ n2 &* a.load(fromByteOffset: 64, as: SIMD16<Int16>.self) &+ n3 &* a.load(fromByteOffset: 96, as: SIMD16<Int16>.self)
        return pairSums(p)
    }

    /// The scales of two consecutive blocks, each repeated over its four partial sums.
    @inline(__always)
    static func pairScale(_ ds: UnsafePointer<Float>, _ b: Int) -> SIMD8<Float> {
        SIMD8<Float>(lowHalf: SIMD4<Float>(repeating: ds[b]), highHalf: SIMD4<Float>(repeating: ds[b + 1]))
    }

    /// Unpacks a Q8_0 block: 16-bit lane `k` of its bytes holds values `2k` and `2k + 1`.
    @inline(__always)
    static func bytes(_ q: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>) {
        let x = q.loadUnaligned(as: SIMD16<Int16>.self)
        return ((x &<< 8) &>> 8, x &>> 8)
    }

    @inline(__always)
    static func widen(_ src: UnsafePointer<Float16>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            UnsafeMutableRawPointer(dst + i).storeBytes(
                of: SIMD8<Float>(UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float16>.self)), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            dst[i] = Float(src[i])
            i += 1
        }
    }

    /// `out = a * b` elementwise.
    @inline(__always)
    static func product(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] * b[i] }
    }

    /// `Σ a·b`, summed in a fixed order.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            acc = acc.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                                    UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    static func q4_1(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let nb = w.blocksPerRow
        let xs = x.maxCols * 2
        let xb = x.maxCols / 32
        let mb = maxBlocks
        let dw = scratch, mw = scratch + mb
        let ds0 = scratch + 2 * mb, ds1 = ds0 + mb, ds2 = ds1 + mb, ds3 = ds2 + mb
        var t = 0
        while t < tokens {
            let n = min(4, tokens - t)
            let a0 = UnsafeRawPointer(x.values + t * x.maxCols), a1 = a0 + xs, a2 = a1 + xs, a3 = a2 + xs
            let d0 = x.scales + t * xb, s0 = x.sums + t * xb
            for r in rows {
                widen(w.scales + r * nb, into: dw, count: nb)
                widen(w.mins + r * nb, into: mw, count: nb)
                let qrow = w.quants + r * nb * 16
                var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                switch n {
                case 4:
                    product(dw, d0, into: ds0, count: nb)
                    product(dw, d0 + xb, into: ds1, count: nb)
                    product(dw, d0 + 2 * xb, into: ds2, count: nb)
                    product(dw, d0 + 3 * xb, into: ds3, count: nb)
                    var b = 0
                    while b < nb {
                        let q = qrow + b * 16
                        acc0 = acc0.addingProduct(nibblePair(q, a0 + b * 64), pairScale(ds0, b))
                        acc1 = acc1.addingProduct(nibblePair(q, a1 + b * 64), pairScale(ds1, b))
                        acc2 = acc2.addingProduct(nibblePair(q, a2 + b * 64), pairScale(ds2, b))
                        acc3 = acc3.addingProduct(nibblePair(q, a3 + b * 64), pairScale(ds3, b))
                        b += 2
                    }
                    out[t * outStride + r] = acc0.sum() + dot(mw, s0, count: nb)
                    out[(t + 1) * outStride + r] = acc1.sum() + dot(mw, s0 + xb, count: nb)
                    out[(t + 2) * outStride + r] = acc2.sum() + dot(mw, s0 + 2 * xb, count: nb)
                    out[(t + 3) * outStride + r] = acc3.sum() + dot(mw, s0 + 3 * xb, count: nb)
                default:
                    for i in 0..<n {
                        product(dw, d0 + i * xb, into: ds0, count: nb)
                        let a = a0 + i * xs
                        acc0 = SIMD8<Float>()
                        var b = 0
                        while b < nb {
                            acc0 = acc0.addingProduct(nibblePair(qrow + b * 16, a + b * 64), pairScale(ds0, b))
                            b += 2
                        }
                        out[(t + i) * outStride + r] = acc0.sum() + dot(mw, s0 + i * xb, count: nb)
                    }
                }
            }
            t += n
        }
    }

    static func q8_0(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let nb = w.blocksPerRow
        let xs = x.maxCols * 2
        let xb = x.maxCols / 32
        let mb = maxBlocks
        let dw = scratch
        let ds0 = scratch + 2 * mb, ds1 = ds0 + mb, ds2 = ds1 + mb, ds3 = ds2 + mb
        var t = 0
        while t < tokens {
            let n = min(4, tokens - t)
            let a0 = UnsafeRawPointer(x.values + t * x.maxCols), a1 = a0 + xs, a2 = a1 + xs, a3 = a2 + xs
            let d0 = x.scales + t * xb
            for r in rows {
                widen(w.scales + r * nb, into: dw, count: nb)
                let qrow = w.quants + r * nb * 32
                var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                switch n {
                case 4:
                    product(dw, d0, into: ds0, count: nb)
                    product(dw, d0 + xb, into: ds1, count: nb)
                    product(dw, d0 + 2 * xb, into: ds2, count: nb)
                    product(dw, d0 + 3 * xb, into: ds3, count: nb)
                    for b in 0..<nb {
                        let (lo, hi) = bytes(qrow + b * 32)
                        acc0 = acc0.addingProduct(block(lo, hi, a0 + b * 64), ds0[b])
                        acc1 = acc1.addingProduct(block(lo, hi, a1 + b * 64), ds1[b])
                        acc2 = acc2.addingProduct(block(lo, hi, a2 + b * 64), ds2[b])
                        acc3 = acc3.addingProduct(block(lo, hi, a3 + b * 64), ds3[b])
                    }
                    out[t * outStride + r] = acc0.sum()
                    out[(t + 1) * outStride + r] = acc1.sum()
                    out[(t + 2) * outStride + r] = acc2.sum()
                    out[(t + 3) * outStride + r] = acc3.sum()
                default:
                    for i in 0..<n {
                        product(dw, d0 + i * xb, into: ds0, count: nb)
                        let a = a0 + i * xs
                        acc0 = SIMD8<Float>()
                        for b in 0..<nb {
                            let (lo, hi) = bytes(qrow + b * 32)
                            acc0 = acc0.addingProduct(block(lo, hi, a + b * 64), ds0[b])
                        }
                        out[(t + i) * outStride + r] = acc0.sum()
                    }
                }
            }
            t += n
        }
    }
}
