import Testing
@testable import TierInfer

struct KernelTests {
    /// Deterministic pseudo-random bytes.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: s >> 33)
        }
    }

    /// A Q4_1 tensor in file layout: rows × cols/32 blocks of (f16 d, f16 m, 16 bytes).
    static func q4_1File(rows: Int, cols: Int) -> [UInt8] {
        var out: [UInt8] = []
        let noise = bytes(rows * cols / 2, seed: 1)
        for b in 0..<(rows * cols / 32) {
            let d = Float16(Float(b % 7 + 1) / 64), m = Float16(-Float(b % 5) / 8)
            withUnsafeBytes(of: d) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: m) { out.append(contentsOf: $0) }
            out.append(contentsOf: noise[(b * 16)..<(b * 16 + 16)])
        }
        return out
    }

    @Test func q4_1DequantizesAsGGML() throws {
        var file = Self.q4_1File(rows: 1, cols: 64)
        file[4] = 0x3A  // value 0 = 10, value 16 = 3
        let m = try file.withUnsafeBytes { raw in
            try QuantizedMatrix(stacking: [WeightTensor(name: "w", type: .q4_1, shape: [64, 1], data: raw.baseAddress!)])
        }
        var row = [Float](repeating: 0, count: 64)
        m.dequantizeRow(0, into: &row)
        #expect(row[0] == 10 * Float(1) / 64 + 0)
        #expect(row[16] == 3 * Float(1) / 64 + 0)
        // Block 1: d = 2/64, m = -1/8.
        let byte = file[20 + 4]
        #expect(row[32] == Float(byte & 15) * 2 / 64 - 0.125)
        #expect(row[48] == Float(byte >> 4) * 2 / 64 - 0.125)
    }

    @Test func activationsQuantizeToEightBits() {
        let acts = QuantizedActivations(rows: 1, maxCols: 32)
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = -63.5; x[2] = 0.4; x[30] = 0.5; x[31] = 50
        acts.quantize(row: 0, from: x, cols: 32, layout: .evenOdd)
        // Stored evens first: value j sits at j / 2 (even j) or 16 + j / 2 (odd j).
        #expect(acts.values[0] == 127 && acts.values[16] == -64 && acts.values[1] == 0 && acts.values[15] == 0 && acts.values[31] == 50)
        #expect(acts.scales[0] == 1)
        #expect(acts.sums[0] == 113)
    }

    @Test func multiplyMatchesScalarReferenceForAnyTokenCount() throws {
        let rows = 24, cols = 128
        let file = Self.q4_1File(rows: rows, cols: cols)
        let w = try file.withUnsafeBytes { raw in
            try QuantizedMatrix(stacking: [WeightTensor(name: "w", type: .q4_1, shape: [cols, rows], data: raw.baseAddress!)])
        }
        let tokens = 7
        let acts = QuantizedActivations(rows: tokens, maxCols: 128)
        let noise = Self.bytes(tokens * cols, seed: 2)
        for t in 0..<tokens {
            let x = (0..<cols).map { Float(Int(noise[t * cols + $0]) - 128) / 37 }
            acts.quantize(row: t, from: x, cols: cols, layout: .nibblePairs)
        }
        var batched = [Float](repeating: 0, count: tokens * rows)
        MatMul.multiply(w, acts, tokens: tokens, rows: 0..<rows, out: &batched, outStride: rows)
        for r in 0..<rows {
            for t in 0..<tokens {
                // Σ over blocks of d·da·Σ q·qa + m·s, from the file bytes.
                var reference: Double = 0
                for b in 0..<(cols / 32) {
                    let block = (r * cols / 32 + b) * 20
                    let d = file.withUnsafeBytes { Double($0.loadUnaligned(fromByteOffset: block, as: Float16.self)) }
                    let m = file.withUnsafeBytes { Double($0.loadUnaligned(fromByteOffset: block + 2, as: Float16.self)) }
                    var isum = 0
                    for j in 0..<16 {
                        let byte = Int(file[block + 4 + j])
                        let base = t * 128 + (b & ~1) * 32
                        let lo = QuantizedActivations.slot(j, parity: b & 1, layout: .nibblePairs)
                        let hi = QuantizedActivations.slot(j + 16, parity: b & 1, layout: .nibblePairs)
                        isum += (byte & 15) * Int(acts.values[base + lo])
                        isum += (byte >> 4) * Int(acts.values[base + hi])
                    }
                    reference += d * Double(acts.scales[t * 4 + b]) * Double(isum) + m * Double(acts.sums[t * 4 + b])
                }
                #expect(abs(Double(batched[t * rows + r]) - reference) < 1e-5 * max(1, abs(reference)))
            }
        }
        // One token at a time gives bit-identical results.
        for t in 0..<tokens {
            var single = [Float](repeating: 0, count: rows)
            let one = QuantizedActivations(rows: 1, maxCols: 128)
            one.values.update(from: acts.values + t * 128, count: 128)
            one.scales.update(from: acts.scales + t * 4, count: 4)
            one.sums.update(from: acts.sums + t * 4, count: 4)
            MatMul.multiply(w, one, tokens: 1, rows: 0..<rows, out: &single, outStride: rows)
            #expect(single == Array(batched[(t * rows)..<((t + 1) * rows)]))
        }
    }

    @Test func poolRunsEveryWorkerOnce() {
        let pool = ComputePool(threadCount: 3)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        hits.initialize(repeating: 0, count: 3)
        defer { hits.deallocate() }
        for _ in 0..<1000 { pool.run { w in hits[w] += 1 } }
        #expect(hits[0] == 1000 && hits[1] == 1000 && hits[2] == 1000)
        #expect(pool.range(of: 0, count: 100, granularity: 8) == 0..<32)
        #expect(pool.range(of: 2, count: 100, granularity: 8) == 64..<100)
    }
}
