/// Tokens to run through the model in one step: any mix of prompt tokens (prefill) and single
/// next tokens (decode) of several sequences, each identified by its KV cache slot.
public struct StepBatch: Sendable {
    public private(set) var tokens: [Int32] = []
    public private(set) var slots: [Int32] = []
    public private(set) var positions: [Int32] = []
    /// Indices (into `tokens`) whose logits the step computes, in order.
    public private(set) var logitTokens: [Int32] = []

    public init() {}

    public var count: Int { tokens.count }

    /// Adds `token` at `position` of the sequence in `slot`; `logits` asks for its next-token
    /// logits.
    public mutating func append(token: Int32, slot: Int, position: Int, logits: Bool) {
        if logits { logitTokens.append(Int32(tokens.count)) }
        tokens.append(token)
        slots.append(Int32(slot))
        positions.append(Int32(position))
    }

    /// Empties the batch, keeping its storage.
    public mutating func removeAll() {
        tokens.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        logitTokens.removeAll(keepingCapacity: true)
    }
}

/// Wall time of a runtime's forward passes by phase, summed over the steps run while
/// `LlamaRuntime.profile` was set: where a token's time goes (no PMU is needed).
public struct PhaseProfile: Sendable {
    /// The phases, in forward order.
    public static let names = ["embed", "attn_norm", "qkv", "rope_kv", "attention", "attn_out", "ffn_norm",
                               "gate_up", "swiglu", "down", "residual", "head_norm", "head"]
    /// Nanoseconds per phase, indexed like `names`.
    public var nanoseconds = [UInt64](repeating: 0, count: PhaseProfile.names.count)

    public init() {}
}

/// Runs a `LlamaModel` forward over step batches with a paged KV cache and a thread pool.
///
/// All buffers are allocated here, once; a step allocates nothing.
public final class LlamaRuntime: @unchecked Sendable {
    public let model: LlamaModel
    public let cache: PagedKVCache
    public let pool: ComputePool
    /// Most tokens in one step.
    public let maxBatchTokens: Int
    /// Most tokens per step whose logits are computed.
    public let maxLogitRows: Int

    private let config: LlamaConfig
    private let x: UnsafeMutablePointer<Float>        // residual stream, tokens × E
    private let normed: UnsafeMutablePointer<Float>   // tokens × max(E, F)
    private let qkv: UnsafeMutablePointer<Float>      // tokens × qkvWidth
    private let attention: UnsafeMutablePointer<Float> // tokens × E
    private let gateUp: UnsafeMutablePointer<Float>   // tokens × 2F
    private let ropeCos: UnsafeMutablePointer<Float>  // tokens × headDim/2
    private let ropeSin: UnsafeMutablePointer<Float>
    private let scores: UnsafeMutablePointer<Float>   // threads × group × (contextLength + headDim)
    private let logitBuffer: UnsafeMutablePointer<Float> // maxLogitRows × vocabulary
    private let acts: QuantizedActivations
    private let buffers: AlignedBuffer
    private var logitRowCount = 0
    /// When set, each forward pass adds its phase times here (a clock read per phase).
    public var profile: PhaseProfile?
    private var mark: ContinuousClock.Instant = .now

