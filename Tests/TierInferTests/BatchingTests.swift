import Testing
@testable import TierInfer

extension ModelTests {
    static let requests: [GenerationRequest] = [
        GenerationRequest(prompt: Golden.onceUponATime.prompt, maxTokens: 16),
        GenerationRequest(prompt: Golden.capitalOfFrance.prompt, maxTokens: 10),
        GenerationRequest(prompt: [504, 3575, 282, 4649, 314, 7042, 30], maxTokens: 20,
                          sampling: SamplingParameters(temperature: 0.8, topK: 40, topP: 0.9, seed: 7)),
        GenerationRequest(prompt: Golden.onceUponATime.prompt + Golden.onceUponATime.tokens, maxTokens: 12,
                          sampling: SamplingParameters(temperature: 1.0, seed: 99)),
    ]

    @Test func batchedDecodingEqualsOneAtATime() throws {
        guard let model = LlamaFixture.require("batchedDecodingEqualsOneAtATime") else { return }
        let runtime = LlamaRuntime(model: model, threads: 2, maxBatchTokens: 64, maxSequences: 4, kvBlocks: 24, maxLength: 128)
        let scheduler = BatchScheduler(runtime: runtime)

        var alone: [[Int32]] = []
        for request in Self.requests {
            let id = try scheduler.submit(request)
            alone.append(try scheduler.runToCompletion()[id]!)
        }
        #expect(alone.map(\.count) == [16, 10, 20, 12])
        #expect(Array(alone[0].prefix(12)) == Array(Golden.onceUponATime.tokens.prefix(12)))

        // Two start together, the others join while they decode.
        var together: [Int: [Int32]] = [:]
        var ids = [try scheduler.submit(Self.requests[0]), try scheduler.submit(Self.requests[1])]
        var steps = 0
        var widest = 0
        while !scheduler.isIdle {
            if steps == 3 { ids.append(try scheduler.submit(Self.requests[2])) }
            if steps == 5 { ids.append(try scheduler.submit(Self.requests[3])) }
            for event in try scheduler.step() {
                if case .token(let id, let token) = event { together[id, default: []].append(token) }
            }
            widest = max(widest, scheduler.activeCount)
            steps += 1
        }
        #expect(widest == 4)
        for (i, id) in ids.enumerated() { #expect(together[id] == alone[i]) }
        #expect(runtime.cache.freeBlockCount == 24)
        #expect(runtime.cache.freeSequenceCount == 4)
    }

    @Test func chunkedPrefillEqualsWholePrefill() throws {
        guard let model = LlamaFixture.require("chunkedPrefillEqualsWholePrefill") else { return }
        let prompt = Golden.onceUponATime.prompt + Golden.onceUponATime.tokens
        var results: [[Int32]] = []
        for maxBatch in [64, 5] {
            let runtime = LlamaRuntime(model: model, threads: 2, maxBatchTokens: maxBatch, maxSequences: 2, kvBlocks: 8, maxLength: 64)
            let scheduler = BatchScheduler(runtime: runtime)
            let id = try scheduler.submit(GenerationRequest(prompt: prompt, maxTokens: 6))
            results.append(try scheduler.runToCompletion()[id]!)
        }
        #expect(results[0] == results[1])
    }
}
