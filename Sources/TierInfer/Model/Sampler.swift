#if canImport(Glibc)
import Glibc
#endif

/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 picks the most likely token (greedy); above 0 divides the logits before the softmax.
    public var temperature: Float
    /// Keeps only the `topK` most likely tokens (0: all).
    public var topK: Int
    /// Keeps the smallest set of most likely tokens whose probability reaches `topP` (1: all).
    public var topP: Float
    /// Seed of the sampler's random numbers.
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters()
}

/// Draws tokens from logits; its scratch space is reused across calls.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var state: UInt64
    private var candidates: [Int32] = []
    private var weights: [Float] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        state = parameters.seed
    }

    /// The index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var value = -Float.infinity
        for i in 0..<logits.count where logits[i] > value {
            value = logits[i]
            best = i
        }
        return Int32(best)
    }

    /// SplitMix64, mapped to a float in [0, 1).
    private mutating func uniform() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24)
    }

    /// Chooses the next token.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        let p = parameters
        if p.temperature <= 0 || p.topK == 1 { return Self.argmax(logits) }
        candidates.removeAll(keepingCapacity: true)
        if p.topK > 0 && p.topK < logits.count {
            // Keep the k best in descending order; most logits fail the threshold test at once.
            for i in 0..<logits.count {
                let v = logits[i]
                if candidates.count == p.topK {
                    if v <= logits[Int(candidates[p.topK - 1])] { continue }
                    candidates.removeLast()
                }
                var at = candidates.count
                while at > 0 && logits[Int(candidates[at - 1])] < v { at -= 1 }
                candidates.insert(Int32(i), at: at)
            }
        } else {
            candidates.append(contentsOf: 0..<Int32(logits.count))
            candidates.sort { logits[Int($0)] > logits[Int($1)] || (logits[Int($0)] == logits[Int($1)] && $0 < $1) }
        }
        let top = logits[Int(candidates[0])]
        weights.removeAll(keepingCapacity: true)
        var total: Float = 0
        for c in candidates {
            let w = expf((logits[Int(c)] - top) / p.temperature)
            weights.append(w)
            total += w
        }
        var keep = candidates.count
        if p.topP < 1 {
            var cumulative: Float = 0
            for i in 0..<candidates.count {
                cumulative += weights[i] / total
                if cumulative >= p.topP {
                    keep = i + 1
                    break
                }
            }
        }
        var kept: Float = 0
        for i in 0..<keep { kept += weights[i] }
        var target = uniform() * kept
        for i in 0..<keep {
            target -= weights[i]
            if target < 0 { return candidates[i] }
        }
        return candidates[keep - 1]
    }
}
