import ArgumentParser
import Foundation
import Logging
import TierInfer
import TierServe

/// `tierkit serve`: the OpenAI-compatible HTTP server over the built-in runtime.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a GGUF model over an OpenAI-compatible HTTP API (completions, chat, streaming).",
        discussion: """
            POST /v1/completions and /v1/chat/completions (max_tokens, temperature, top_p, top_k, \
            seed, stop, stream), GET /v1/models. Concurrent requests decode together in one batch \
            (up to --parallel sequences); others wait for a free sequence. Listens on loopback \
            unless --host says otherwise. GET /metrics exports the server's counters and the KV \
            tier's metrics in Prometheus text format.

            The --kv-* options turn on the KV tier as for `tierkit infer`: --kv-budget sizes the \
            DRAM block pool (at least one --context worth), evicted blocks go to the --kv-swap \
            file, and requests sharing a prefix (a system prompt) reuse its cached blocks across \
            HTTP requests. --kv-preempt lets requests in when their prompt fits and preempts the \
            newest sequence when blocks run short.

            Example:
              tierkit serve --model ~/.cache/tierkit/models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080
              curl -s localhost:8080/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 32}'
              tierkit serve --model M --context 512 --kv-budget 12MiB --kv-swap /var/tmp/kv.swap --kv-swap-size 256MiB
              curl -s localhost:8080/metrics
            """
    )

    @Option(help: "The GGUF model file (default: $TIERKIT_MODEL).")
    var model: String?

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0: any free port, printed at start).")
    var port = 8080

    @Option(help: "Sequences decoding together at most.")
    var parallel = 4

    @Option(help: "Context length per sequence, prompt and completion together, in tokens.")
    var context = 2048

    @Option(help: "Compute threads (default: all processors).")
    var threads: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @OptionGroup(title: "KV-cache tier") var kv: KVTierOptions

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if context < 16 { throw ValidationError("--context must be at least 16") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
    }

    func run() async throws {
        guard let path = model ?? ProcessInfo.processInfo.environment["TIERKIT_MODEL"] else {
            throw ValidationError("give --model PATH (or set TIERKIT_MODEL); tools/fetch-model downloads the default model")
        }
        let (file, tokenizer, template) = try reportingGGUFErrors { () throws(GGUFError) in
            let file = try GGUFFile(path: path)
            return (file, try Tokenizer(gguf: file), try? ChatTemplate(gguf: file))
        }
        let llama = try LlamaModel(gguf: file)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "tierkit.serve")
        let c = llama.config
        let length = min(context, c.contextLength)
        let perSequence = (length + 15) / 16
        let blocks = try kv.poolBlocks(bytesPerBlock: c.layers * 2 * c.kvHeads * 16 * c.headDim * 2, needed: perSequence,
                                       unconstrained: parallel * perSequence)
        let engine = try InferenceEngine(
            model: llama, tokenizer: tokenizer, chatTemplate: template,
            configuration: EngineConfiguration(threads: threads ?? ComputePool.processorCount, maxSequences: parallel, contextLength: context,
                                               kvBlocks: blocks, preemptive: kv.kvPreempt),
            tier: { try kv.makeTier(cache: $0) })
        defer { engine.shutdown() }
        let modelID = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let server = OpenAIServer(engine: engine, modelID: modelID)
        let app = server.application(host: host, port: port, logger: logger) { bound in
            logger.notice("serving \(modelID) on http://\(host):\(bound)/v1 (\(parallel) sequences of \(engine.contextLength) tokens, \(blocks) KV blocks\(kv.enabled ? ", KV tier" : ""))")
        }
        try await app.runService()
    }
}
