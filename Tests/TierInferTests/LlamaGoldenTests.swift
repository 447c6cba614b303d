import Testing
@testable import TierInfer

extension ModelTests {
    /// Greedy generation one token per step, as a single sequence.
    static func greedy(_ runtime: LlamaRuntime, prompt: [Int32], count: Int) throws -> [Int32] {
        let slot = runtime.cache.openSequence()!
        defer { runtime.cache.closeSequence(slot) }
        var batch = StepBatch()
        for (p, token) in prompt.enumerated() {
            batch.append(token: token, slot: slot, position: p, logits: p == prompt.count - 1)
        }
        var out: [Int32] = []
        try runtime.forward(batch)
        out.append(Sampler.argmax(runtime.logits(row: 0)))
        while out.count < count {
            batch.removeAll()
            batch.append(token: out.last!, slot: slot, position: prompt.count + out.count - 1, logits: true)
            try runtime.forward(batch)
            out.append(Sampler.argmax(runtime.logits(row: 0)))
        }
        return out
    }

    @Test func greedyMatchesLlamaCpp() throws {
        guard let model = LlamaFixture.require("greedyMatchesLlamaCpp") else { return }
        let runtime = LlamaRuntime(model: model, threads: 2, maxBatchTokens: 64, maxSequences: 4, kvBlocks: 32, maxLength: 256)
        for golden in [Golden.onceUponATime, Golden.capitalOfFrance] {
            let tokens = try Self.greedy(runtime, prompt: golden.prompt, count: 24)
            #expect(Array(tokens.prefix(12)) == Array(golden.tokens.prefix(12)))
            let agree = zip(tokens, golden.tokens).prefix { $0 == $1 }.count
            print("greedy: \(agree) of 24 tokens equal llama.cpp's for prompt \(golden.prompt)")
        }
        #expect(runtime.cache.freeBlockCount == 32)
    }

    @Test func teacherForcedArgmaxAgrees() throws {
        guard let model = LlamaFixture.require("teacherForcedArgmaxAgrees") else { return }
        let runtime = LlamaRuntime(model: model, threads: 2, maxBatchTokens: 64, maxSequences: 4, kvBlocks: 32, maxLength: 256)
        for golden in [Golden.onceUponATime, Golden.capitalOfFrance] {
            let slot = runtime.cache.openSequence()!
            var batch = StepBatch()
            let sequence = golden.prompt + golden.tokens
            for (p, token) in sequence.enumerated().dropLast() {
                batch.append(token: token, slot: slot, position: p, logits: p >= golden.prompt.count - 1)
            }
            #expect(try runtime.forward(batch) == 24)
            var agree = 0
            for i in 0..<24 {
                let logits = runtime.logits(row: i)
                let best = Sampler.argmax(logits)
                if best == golden.tokens[i] {
                    agree += 1
                } else {
                    print("teacher-forced: position \(i) argmax \(best) (\(logits[Int(best)])), llama.cpp \(golden.tokens[i]) (\(logits[Int(golden.tokens[i])]))")
                }
            }
            print("teacher-forced: argmax agrees at \(agree) of 24 positions for prompt \(golden.prompt)")
            #expect(agree >= 22)
            runtime.cache.closeSequence(slot)
        }
    }

    @Test func capitalOfFranceIsParis() throws {
        guard let model = LlamaFixture.require("capitalOfFranceIsParis") else { return }
        guard let tokenizer = try ModelFixture.tokenizer() else { return ModelFixture.skip("capitalOfFranceIsParis") }
        let prompt = tokenizer.encode("The capital of France is")
        #expect(prompt == Golden.capitalOfFrance.prompt)
        let runtime = LlamaRuntime(model: model, threads: 2, maxBatchTokens: 16, maxSequences: 1, kvBlocks: 2, maxLength: 32)
        let next = try Self.greedy(runtime, prompt: prompt, count: 1)
        #expect(next == [Golden.paris])
        #expect(tokenizer.decode(next) == " Paris")
    }
}