    /// A runtime for `model` whose cache holds `kvBlocks` blocks of `blockSize` tokens for up to
    /// `maxSequences` sequences of at most `maxLength` tokens (default: the model's context).
    public init(
        model: LlamaModel, threads: Int = ComputePool.processorCount, maxBatchTokens: Int = 512,
        maxLogitRows: Int = 64, maxSequences: Int = 16, kvBlocks: Int = 1024, blockSize: Int = 16,
        maxLength: Int? = nil
    ) {
        self.model = model
        config = model.config
        self.maxBatchTokens = maxBatchTokens
        self.maxLogitRows = maxLogitRows
        let c = model.config
        let length = min(maxLength ?? c.contextLength, c.contextLength)
        cache = PagedKVCache(
            layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim, blockSize: blockSize,
            blockCount: kvBlocks, maxSequences: maxSequences, maxLength: length)
        pool = ComputePool(threadCount: threads)
        let n = maxBatchTokens
        let widest = max(c.embedding, c.feedForward)
        let sizes = [n * c.embedding, n * widest, n * c.qkvWidth, n * c.embedding, n * 2 * c.feedForward,
                     n * c.headDim / 2, n * c.headDim / 2, pool.threadCount * c.heads / c.kvHeads * (length + c.headDim),
                     maxLogitRows * c.vocabulary]
        let rounded = sizes.map { ($0 + 15) & ~15 }
        buffers = AlignedBuffer(byteCount: rounded.reduce(0, +) * 4)
        var cursor = buffers.base.bindMemory(to: Float.self, capacity: rounded.reduce(0, +))
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in rounded {
            pointers.append(cursor)
            cursor += size
        }
        x = pointers[0]; normed = pointers[1]; qkv = pointers[2]; attention = pointers[3]
        gateUp = pointers[4]; ropeCos = pointers[5]; ropeSin = pointers[6]; scores = pointers[7]
        logitBuffer = pointers[8]
        acts = QuantizedActivations(rows: n, maxCols: widest)
    }

    /// Logits of the `row`th logit token of the last step.
    public func logits(row: Int) -> UnsafeBufferPointer<Float> {
        precondition(row < logitRowCount)
        return UnsafeBufferPointer(start: logitBuffer + row * config.vocabulary, count: config.vocabulary)
    }

    /// Runs one step. Each sequence grows in the cache to cover its tokens' positions; a token
    /// at position `p` attends to positions `0...p` of its sequence, including tokens of the
    /// same step. Returns the number of logit rows.
    @discardableResult
    public func forward(_ batch: StepBatch) throws(InferError) -> Int {
        let n = batch.count
        guard n > 0, n <= maxBatchTokens else {
            throw .invalidRequest("a step holds 1...\(maxBatchTokens) tokens, got \(n)")
        }
        guard batch.logitTokens.count <= maxLogitRows else {
            throw .invalidRequest("a step computes at most \(maxLogitRows) logit rows, got \(batch.logitTokens.count)")
        }
        for i in 0..<n {
            let token = Int(batch.tokens[i])
            guard token >= 0, token < config.vocabulary else {
                throw .invalidRequest("token id \(token) outside the vocabulary of \(config.vocabulary)")
            }
            let slot = Int(batch.slots[i])
            try cache.extend(slot: slot, to: Int(batch.positions[i]) + 1)
        }
        batch.tokens.withUnsafeBufferPointer { tokens in
            batch.slots.withUnsafeBufferPointer { slots in
                batch.positions.withUnsafeBufferPointer { positions in
                    batch.logitTokens.withUnsafeBufferPointer { logitTokens in
                        run(tokens: tokens, slots: slots, positions: positions, logitTokens: logitTokens)
                    }
                }
            }
        }
        logitRowCount = batch.logitTokens.count
        return logitRowCount
    }

