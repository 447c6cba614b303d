import Foundation
import Testing
import TierCore
import TierInfer
import TierKV

/// Runs `requests` one after another (each to completion) and returns each one's tokens.
private func runSequentially(_ scheduler: BatchScheduler, _ requests: [GenerationRequest]) throws -> [[Int32]] {
    try requests.map { r in
        let id = try scheduler.submit(r)
        return try scheduler.runToCompletion()[id] ?? []
    }
}

/// A runtime whose pool holds `blocks` blocks (the DRAM budget).
private func runtime(_ model: LlamaModel, blocks: Int) -> LlamaRuntime {
    LlamaRuntime(model: model, maxBatchTokens: 128, maxLogitRows: 8, maxSequences: 4, kvBlocks: blocks, maxLength: 256)
}

/// The real model with the tier: outputs, swapping, prefix reuse and every failure path.
@Suite(.serialized) struct TieredGenerationTests {
    // Two 40-token prompts, 20 tokens each: 60 tokens, four blocks per request; A's first two
    // blocks are reusable (the last prompt token is always computed).
    static let a = GenerationRequest(prompt: syntheticPrompt(40, seed: 11), maxTokens: 20)
    static let b = GenerationRequest(prompt: syntheticPrompt(40, seed: 12), maxTokens: 20)

    /// Greedy tokens without any tier, with a pool that never runs short.
    static let reference: [[Int32]]? = {
        guard let model = KVModel.model else { return nil }
        let s = BatchScheduler(runtime: runtime(model, blocks: 32))
        return try? runSequentially(s, [a, b, a])
    }()

