/// The weights of a llama model with a tied output head, repacked for the CPU kernels.
///
/// Per layer the query, key and value projections are stacked into one matrix, and the gate
/// and up projections into another, so each is a single multiplication.
public final class LlamaModel: Sendable {
    public let config: LlamaConfig

    struct Layer: Sendable {
        var attentionNorm: [Float]
        var qkv: QuantizedMatrix
        var output: QuantizedMatrix
        var ffnNorm: [Float]
        var gateUp: QuantizedMatrix
        var down: QuantizedMatrix
    }

    let layers: [Layer]
    let outputNorm: [Float]
    /// `token_embd`: the embedding table and, tied, the output head.
    let embedding: QuantizedMatrix

    /// Loads the weights through `tensor`, which returns the tensor of a GGUF name (the bytes
    /// need to stay valid only during the call).
    public init(config: LlamaConfig, tensor: (String) throws(InferError) -> WeightTensor) throws(InferError) {
        self.config = config
        let e = config.embedding
        let kvWidth = config.kvHeads * config.headDim
        func matrix(_ names: [String], rows: [Int], cols: Int) throws(InferError) -> QuantizedMatrix {
            var parts: [WeightTensor] = []
            for (name, r) in zip(names, rows) {
                let t = try tensor(name)
                guard t.shape == [cols, r] else { throw .shape(tensor: name, expected: "[\(cols), \(r)]", found: t.shape) }
                parts.append(t)
            }
            return try QuantizedMatrix(stacking: parts)
        }
        var layers: [Layer] = []
        for l in 0..<config.layers {
            let p = "blk.\(l)."
            layers.append(Layer(
                attentionNorm: try floatVector(tensor(p + "attn_norm.weight"), count: e),
                qkv: try matrix([p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"],
                                rows: [e, kvWidth, kvWidth], cols: e),
                output: try matrix([p + "attn_output.weight"], rows: [e], cols: e),
                ffnNorm: try floatVector(tensor(p + "ffn_norm.weight"), count: e),
                gateUp: try matrix([p + "ffn_gate.weight", p + "ffn_up.weight"],
                                   rows: [config.feedForward, config.feedForward], cols: e),
                down: try matrix([p + "ffn_down.weight"], rows: [e], cols: config.feedForward)))
        }
        self.layers = layers
        outputNorm = try floatVector(tensor("output_norm.weight"), count: e)
        embedding = try matrix(["token_embd.weight"], rows: [config.vocabulary], cols: e)
    }
}
