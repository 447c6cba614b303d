import Testing
@testable import TierInfer

/// Every test that runs the model, one at a time: each runtime's threads fill both cores.
@Suite(.serialized)
struct ModelTests {}

/// The SmolLM2 model (located by `ModelFixture`), repacked once for all model tests.
enum LlamaFixture {
    static let model: LlamaModel? = {
        guard let file = try? ModelFixture.file() else { return nil }
        return try? LlamaModel(gguf: file)
    }()

    /// The model, or nil after printing a SKIPPED line naming `test`.
    static func require(_ test: String) -> LlamaModel? {
        guard let model else {
            ModelFixture.skip(test)
            return nil
        }
        return model
    }
}

/// Greedy goldens from llama.cpp (llama-cpp-python 0.3.36, 2 threads).
enum Golden {
    static let onceUponATime: (prompt: [Int32], tokens: [Int32]) = (
        [6403, 1980, 253, 655],
        [28, 260, 2240, 282, 23324, 27108, 436, 253, 15114, 39228, 28, 351,
         25854, 41658, 284, 14055, 9018, 30, 1249, 347, 260, 929, 3514, 411])
    static let capitalOfFrance: (prompt: [Int32], tokens: [Int32]) = (
        [504, 3575, 282, 4649, 314],
        [7042, 30, 198, 198, 504, 1797, 1918, 553, 253, 2155, 282, 4723,
         216, 35, 33, 33, 2215, 701, 30, 198, 198, 504, 1797, 1918])
    /// " Paris"
    static let paris: Int32 = 7042
}
