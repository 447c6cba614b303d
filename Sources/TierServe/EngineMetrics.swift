import TierKV

/// What an `InferenceEngine` has done since it started, and its KV pool now.
public struct EngineMetrics: Sendable, Equatable {
    /// Requests submitted, and those that ended by finishing, failing or being cancelled.
    public var requests = 0
    public var finishedRequests = 0
    public var failedRequests = 0
    public var cancelledRequests = 0
    /// Prompt tokens submitted and tokens generated.
    public var promptTokens = 0
    public var generatedTokens = 0
    /// Forward steps run.
    public var steps = 0
    /// Sequences in the batch after the last step.
    public var running = 0
    /// Sequences the scheduler preempted for lack of KV blocks.
    public var preemptions = 0
    /// KV blocks in the pool, bytes of one, free now, and cached but held by no sequence.
    public var kvBlocks: Int
    public var kvBlockBytes: Int
    public var kvFreeBlocks = 0
    public var kvCachedBlocks = 0
    /// The KV tier's metrics; nil without a tier.
    public var kv: KVTierMetrics?

    public init(kvBlocks: Int, kvBlockBytes: Int) {
        self.kvBlocks = kvBlocks
        self.kvBlockBytes = kvBlockBytes
    }
}
