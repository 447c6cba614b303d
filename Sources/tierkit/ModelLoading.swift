import TierInfer

/// Opens a GGUF llama model for the inference commands.
func loadModel(path: String) throws -> (GGUFFile, LlamaModel) {
    let file = try GGUFFile(path: path)
    return (file, try LlamaModel(gguf: file))
}