    @Test func tightBudgetSwapsAndOutputsAreIdentical() throws {
        guard let model = KVModel.require("tightBudgetSwapsAndOutputsAreIdentical"), let reference = Self.reference else { return }
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let rt = runtime(model, blocks: 5)
        let tier = try KVTiers.make(memory: rt.cache, policy: "lru",
                                    swap: KVSwapConfiguration(path: dir.file("kv.swap"), size: 16 << 20, queueDepth: 8), resume: .swap)
        let out = try runSequentially(BatchScheduler(runtime: rt, tier: tier), [Self.a, Self.b, Self.a])
        #expect(out == reference)
        let m = tier.metrics
        print("tight budget:", m.fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        // A leaves three full blocks cached; B needs four of the five, so two of A's go to the
        // SSD; A again reads them back and prefills only its last 8 prompt tokens.
        #expect(m.evictions == 5 && m.swapOuts == 5 && m.bytesWritten == 5 * 368_640)
        #expect(m.ssdHits == 2)
        #expect(m.reusedTokens == 32)
        #expect(m.prefilledTokens == 40 + 40 + 8)
        #expect(m.checksumFailures == 0 && m.readErrors == 0)
        #expect(m.resumedBySwap == 1)
    }

    @Test func preemptedSequencesResumeWithTheSameTokens() throws {
        guard let model = KVModel.require("preemptedSequencesResumeWithTheSameTokens") else { return }
        // Two 20-token prompts decoding 40 tokens each: 4 blocks apiece at the end, 5 in the pool.
        let c = GenerationRequest(prompt: syntheticPrompt(20, seed: 31), maxTokens: 40)
        let d = GenerationRequest(prompt: syntheticPrompt(20, seed: 32), maxTokens: 40)
        let alone = try runSequentially(BatchScheduler(runtime: runtime(model, blocks: 32)), [c, d])
        for resume in [KVResumeMode.swap, .recompute] {
            let dir = try ScratchDirectory()
            defer { dir.cleanup() }
            let rt = runtime(model, blocks: 5)
            let tier = try KVTiers.make(memory: rt.cache, swap: KVSwapConfiguration(path: dir.file("kv.swap"), size: 16 << 20), resume: resume)
            let scheduler = BatchScheduler(runtime: rt, tier: tier)
            scheduler.preemptive = true
            let ic = try scheduler.submit(c), id = try scheduler.submit(d)
            let out = try scheduler.runToCompletion()
            #expect(out[ic] == alone[0] && out[id] == alone[1])
            print("preemption (\(resume)): preemptions=\(scheduler.preemptions)", tier.metrics.fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            // D is preempted once, after 13 tokens: it resumes as a 33-token prompt whose two full
            // blocks were cached (one still in DRAM, one pushed to the SSD).
            #expect(scheduler.preemptions == 1)
            let m = tier.metrics
            if resume == .swap {
                #expect(m.resumedBySwap == 1 && m.ssdHits == 1 && m.dramHits == 1 && m.reusedTokens == 32)
                #expect(m.prefilledTokens == 20 + 20 + 1)
            } else {
                #expect(m.resumedByRecompute == 1 && m.ssdHits == 0 && m.reusedTokens == 0 && m.recomputedTokens == 32)
                #expect(m.prefilledTokens == 20 + 20 + 33)
            }
        }
    }

    @Test func sharedPrefixPrefillsOnlyTheNewTokens() throws {
        guard let model = KVModel.require("sharedPrefixPrefillsOnlyTheNewTokens") else { return }
        let system = syntheticPrompt(64, seed: 21)
        let first = GenerationRequest(prompt: system + syntheticPrompt(10, seed: 22), maxTokens: 4)
        let second = GenerationRequest(prompt: system + syntheticPrompt(12, seed: 23), maxTokens: 4)
        let plain = try runSequentially(BatchScheduler(runtime: runtime(model, blocks: 32)), [second])
        let rt = runtime(model, blocks: 32)
        let tier = try KVTiers.make(memory: rt.cache)
        let s = BatchScheduler(runtime: rt, tier: tier)
        _ = try runSequentially(s, [first])
        #expect(tier.metrics.prefilledTokens == 74)
        let out = try runSequentially(s, [second])
        // The 64-token shared prefix (four blocks) comes from DRAM; only 12 tokens are prefilled.
        #expect(tier.metrics.prefilledTokens == 74 + 12)
        #expect(tier.metrics.reusedTokens == 64 && tier.metrics.dramHits == 4)
        #expect(out == plain)
    }

    @Test func corruptBlockOnDiskIsRecomputed() throws {
        guard let model = KVModel.require("corruptBlockOnDiskIsRecomputed"), let reference = Self.reference else { return }
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let rt = runtime(model, blocks: 5)
        let tier = try KVTiers.make(memory: rt.cache, swap: KVSwapConfiguration(path: dir.file("kv.swap"), size: 16 << 20), resume: .swap)
        let s = BatchScheduler(runtime: rt, tier: tier)
        let first = try runSequentially(s, [Self.a, Self.b])
        let hashes = PrefixHash.chain(Self.a.prompt, blockSize: 16)
        guard case .ssd(let slot)? = tier.location(of: hashes[1]) else { Issue.record("A's block 1 is not on the SSD"); return }
        let fd = open(dir.file("kv.swap"), O_RDWR)
        defer { close(fd) }
        var garbage = [UInt8](repeating: 0xA5, count: 64)
        #expect(pwrite(fd, &garbage, 64, off_t(tier.swapFile!.offset(of: slot)) + 4096) == 64)
        let again = try runSequentially(s, [Self.a])
        #expect(first + again == reference)
        #expect(tier.metrics.checksumFailures == 1)
        // Block 0 came back; block 1 failed and was recomputed with the rest of the prompt.
        #expect(tier.metrics.ssdHits == 1 && tier.metrics.recomputedTokens == 16)
        #expect(tier.metrics.prefilledTokens == 40 + 40 + 24)
    }

    @Test func fullSwapFileAndReadErrorFallBackToRecompute() throws {
        guard let model = KVModel.require("fullSwapFileAndReadErrorFallBackToRecompute"), let reference = Self.reference else { return }
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        // A swap file of one block: the first victim fits, the next ones are dropped.
        let rt = runtime(model, blocks: 5)
        let tier = try KVTiers.make(memory: rt.cache, swap: KVSwapConfiguration(path: dir.file("kv.swap"), size: Int64(rt.cache.bytesPerBlock)), resume: .swap)
        let out = try runSequentially(BatchScheduler(runtime: rt, tier: tier), [Self.a, Self.b, Self.a])
        #expect(out == reference)
        // A's block 0 is stored, block 1 finds the file full and is dropped; A again reads block 0
        // back and recomputes the rest.
        #expect(tier.metrics.droppedSwapFull >= 1 && tier.metrics.fields.first { $0.0 == "swap_outs" }!.1 >= 1)
        #expect(tier.metrics.ssdHits == 1 && tier.metrics.reusedTokens == 16 && tier.metrics.recomputedTokens == 16)
        #expect(tier.metrics.prefilledTokens == 40 + 40 + 24)
        #expect(tier.fallbackReasons.contains { $0.contains("swap file full") })

        // Every read fails: the run survives, with the same tokens.
        let rt2 = runtime(model, blocks: 5)
        let tier2 = try KVTiers.make(memory: rt2.cache, swap: KVSwapConfiguration(path: dir.file("kv2.swap"), size: 16 << 20), resume: .swap)
        tier2.swapFile!.faultHook = { kind, _ in kind == .read ? .error(EIO) : nil }
        let out2 = try runSequentially(BatchScheduler(runtime: rt2, tier: tier2), [Self.a, Self.b, Self.a])
        #expect(out2 == reference)
        #expect(tier2.metrics.readErrors >= 1 && tier2.metrics.ssdHits == 0)
        #expect(tier2.metrics.prefilledTokens == 120)
    }
}
