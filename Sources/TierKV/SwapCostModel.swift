/// Swap or recompute: reading a block back costs its bytes over the measured read bandwidth;
/// recomputing it costs its tokens over the measured prefill speed. The cheaper one wins.
public struct SwapCostModel: Sendable, Equatable {
    /// Measured read bandwidth of the swap file (moving average), nil before the first read.
    public private(set) var readBytesPerSecond: Double?
    /// Measured prefill speed (moving average), nil before the first prefill.
    public private(set) var prefillTokensPerSecond: Double?

    public init(readBytesPerSecond: Double? = nil, prefillTokensPerSecond: Double? = nil) {
        self.readBytesPerSecond = readBytesPerSecond
        self.prefillTokensPerSecond = prefillTokensPerSecond
    }

    /// Adds a measured read.
    public mutating func observeRead(bytes: Int, seconds: Double) {
        guard bytes > 0, seconds > 0 else { return }
        readBytesPerSecond = Self.average(readBytesPerSecond, Double(bytes) / seconds)
    }

    /// Adds a measured prefill step.
    public mutating func observePrefill(tokens: Int, seconds: Double) {
        guard tokens > 0, seconds > 0 else { return }
        prefillTokensPerSecond = Self.average(prefillTokensPerSecond, Double(tokens) / seconds)
    }

    /// Estimated seconds to read `blocks` blocks of `bytes` bytes.
    public func swapSeconds(blocks: Int, bytes: Int) -> Double? {
        readBytesPerSecond.map { Double(blocks * bytes) / $0 }
    }

    /// Estimated seconds to recompute `tokens` tokens.
    public func recomputeSeconds(tokens: Int) -> Double? {
        prefillTokensPerSecond.map { Double(tokens) / $0 }
    }

    /// True when reading is expected to be no slower; true while either side is unmeasured,
    /// so the first reads measure the device.
    public func prefersSwap(blocks: Int, bytesPerBlock: Int, tokensPerBlock: Int) -> Bool {
        guard let s = swapSeconds(blocks: blocks, bytes: bytesPerBlock),
              let r = recomputeSeconds(tokens: blocks * tokensPerBlock) else { return true }
        return s <= r
    }

    private static func average(_ old: Double?, _ new: Double) -> Double {
        guard let old else { return new }
        return old * 0.8 + new * 0.2
    }
}
