import ArgumentParser
import Foundation
import TierInfer
import TierKV

/// `tierkit infer`: generate a continuation of a prompt with the built-in runtime.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Generate text from a prompt with the built-in llama runtime (GGUF, CPU).",
        discussion: """
            Tokenizes PROMPT with the model's own tokenizer (--chat wraps it in the chat template \
            as a user message), prefills it in one batch and decodes until an end-of-generation \
            token or --max-tokens. Greedy unless --temperature is above 0; --top-k, --top-p and \
            --seed shape sampling. The text streams to standard output; --json prints one object \
            with the token ids, the text and the prefill and decode speeds instead.

            Several --prompt options run one after another through one KV cache. The --kv-* \
            options turn on the KV tier: a DRAM budget for KV blocks, a swap file on io_uring, \
            prefix reuse across prompts; its metrics go to standard error (or into the JSON).
              tierkit infer --model M --kv-budget 2MiB --kv-swap /var/tmp/kv.swap \\
                --prompt "A long shared prefix ..." --prompt "Something else" --prompt "A long shared prefix ..."
            """
    )

    @Option(help: "The GGUF model file (default: $TIERKIT_MODEL).")
    var model: String?

    @Option(help: "The prompt text (repeat to run several prompts in turn).")
    var prompt: [String]

    @Option(help: "Most tokens to generate.")
    var maxTokens: Int = 128

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0

    @Option(help: "Sample among the K most likely tokens (0: all).")
    var topK: Int = 0

    @Option(help: "Sample among the most likely tokens whose probability reaches P.")
    var topP: Float = 1

    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0

    @Flag(help: "Wrap the prompt in the model's chat template as a user message.")
    var chat = false

    @Option(help: "Compute threads (default: all processors).")
    var threads: Int?

    @Flag(help: "Print one JSON object (per prompt) instead of streaming text.")
    var json = false

    @OptionGroup(title: "KV-cache tier") var kv: KVTierOptions

    func validate() throws {
        if prompt.isEmpty { throw ValidationError("give --prompt TEXT") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if temperature < 0 { throw ValidationError("--temperature must not be negative") }
        if topK < 0 { throw ValidationError("--top-k must not be negative") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        guard let path = model ?? ProcessInfo.processInfo.environment["TIERKIT_MODEL"] else {
            throw ValidationError("give --model PATH (or set TIERKIT_MODEL); tools/fetch-model downloads the default model")
        }
        let (file, tokenizer) = try reportingGGUFErrors { () throws(GGUFError) in
            let file = try GGUFFile(path: path)
            return (file, try Tokenizer(gguf: file))
        }
        let template = chat ? try reportingGGUFErrors { () throws(GGUFError) in try ChatTemplate(gguf: file) } : nil
        let prompts = try prompt.map { text -> [Int32] in
            let ids = tokenizer.encode(template?.render([.user(text)]) ?? text)
            guard !ids.isEmpty else { throw ValidationError("the prompt '\(text)' has no tokens") }
            return ids
        }
        let llama = try LlamaModel(gguf: file)
        let length = prompts.map(\.count).max()! + maxTokens
        let needed = (length + 15) / 16
        let c = llama.config
        let blocks = try kv.poolBlocks(bytesPerBlock: c.layers * 2 * c.kvHeads * 16 * c.headDim * 2, needed: needed, unconstrained: needed)
        let runtime = LlamaRuntime(
            model: llama, threads: threads ?? ComputePool.processorCount, maxBatchTokens: min(512, max(prompts.map(\.count).max()!, 1)),
            maxLogitRows: 1, maxSequences: 1, kvBlocks: blocks, maxLength: length)
        let tier = try kv.makeTier(cache: runtime.cache)
        let scheduler = BatchScheduler(runtime: runtime, tier: tier)
        scheduler.preemptive = kv.kvPreempt
        for (n, ids) in prompts.enumerated() {
            if n > 0 && !json { FileHandle.standardOutput.write(Data("\n".utf8)) }
            try generate(ids, scheduler: scheduler, tokenizer: tokenizer, tier: tier)
        }
        if let tier, !json {
            FileHandle.standardError.write(Data("tierkit: KV tier \(tier.label), \(blocks) blocks of DRAM:\n\(tier.metrics.text)\n".utf8))
        }
    }

    private func generate(_ ids: [Int32], scheduler: BatchScheduler, tokenizer: Tokenizer, tier: (any KVBlockTier)?) throws {
        _ = try scheduler.submit(GenerationRequest(
            prompt: ids, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed),
            stopTokens: Array(tokenizer.endOfGenerationIDs)))

        var generated: [Int32] = []
        var printed = ""
        let start = ContinuousClock.now
        var firstToken: ContinuousClock.Instant?
        while !scheduler.isIdle {
            for event in try scheduler.step() {
                guard case .token(_, let token) = event else { continue }
                if firstToken == nil { firstToken = .now }
                generated.append(token)
                if !json && !tokenizer.isEndOfGeneration(token) {
                    let decoded = tokenizer.decode(generated, includeSpecial: false)
                    // Hold back an incomplete UTF-8 sequence until its last byte arrives.
                    if !decoded.hasSuffix("\u{FFFD}"), decoded.hasPrefix(printed) {
                        FileHandle.standardOutput.write(Data(decoded.dropFirst(printed.count).utf8))
                        printed = decoded
                    }
                }
            }
        }
        let end = ContinuousClock.now
        let prefill = seconds(firstToken! - start)
        let decode = seconds(end - firstToken!)
        let prefillRate = Double(ids.count) / prefill
        let decodeRate = generated.count > 1 ? Double(generated.count - 1) / decode : 0
        if json {
            var object: [String: Any] = [
                "prompt_tokens": ids.map(Int.init), "tokens": generated.map(Int.init),
                "text": tokenizer.decode(generated, includeSpecial: false),
                "prefill_tok_s": (prefillRate * 10).rounded() / 10, "decode_tok_s": (decodeRate * 10).rounded() / 10,
            ]
            if let tier { object["kv"] = tier.metrics.dictionary }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            // Unbuffered like the streamed text, so the line ends before the figures on stderr.
            FileHandle.standardOutput.write(Data("\n".utf8))
            FileHandle.standardError.write(Data(String(
                format: "tierkit: %d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s\n",
                ids.count, prefillRate, generated.count, decodeRate).utf8))
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