    private func run(
        tokens: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>,
        positions: UnsafeBufferPointer<Int32>, logitTokens: UnsafeBufferPointer<Int32>
    ) {
        let c = config
        let n = tokens.count
        let e = c.embedding
        let f = c.feedForward
        let hd = c.headDim
        let qkvWidth = c.qkvWidth
        let pool = pool
        let acts = acts
        let (x, normed, qkv, attention, gateUp) = (x, normed, qkv, attention, gateUp)
        let (ropeCos, ropeSin) = (ropeCos, ropeSin)
        if profile != nil { mark = .now }

        perToken(n) { w in
            for t in pool.range(of: w, count: n) {
                model.embedding.dequantizeRow(Int(tokens[t]), into: x + t * e)
                Elementwise.ropeAngles(position: Int(positions[t]), dims: hd, base: c.ropeBase,
                                       cos: ropeCos + t * hd / 2, sin: ropeSin + t * hd / 2)
            }
        }
        lap(0)
        for l in 0..<c.layers {
            let layer = model.layers[l]
            // Attention block.
            layer.attentionNorm.withUnsafeBufferPointer { norm in
                normalize(n, weight: norm.baseAddress!)
            }
            lap(1)
            pool.run { w in
                MatMul.multiply(layer.qkv, acts, tokens: n, rows: pool.range(of: w, count: qkvWidth, granularity: 8),
                                out: qkv, outStride: qkvWidth)
            }
            lap(2)
            perToken(n) { w in
                for t in pool.range(of: w, count: n) {
                    let row = qkv + t * qkvWidth
                    Elementwise.rope(row, heads: c.heads + c.kvHeads, dims: hd,
                                     cos: ropeCos + t * hd / 2, sin: ropeSin + t * hd / 2)
                    storeKV(row: row, slot: Int(slots[t]), position: Int(positions[t]), layer: l)
                }
            }
            lap(3)
            // Each worker takes a contiguous range of (token, head) items; consecutive heads of
            // one token that share a KV head are attended together, so each block of keys and
            // values is read from memory once for all of them.
            let group = c.heads / c.kvHeads
            pool.run { w in
                let scratch = scores + w * group * (cache.maxLength + hd)
                let items = pool.range(of: w, count: n * c.heads)
                var item = items.lowerBound
                while item < items.upperBound {
                    let t = item / c.heads, h = item % c.heads
                    let kvHead = h / group
                    let end = min(items.upperBound, t * c.heads + (kvHead + 1) * group)
                    attend(queries: qkv + t * qkvWidth + h * hd, heads: end - item, slot: Int(slots[t]),
                           position: Int(positions[t]), layer: l, kvHead: kvHead, scratch: scratch,
                           out: attention + t * e + h * hd)
                    item = end
                }
            }
            lap(4)
            perToken(n) { w in
                for t in pool.range(of: w, count: n) { acts.quantize(row: t, from: attention + t * e, cols: e, layout: .nibblePairs) }
            }
            lap(4)
            pool.run { w in
                MatMul.multiply(layer.output, acts, tokens: n, rows: pool.range(of: w, count: e, granularity: 8),
                                out: normed, outStride: e)
            }
            lap(5)
            // Feed-forward block.
            perToken(n) { w in
                for t in pool.range(of: w, count: n) { Elementwise.add(x + t * e, normed + t * e, count: e) }
            }
            layer.ffnNorm.withUnsafeBufferPointer { norm in
                normalize(n, weight: norm.baseAddress!)
            }
            lap(6)
            pool.run { w in
                MatMul.multiply(layer.gateUp, acts, tokens: n, rows: pool.range(of: w, count: 2 * f, granularity: 8),
                                out: gateUp, outStride: 2 * f)
            }
            lap(7)
            if n < 4 * pool.threadCount {
                // Few tokens: split each row's blocks over the workers instead.
                pool.run { w in
                    let blocks = pool.range(of: w, count: f / 32)
                    let lo = blocks.lowerBound * 32
                    for t in 0..<n {
                        Elementwise.swiGLU(gate: gateUp + t * 2 * f + lo, up: gateUp + t * 2 * f + f + lo, count: blocks.count * 32,
                                           out: normed + t * f + lo)
                        acts.quantize(row: t, from: normed + t * f, blocks: blocks, layout: .nibblePairs)
                    }
                }
            } else {
                pool.run { w in
                    for t in pool.range(of: w, count: n) {
                        Elementwise.swiGLU(gate: gateUp + t * 2 * f, up: gateUp + t * 2 * f + f, count: f, out: normed + t * f)
                        acts.quantize(row: t, from: normed + t * f, cols: f, layout: .nibblePairs)
                    }
                }
            }
            lap(8)
            pool.run { w in
                MatMul.multiply(layer.down, acts, tokens: n, rows: pool.range(of: w, count: e, granularity: 8),
                                out: normed, outStride: e)
            }
            lap(9)
            perToken(n) { w in
                for t in pool.range(of: w, count: n) { Elementwise.add(x + t * e, normed + t * e, count: e) }
            }
            lap(10)
        }
        // Output head, only for the tokens whose logits were asked for.
        let rows = logitTokens.count
        guard rows > 0 else { return }
        model.outputNorm.withUnsafeBufferPointer { norm in
            perToken(rows) { w in
                for i in pool.range(of: w, count: rows) {
                    let t = Int(logitTokens[i])
                    Elementwise.rmsNorm(x + t * e, weight: norm.baseAddress!, count: e, eps: c.rmsEpsilon, out: normed + i * e)
                    acts.quantize(row: i, from: normed + i * e, cols: e, layout: .evenOdd)
                }
            }
        }
        lap(11)
        let logitBuffer = logitBuffer
        pool.run { w in
            MatMul.multiply(model.embedding, acts, tokens: rows, rows: pool.range(of: w, count: c.vocabulary, granularity: 8),
                            out: logitBuffer, outStride: c.vocabulary)
        }
        lap(12)
    }

