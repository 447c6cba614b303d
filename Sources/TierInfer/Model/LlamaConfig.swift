/// Hyper-parameters of a llama-architecture model.
public struct LlamaConfig: Sendable, Equatable {
    public var layers: Int
    public var embedding: Int
    public var feedForward: Int
    public var heads: Int
    public var kvHeads: Int
    public var vocabulary: Int
    public var contextLength: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float

    public init(
        layers: Int, embedding: Int, feedForward: Int, heads: Int, kvHeads: Int,
        vocabulary: Int, contextLength: Int, ropeBase: Float, rmsEpsilon: Float
    ) {
        self.layers = layers
        self.embedding = embedding
        self.feedForward = feedForward
        self.heads = heads
        self.kvHeads = kvHeads
        self.vocabulary = vocabulary
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.rmsEpsilon = rmsEpsilon
    }

    /// Values per attention head.
    public var headDim: Int { embedding / heads }

    /// Width of the fused query/key/value projection.
    var qkvWidth: Int { (heads + 2 * kvHeads) * headDim }
}
