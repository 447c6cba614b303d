extension LlamaConfig {
    /// Reads the hyper-parameters of a `llama` GGUF model from its metadata.
    public init(gguf file: GGUFFile) throws(InferError) {
        do throws(GGUFError) {
            let architecture = try file.requireString("general.architecture")
            guard architecture == "llama" else {
                throw GGUFError(path: file.path, location: .key("general.architecture"),
                                message: "expected llama, found \(architecture)")
            }
            let embedding = try file.requireInt("llama.embedding_length")
            let heads = try file.requireInt("llama.attention.head_count")
            guard heads > 0, embedding % heads == 0 else {
                throw GGUFError(path: file.path, location: .key("llama.attention.head_count"),
                                message: "expected a divisor of the embedding length \(embedding), found \(heads)")
            }
            guard let embd = file.tensor(named: "token_embd.weight"), embd.dimensions.count == 2 else {
                throw GGUFError(path: file.path, location: .tensor("token_embd.weight"), message: "missing or not 2-D")
            }
            self.init(
                layers: try file.requireInt("llama.block_count"),
                embedding: embedding,
                feedForward: try file.requireInt("llama.feed_forward_length"),
                heads: heads,
                kvHeads: try file.int("llama.attention.head_count_kv") ?? heads,
                vocabulary: embd.dimensions[1],
                contextLength: try file.requireInt("llama.context_length"),
                ropeBase: Float(try file.double("llama.rope.freq_base") ?? 10_000),
                rmsEpsilon: Float(try file.requireDouble("llama.attention.layer_norm_rms_epsilon")))
        } catch {
            throw .file(error)
        }
    }
}

extension LlamaModel {
    /// Loads a `llama` GGUF model (configuration from the metadata, weights repacked from the
    /// mapping; the file may be closed afterwards).
    public convenience init(gguf file: GGUFFile) throws(InferError) {
        let config = try LlamaConfig(gguf: file)
        try self.init(config: config) { (name: String) throws(InferError) -> WeightTensor in
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard let type = WeightType(rawValue: t.type.rawValue) else {
                throw .unsupportedType(tensor: name, type: t.type.rawValue, expected: "F32, F16, Q4_1 or Q8_0")
            }
            return WeightTensor(name: name, type: type, shape: t.dimensions, data: t.data)
        }
    }
}