    /// Adds the time since the last mark to `phase` when profiling.
    @inline(__always)
    private func lap(_ phase: Int) {
        guard profile != nil else { return }
        let now = ContinuousClock.now
        let d = (now - mark).components
        profile!.nanoseconds[phase] += UInt64(d.seconds) * 1_000_000_000 + UInt64(d.attoseconds / 1_000_000_000)
        mark = now
    }

    /// RMS-normalises the residual rows of `n` tokens into `normed` and quantizes them. With
    /// few tokens the workers split each row's blocks (each computes the row's scale itself).
    @inline(__always)
    private func normalize(_ n: Int, weight: UnsafePointer<Float>) {
        let e = config.embedding, eps = config.rmsEpsilon
        let (x, normed, acts, pool) = (x, normed, acts, pool)
        if n < 4 * pool.threadCount {
            pool.run { w in
                let blocks = pool.range(of: w, count: e / 32)
                for t in 0..<n {
                    let scale = Elementwise.rmsScale(x + t * e, count: e, eps: eps)
                    let row = x + t * e, out = normed + t * e
                    for i in (blocks.lowerBound * 32)..<(blocks.upperBound * 32) { out[i] = row[i] * scale * weight[i] }
                    acts.quantize(row: t, from: out, blocks: blocks, layout: .nibblePairs)
                }
            }
        } else {
            pool.run { w in
                for t in pool.range(of: w, count: n) {
                    Elementwise.rmsNorm(x + t * e, weight: weight, count: e, eps: eps, out: normed + t * e)
                    acts.quantize(row: t, from: normed + t * e, cols: e, layout: .nibblePairs)
                }
            }
        }
    }

    /// Runs a per-token job on the pool, or on the calling thread alone when the batch is too
    /// small to share (decoding a few sequences): a fork-join costs more than these few
    /// microseconds of work.
    @inline(__always)
    private func perToken(_ count: Int, _ body: (Int) -> Void) {
        if count < 4 * pool.threadCount {
            for w in 0..<pool.threadCount { body(w) }
        } else {
            pool.run(body)
        }
    }

    /// Writes the (rotated) keys and the values of one token into its cache slot.
    @inline(__always)
    private func storeKV(row: UnsafePointer<Float>, slot: Int, position: Int, layer: Int) {
        let hd = config.headDim
        let k = row + config.heads * hd
        let v = k + config.kvHeads * hd
        for h in 0..<config.kvHeads {
            let kd = cache.entry(slot: slot, position: position, layer: layer, kind: 0, kvHead: h)
            let vd = cache.entry(slot: slot, position: position, layer: layer, kind: 1, kvHead: h)
            for i in 0..<hd {
                kd[i] = Float16(k[h * hd + i])
                vd[i] = Float16(v[h * hd + i])
            }
        }
    }

