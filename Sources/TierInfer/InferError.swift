/// Errors of the inference runtime, each naming what was wrong and what was expected.
public enum InferError: Error, Equatable, CustomStringConvertible {
    /// The model file is malformed or lacks a key (the GGUF reader's located error).
    case file(GGUFError)
    /// A tensor the model needs is absent.
    case missingTensor(String)
    /// A tensor has a storage type the runtime cannot use here.
    case unsupportedType(tensor: String, type: UInt32, expected: String)
    /// A tensor's dimensions differ from what the configuration implies.
    case shape(tensor: String, expected: String, found: [Int])
    /// A metadata key is absent or has the wrong type.
    case metadata(key: String, expected: String)
    /// The paged KV cache has no free block left.
    case kvCacheFull(blocksInUse: Int)
    /// A sequence would grow beyond the context length.
    case contextOverflow(length: Int, limit: Int)
    /// A request is malformed (empty prompt, token id outside the vocabulary, batch too large).
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .file(let error): return error.description
        case .missingTensor(let name): return "model: tensor '\(name)' is missing"
        case .unsupportedType(let tensor, let type, let expected):
            return "model: tensor '\(tensor)' has GGML type \(type), expected \(expected)"
        case .shape(let tensor, let expected, let found):
            return "model: tensor '\(tensor)' has shape \(found), expected \(expected)"
        case .metadata(let key, let expected): return "model: metadata '\(key)' is missing or not \(expected)"
        case .kvCacheFull(let used): return "KV cache full: all \(used) blocks are in use"
        case .contextOverflow(let length, let limit): return "sequence length \(length) exceeds the context limit \(limit)"
        case .invalidRequest(let why): return "invalid request: \(why)"
        }
    }
}
