/// Products of quantized weight matrices with quantized activation rows.
///
/// A Q4_1 row times a Q8 activation row is `Σ_b d_b·da_b·(Σ_j q_j·a_j) + m_b·s_b` (the integer
/// sums exact, as in GGML); Q8_0 rows lack the `m·s` term. For every (weight row, activation row)
/// pair the arithmetic is the same whatever the number of activation rows processed together,
/// so a batch of sequences produces bit-identical results to the sequences run one at a time.
public enum MatMul {
    /// `out[t * outStride + r] = W[r] · x[t]` for `r` in `rows` and `t` in `0..<tokens`.
    @inline(never)
    public static func multiply(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        precondition(w.cols <= x.maxCols)
        precondition(w.type != .q4_1 || w.blocksPerRow % 2 == 0, "Q4_1 rows hold an even number of blocks")
        if w.type == .q4_1 {
            q4_1(w, x, tokens: tokens, rows: rows, out: out, outStride: outStride)
        } else {
            q8_0(w, x, tokens: tokens, rows: rows, out: out, outStride: outStride)
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

    /// Unpacks a Q8_0 block: 16-bit lane `k` of its bytes holds values `2k` and `2k + 1`.
    @inline(__always)
    static func bytes(_ q: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>) {
        let x = q.loadUnaligned(as: SIMD16<Int16>.self)
        return ((x &<< 8) &>> 8, x &>> 8)
    }

    /// The scales of blocks `b` and `b + 1` of a weight row times those of an activation row,
    /// each repeated over its block's four partial sums (the products `product` would store).
    @inline(__always)
    static func pairScale(_ ws: UnsafePointer<Float16>, _ xd: UnsafePointer<Float>, _ b: Int) -> SIMD8<Float> {
        SIMD8<Float>(lowHalf: SIMD4<Float>(repeating: Float(ws[b]) * xd[b]),
                     highHalf: SIMD4<Float>(repeating: Float(ws[b + 1]) * xd[b + 1]))
    }

    /// `dot(widened mins, sums)` with the f16 values widened on the fly: the same sums in the
    /// same order, without a scratch row.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            acc = acc.addingProduct(SIMD8<Float>(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float16>.self)),
                                    UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            sum += Float(a[i]) * b[i]
            i += 1
        }
        return sum
    }

    static func q4_1(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        // Scales are combined per block pair in registers: for one token, a row costs little
        // beyond streaming its quants once.
        let nb = w.blocksPerRow
        let xs = x.maxCols * 2
        let xb = x.maxCols / 32
        var t = 0
        while t < tokens {
            let n = min(4, tokens - t)
            let a0 = UnsafeRawPointer(x.values + t * x.maxCols), a1 = a0 + xs, a2 = a1 + xs, a3 = a2 + xs
            let d0 = x.scales + t * xb, d1 = d0 + xb, d2 = d1 + xb, d3 = d2 + xb
            let s0 = x.sums + t * xb
            for r in rows {
                let ws = w.scales + r * nb
                let wm = w.mins + r * nb
                let qrow = w.quants + r * nb * 16
                switch n {
                case 4:
                    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                    var b = 0
                    while b < nb {
                        let q = qrow + b * 16
                        acc0 = acc0.addingProduct(nibblePair(q, a0 + b * 64), pairScale(ws, d0, b))
                        acc1 = acc1.addingProduct(nibblePair(q, a1 + b * 64), pairScale(ws, d1, b))
                        acc2 = acc2.addingProduct(nibblePair(q, a2 + b * 64), pairScale(ws, d2, b))
                        acc3 = acc3.addingProduct(nibblePair(q, a3 + b * 64), pairScale(ws, d3, b))
                        b += 2
                    }
                    out[t * outStride + r] = acc0.sum() + dot(wm, s0, count: nb)
                    out[(t + 1) * outStride + r] = acc1.sum() + dot(wm, s0 + xb, count: nb)
                    out[(t + 2) * outStride + r] = acc2.sum() + dot(wm, s0 + 2 * xb, count: nb)
                    out[(t + 3) * outStride + r] = acc3.sum() + dot(wm, s0 + 3 * xb, count: nb)
                default:
                    for i in 0..<n {
                        let a = a0 + i * xs
                        let d = d0 + i * xb
                        var acc = SIMD8<Float>()
                        var b = 0
                        while b < nb {
                            acc = acc.addingProduct(nibblePair(qrow + b * 16, a + b * 64), pairScale(ws, d, b))
                            b += 2
                        }
                        out[(t + i) * outStride + r] = acc.sum() + dot(wm, s0 + i * xb, count: nb)
                    }
                }
            }
            t += n
        }
    }

    static func q8_0(
        _ w: QuantizedMatrix, _ x: QuantizedActivations, tokens: Int,
        rows: Range<Int>, out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        let nb = w.blocksPerRow
        let xs = x.maxCols * 2
        let xb = x.maxCols / 32
        var t = 0
        while t < tokens {
            let n = min(4, tokens - t)
            let a0 = UnsafeRawPointer(x.values + t * x.maxCols), a1 = a0 + xs, a2 = a1 + xs, a3 = a2 + xs
            let d0 = x.scales + t * xb, d1 = d0 + xb, d2 = d1 + xb, d3 = d2 + xb
            for r in rows {
                let ws = w.scales + r * nb
                let qrow = w.quants + r * nb * 32
                switch n {
                case 4:
                    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                    for b in 0..<nb {
                        let (lo, hi) = bytes(qrow + b * 32)
                        let dw = Float(ws[b])
                        acc0 = acc0.addingProduct(block(lo, hi, a0 + b * 64), dw * d0[b])
                        acc1 = acc1.addingProduct(block(lo, hi, a1 + b * 64), dw * d1[b])
                        acc2 = acc2.addingProduct(block(lo, hi, a2 + b * 64), dw * d2[b])
                        acc3 = acc3.addingProduct(block(lo, hi, a3 + b * 64), dw * d3[b])
                    }
                    out[t * outStride + r] = acc0.sum()
                    out[(t + 1) * outStride + r] = acc1.sum()
                    out[(t + 2) * outStride + r] = acc2.sum()
                    out[(t + 3) * outStride + r] = acc3.sum()
                default:
                    for i in 0..<n {
                        let a = a0 + i * xs
                        let d = d0 + i * xb
                        var acc = SIMD8<Float>()
                        for b in 0..<nb {
                            let (lo, hi) = bytes(qrow + b * 32)
                            acc = acc.addingProduct(block(lo, hi, a + b * 64), Float(ws[b]) * d[b])
                        }
                        out[(t + i) * outStride + r] = acc.sum()
                    }
                }
            }
            t += n
        }
    }
}