    /// 16 f16 values as f32, converted eight at a time (single instructions with F16C).
    @inline(__always)
    private func widen16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        SIMD16<Float>(lowHalf: SIMD8<Float>(p.load(as: SIMD8<Float16>.self)),
                      highHalf: SIMD8<Float>(p.load(fromByteOffset: 16, as: SIMD8<Float16>.self)))
    }

    /// Attention of `heads` consecutive query heads that share `kvHead`, over positions
    /// `0...position` of their sequence. Keys and values are visited a block at a time and the
    /// block serves every head while it is in L1; each head's arithmetic is the same as alone.
    /// `scratch` holds per head the scores (`maxLength`) and the query at f16 precision.
    @inline(__always)
    private func attend(
        queries: UnsafePointer<Float>, heads: Int, slot: Int, position: Int, layer: Int, kvHead: Int,
        scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let hd = config.headDim
        precondition(hd == 64, "attention kernel is specialised for head size 64")
        let stride = cache.maxLength + hd
        // The queries at f16 precision, as GGML multiplies them with f16 keys.
        for g in 0..<heads {
            let query16 = scratch + g * stride + cache.maxLength
            let query = queries + g * hd
            for i in 0..<64 { query16[i] = Float(Float16(query[i])) }
        }
        let scale = 1 / Float(hd).squareRoot()
        let count = position + 1
        let bs = cache.blockSize
        var j = 0
        while j < count {
            let k = UnsafeRawPointer(cache.entry(slot: slot, position: j, layer: layer, kind: 0, kvHead: kvHead))
            let run = min(bs - j % bs, count - j)
            for i in 0..<run {
                // Each key is widened once for all the heads.
                let kr = k + i * hd * 2
                let key = (widen16(kr), widen16(kr + 32), widen16(kr + 64), widen16(kr + 96))
                for g in 0..<heads {
                    let qr = UnsafeRawPointer(scratch + g * stride + cache.maxLength)
                    var s = qr.loadUnaligned(as: SIMD16<Float>.self) * key.0
                    s += qr.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) * key.1
                    s += qr.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self) * key.2
                    s += qr.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self) * key.3
                    scratch[g * stride + j + i] = s.sum() * scale
                }
            }
            j += run
        }
        for g in 0..<heads {
            let scores = scratch + g * stride
            Elementwise.softmax(scores, count: count)
            // GGML multiplies f16 values with the probabilities converted to f16.
            var i = 0
            while i + 8 <= count {
                let p = UnsafeMutableRawPointer(scores + i)
                p.storeBytes(of: SIMD8<Float>(SIMD8<Float16>(p.loadUnaligned(as: SIMD8<Float>.self))), as: SIMD8<Float>.self)
                i += 8
            }
            while i < count {
                scores[i] = Float(Float16(scores[i]))
                i += 1
            }
        }
        let zero = SIMD16<Float>()
        for g in 0..<heads {
            let or = UnsafeMutableRawPointer(out + g * hd)
            for b in 0..<4 { or.storeBytes(of: zero, toByteOffset: 64 * b, as: SIMD16<Float>.self) }
        }
        j = 0
        while j < count {
            let v = UnsafeRawPointer(cache.entry(slot: slot, position: j, layer: layer, kind: 1, kvHead: kvHead))
            let run = min(bs - j % bs, count - j)
            for g in 0..<heads {
                let scores = scratch + g * stride + j
                let or = UnsafeMutableRawPointer(out + g * hd)
                var o = (or.loadUnaligned(as: SIMD16<Float>.self), or.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                         or.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self), or.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
                for i in 0..<run {
                    let vr = v + i * hd * 2
                    let p = scores[i]
                    o.0 += p * widen16(vr)
                    o.1 += p * widen16(vr + 32)
                    o.2 += p * widen16(vr + 64)
                    o.3 += p * widen16(vr + 96)
                }
                or.storeBytes(of: o.0, as: SIMD16<Float>.self)
                or.storeBytes(of: o.1, toByteOffset: 64, as: SIMD16<Float>.self)
                or.storeBytes(of: o.2, toByteOffset: 128, as: SIMD16<Float>.self)
                or.storeBytes(of: o.3, toByteOffset: 192, as: SIMD16<Float>.self)
            }
            j += run
        }
    }
}
