import ArgumentParser
import Foundation
import TierCore
import TierInfer

/// `tierkit bench infer`: prefill and decode throughput of the built-in runtime, as llama-bench
/// measures them (pp: one batch of prompt tokens; tg: tokens generated one by one), optionally
/// alternating with llama.cpp's `llama-bench` on the same model in the same invocation.
struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Measure prefill and decode tokens/s of the inference runtime (and llama.cpp's); print JSON.",
        discussion: """
            Each round runs every test once; the figures are medians over --repeat rounds. With \
            --llama-bench PATH each round also runs llama.cpp's llama-bench on the same model and \
            threads (pp of --prompt-tokens, tg of --gen-tokens, and tg of 32 at depth \
            --long-context), alternating with this runtime, and the JSON carries both sides and \
            the ratios (this runtime / llama.cpp).
            """
    )

    @Option(help: "Path of the GGUF model.")
    var model: String

    @Option(help: "Prompt tokens processed in one batch (prefill test).")
    var promptTokens: Int = 512

    @Option(help: "Tokens generated one at a time (decode test).")
    var genTokens: Int = 128

    @Option(help: "Sequences decoding together in the batched decode test.")
    var batch: Int = 8

    @Option(help: "Context length of the long-context decode test (prefilled in chunks; 0 skips it).")
    var longContext: Int = 4096

    @Option(help: "Compute threads.")
    var threads: Int = 2

    @Option(help: "Rounds of every test; medians are reported.")
    var `repeat`: Int = 3

    @Option(help: "llama.cpp's llama-bench binary, run alternately with this runtime in every round.")
    var llamaBench: String?

    @Flag(help: "Also time the forward pass by phase (one prefill and one decode run) and print microseconds per token.")
    var profile = false

    private static let longDecode = 32

    func validate() throws {
        if promptTokens < 1 || genTokens < 1 || batch < 1 || threads < 1 || `repeat` < 1 || longContext < 0 {
            throw ValidationError("--prompt-tokens, --gen-tokens, --batch, --threads and --repeat must be at least 1; --long-context at least 0")
        }
        if let path = llamaBench, access(path, X_OK) != 0 {
            throw ValidationError("--llama-bench \(path): not an executable file")
        }
    }

    func run() throws {
        let (_, loaded) = try loadModel(path: model)
        let runtime = LlamaRuntime(
            model: loaded, threads: threads, maxBatchTokens: max(promptTokens, batch), maxLogitRows: max(1, batch),
            maxSequences: max(1, batch),
            kvBlocks: max(max(1, batch) * ((promptTokens + genTokens) / 16 + 2), (longContext + Self.longDecode) / 16 + 2),
            maxLength: max(promptTokens + genTokens, longContext + Self.longDecode) + 16)
        var ours = Samples(), theirs = Samples()
        var llamaPeak: Int64 = 0
        for _ in 0..<`repeat` {
            try measure(runtime, into: &ours)
            if let path = llamaBench {
                llamaPeak = max(llamaPeak, try measureLlamaCpp(path, into: &theirs))
            }
        }
        let profileJSON = profile ? try profiled(runtime) : ""
        let peak = peakResidentBytes()
        let l = longContext
        var json = """
            {"threads": \(threads), "rounds": \(`repeat`), "prompt_tokens": \(promptTokens), \
            "prefill_tokens_per_second": \(rounded(median(ours.prefill))), \
            "decode_tokens": \(genTokens), "decode_tokens_per_second": \(rounded(median(ours.decode))), \
            "long_context": \(l), "decode_tokens_per_second_at_\(l)": \(rounded(ours.long.isEmpty ? 0 : median(ours.long))), \
            "batch": \(batch), "batch\(batch)_decode_tokens_per_second": \(rounded(median(ours.batched))), \
            "peak_rss_bytes": \(peak)
            """
        if let path = llamaBench {
            func ratio(_ a: [Double], _ b: [Double]) -> Double {
                guard !a.isEmpty, !b.isEmpty, median(b) > 0 else { return 0 }
                return (median(a) / median(b) * 100).rounded() / 100
            }
            json += """
                , "llama_cpp": {"llama_bench": "\(path)", "prefill_tokens_per_second": \(rounded(median(theirs.prefill))), \
                "decode_tokens_per_second": \(rounded(median(theirs.decode))), \
                "decode_tokens_per_second_at_\(l)": \(rounded(theirs.long.isEmpty ? 0 : median(theirs.long))), \
                "peak_rss_bytes": \(llamaPeak)}, \
                "ratio": {"prefill": \(ratio(ours.prefill, theirs.prefill)), "decode": \(ratio(ours.decode, theirs.decode)), \
                "decode_at_\(l)": \(ratio(ours.long, theirs.long)), \
                "peak_rss": \(llamaPeak > 0 ? (Double(peak) / Double(llamaPeak) * 100).rounded() / 100 : 0)}, \
                "samples": {"prefill": \(ours.prefill.map(rounded)), "decode": \(ours.decode.map(rounded)), \
                "llama_cpp_prefill": \(theirs.prefill.map(rounded)), "llama_cpp_decode": \(theirs.decode.map(rounded))}
                """
        }
        print(json + profileJSON + "}")
    }

    /// Tokens/s of each test, one value per round.
    private struct Samples {
        var prefill: [Double] = []
        var decode: [Double] = []
        var long: [Double] = []
        var batched: [Double] = []
    }

    /// One round of this runtime's tests.
    private func measure(_ runtime: LlamaRuntime, into samples: inout Samples) throws {
        let cache = runtime.cache
        var step = StepBatch()
        let slot = cache.openSequence()!
        for p in 0..<promptTokens { step.append(token: Int32(100 + p % 1000), slot: slot, position: p, logits: p == promptTokens - 1) }
        var start = ContinuousClock.now
        try runtime.forward(step)
        samples.prefill.append(Double(promptTokens) / seconds(since: start))
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
        samples.decode.append(Double(genTokens) / seconds(since: start))
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
        samples.batched.append(Double(genTokens * batch) / seconds(since: start))
        for s in slots { cache.closeSequence(s) }

        // Decode with a long context: prefill it in prompt-sized chunks, then time decoding.
        guard longContext > 0 else { return }
        let long = cache.openSequence()!
        var position = 0
        while position < longContext {
            step.removeAll()
            let end = min(longContext, position + promptTokens)
            for p in position..<end { step.append(token: Int32(100 + p % 1000), slot: long, position: p, logits: p == end - 1) }
            try runtime.forward(step)
            position = end
        }
        token = 1
        start = ContinuousClock.now
        for p in longContext..<longContext + Self.longDecode {
            step.removeAll()
            step.append(token: token, slot: long, position: p, logits: true)
            try runtime.forward(step)
            token = Sampler.argmax(runtime.logits(row: 0))
        }
        samples.long.append(Double(Self.longDecode) / seconds(since: start))
        cache.closeSequence(long)
    }

    /// One round of llama-bench: pp and tg, then tg at depth; returns its peak RSS.
    private func measureLlamaCpp(_ path: String, into samples: inout Samples) throws -> Int64 {
        let common = ["-m", model, "-t", String(threads), "-r", "1", "-o", "json"]
        let first = try runMeasured(path, common + ["-p", String(promptTokens), "-n", String(genTokens)], discardStderr: true)
        var peak = first.peakResidentBytes
        for result in try llamaResults(first, path) {
            if result.prompt > 0 { samples.prefill.append(result.speed) } else { samples.decode.append(result.speed) }
        }
        if longContext > 0 {
            let deep = try runMeasured(path, common + ["-p", "0", "-n", String(Self.longDecode), "-d", String(longContext)],
                                       discardStderr: true)
            peak = max(peak, deep.peakResidentBytes)
            samples.long.append(contentsOf: try llamaResults(deep, path).map(\.speed))
        }
        return peak
    }

    /// The tests of llama-bench's JSON output: prompt tokens and mean tokens/s of each.
    private func llamaResults(_ run: MeasuredRun, _ path: String) throws -> [(prompt: Int, speed: Double)] {
        guard run.status == 0 else { throw ValidationError("\(path) exited with status \(run.status)") }
        guard let rows = (try? JSONSerialization.jsonObject(with: Data(run.output.utf8))) as? [[String: Any]], !rows.isEmpty else {
            throw ValidationError("\(path): expected a JSON array of results (-o json), got: \(run.output.prefix(200))")
        }
        return try rows.map { row in
            guard let prompt = row["n_prompt"] as? Int, let speed = row["avg_ts"] as? Double else {
                throw ValidationError("\(path): a result lacks n_prompt or avg_ts")
            }
            return (prompt, speed)
        }
    }

    /// Phase times of one prefill and one decode run, as a JSON member.
    private func profiled(_ runtime: LlamaRuntime) throws -> String {
        let cache = runtime.cache
        var step = StepBatch()
        runtime.profile = PhaseProfile()
        let slot = cache.openSequence()!
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
        return ", \"profile_us_per_token\": {\"prefill\": {\(perToken(prefillProfile, promptTokens))}, " +
            "\"decode\": {\(perToken(decodeProfile, genTokens))}}"
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func rounded(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}
