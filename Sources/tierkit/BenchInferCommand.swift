import ArgumentParser
import TierCore
import TierInfer

/// `tierkit bench infer`: prefill and decode throughput of the built-in runtime, as llama-bench
/// measures them (pp: one batch of prompt tokens; tg: tokens generated one by one).
struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Measure prefill and decode tokens/s of the inference runtime; print JSON."
    )

    @Option(help: "Path of the GGUF model.")
    var model: String

    @Option(help: "Prompt tokens processed in one batch (prefill test).")
    var promptTokens: Int = 512

    @Option(help: "Tokens generated one at a time (decode test).")
    var genTokens: Int = 128

    @Option(help: "Sequences decoding together in the batched decode test.")
    var batch: Int = 8

    @Option(help: "Context length of the long-context decode test (prefilled in chunks, measured once).")
    var longContext: Int = 4096

    @Option(help: "Compute threads.")
    var threads: Int = 2

    @Option(help: "Runs of each test; the best is reported.")
    var `repeat`: Int = 3

    @Flag(help: "Also time the forward pass by phase (one prefill and one decode run) and print microseconds per token.")
    var profile = false

    func run() throws {
        let (_, loaded) = try loadModel(path: model)
        let longDecode = 32
        let runtime = LlamaRuntime(
            model: loaded, threads: threads, maxBatchTokens: max(promptTokens, batch), maxLogitRows: max(1, batch),
            maxSequences: max(1, batch),
            kvBlocks: max(max(1, batch) * ((promptTokens + genTokens) / 16 + 2), (longContext + longDecode) / 16 + 2),
            maxLength: max(promptTokens + genTokens, longContext + longDecode) + 16)
        let cache = runtime.cache
        var prefill = 0.0, decode = 0.0, batched = 0.0
        var step = StepBatch()
        for _ in 0..<max(1, `repeat`) {
            let slot = cache.openSequence()!
            step.removeAll()
            for p in 0..<promptTokens { step.append(token: Int32(100 + p % 1000), slot: slot, position: p, logits: p == promptTokens - 1) }
            var start = ContinuousClock.now
            try runtime.forward(step)
            prefill = max(prefill, Double(promptTokens) / seconds(since: start))
            cache.closeSequence(slot)

            let single = cache.openSequence()!
            var token: Int32 = 1
            start = ContinuousClock.now
            for p in 0..<genTokens {
                step.removeAll()
                step.append(token: token, slot: single, position: p, logits: true)
                try runtime.forward(step)
                token = Sampler.argmax(runtime.logits(row: 0))
            }
            decode = max(decode, Double(genTokens) / seconds(since: start))
            cache.closeSequence(single)

            let slots = (0..<batch).map { _ in cache.openSequence()! }
            var tokens = [Int32](repeating: 1, count: batch)
            start = ContinuousClock.now
            for p in 0..<genTokens {
                step.removeAll()
                for (i, s) in slots.enumerated() { step.append(token: tokens[i], slot: s, position: p, logits: true) }
                try runtime.forward(step)
                for i in 0..<batch { tokens[i] = Sampler.argmax(runtime.logits(row: i)) }
            }
            batched = max(batched, Double(genTokens * batch) / seconds(since: start))
            for s in slots { cache.closeSequence(s) }
        }
        // Decode speed with a long context: prefill it in prompt-sized chunks, then time decoding.
        var longDecodeSpeed = 0.0
        if longContext > 0 {
            let slot = cache.openSequence()!
            var position = 0
            while position < longContext {
                step.removeAll()
                let end = min(longContext, position + promptTokens)
                for p in position..<end { step.append(token: Int32(100 + p % 1000), slot: slot, position: p, logits: p == end - 1) }
                try runtime.forward(step)
                position = end
            }
            var token: Int32 = 1
            let start = ContinuousClock.now
            for p in longContext..<longContext + longDecode {
                step.removeAll()
                step.append(token: token, slot: slot, position: p, logits: true)
                try runtime.forward(step)
                token = Sampler.argmax(runtime.logits(row: 0))
            }
            longDecodeSpeed = Double(longDecode) / seconds(since: start)
            cache.closeSequence(slot)
        }
        var profileJSON = ""
        if profile {
            runtime.profile = PhaseProfile()
            let slot = cache.openSequence()!
            step.removeAll()
            for p in 0..<promptTokens { step.append(token: Int32(100 + p % 1000), slot: slot, position: p, logits: p == promptTokens - 1) }
            try runtime.forward(step)
            cache.closeSequence(slot)
            let prefillProfile = runtime.profile!
            runtime.profile = PhaseProfile()
            let single = cache.openSequence()!
            var token: Int32 = 1
            for p in 0..<genTokens {
                step.removeAll()
                step.append(token: token, slot: single, position: p, logits: true)
                try runtime.forward(step)
                token = Sampler.argmax(runtime.logits(row: 0))
            }
            cache.closeSequence(single)
            let decodeProfile = runtime.profile!
            runtime.profile = nil
            func perToken(_ p: PhaseProfile, _ tokens: Int) -> String {
                zip(PhaseProfile.names, p.nanoseconds).map { "\"\($0)\": \(rounded(Double($1) / 1000 / Double(tokens)))" }
                    .joined(separator: ", ")
            }
            profileJSON = ", \"profile_us_per_token\": {\"prefill\": {\(perToken(prefillProfile, promptTokens))}, " +
                "\"decode\": {\(perToken(decodeProfile, genTokens))}}"
        }
        print("""
        {"threads": \(threads), "prompt_tokens": \(promptTokens), "prefill_tokens_per_second": \(rounded(prefill)), \
        "decode_tokens": \(genTokens), "decode_tokens_per_second": \(rounded(decode)), \
        "long_context": \(longContext), "decode_tokens_per_second_at_\(longContext)": \(rounded(longDecodeSpeed)), \
        "batch": \(batch), "batch\(batch)_decode_tokens_per_second": \(rounded(batched)), \
        "peak_rss_bytes": \(peakResidentBytes())\(profileJSON)}
        """)
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func rounded(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}
