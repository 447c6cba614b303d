import Foundation
import Hummingbird
import Logging
import NIOCore
import TierInfer

/// The OpenAI-compatible HTTP API over an `InferenceEngine`: `POST /v1/completions`,
/// `POST /v1/chat/completions` (whole JSON responses, or server-sent events with
/// `"stream": true`), `GET /v1/models`, and `GET /metrics` (Prometheus text: the engine's
/// counters and its KV tier's metrics).
///
/// Every request's tokens run through the engine's one scheduler, so concurrent requests share
/// forward steps. Bad requests get a 400 whose JSON error names the field.
public struct OpenAIServer: Sendable {
    public let engine: InferenceEngine
    /// The model id reported by `/v1/models` and in responses.
    public let modelID: String
    /// Largest request body accepted, in bytes.
    public let maxBodyBytes: Int
    private let created: Int64

    public init(engine: InferenceEngine, modelID: String, maxBodyBytes: Int = 4 << 20) {
        self.engine = engine
        self.modelID = modelID
        self.maxBodyBytes = maxBodyBytes
        created = Int64(Date().timeIntervalSince1970)
    }

    /// The routes.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/models") { _, _ in self.models() }
        router.post("/v1/completions") { request, _ in await self.complete(request, chat: false) }
        router.post("/v1/chat/completions") { request, _ in await self.complete(request, chat: true) }
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.get("/metrics") { _, _ in self.metrics() }
        return router
    }

    /// An application serving the routes on `host:port` (port 0: any free port);
    /// `onRunning` receives the bound port once the server accepts connections.
    public func application(
        host: String, port: Int, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "tierkit"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    // MARK: Endpoints

    private func models() -> Response {
        Self.json(["object": "list", "data": [
            ["id": .string(modelID), "object": "model", "created": .integer(created), "owned_by": "tierkit"],
        ]])
    }

    private func metrics() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = PrometheusText.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: PrometheusText.render(engine.metrics))))
    }

    /// A prompt ready to run.
    private struct Prepared {
        var parameters: CompletionParameters
        var request: GenerationRequest
        var chat: Bool
        var id: String
        var created: Int64
    }

    private func complete(_ request: Request, chat: Bool) async -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            return Self.error(RequestError(status: 413, "request body exceeds \(maxBodyBytes) bytes"))
        }
        let prepared: Prepared
        do {
            let parameters = try CompletionParameters.parse(Array(buffer: body), chat: chat)
            prepared = try prepare(parameters, chat: chat)
        } catch {
            return Self.error(error)
        }
        return prepared.parameters.stream ? stream(prepared) : await whole(prepared)
    }

    private func prepare(_ p: CompletionParameters, chat: Bool) throws(RequestError) -> Prepared {
        let tokenizer = engine.tokenizer
        let ids: [Int32]
        let field: String
        switch p.kind {
        case .completion(.text(let text)):
            ids = tokenizer.encode(text)
            field = "prompt"
        case .completion(.tokens(let tokens)):
            if let i = tokens.firstIndex(where: { !tokenizer.isValid($0) }) {
                throw RequestError(field: "prompt", "field 'prompt': token id \(tokens[i]) at index \(i) is outside the vocabulary of \(tokenizer.vocabularyCount)")
            }
            ids = tokens
            field = "prompt"
        case .chat(let messages):
            guard let template = engine.chatTemplate else {
                throw RequestError(field: "messages", "this model has no chat template; use /v1/completions")
            }
            ids = tokenizer.encode(template.render(messages))
            field = "messages"
        }
        guard !ids.isEmpty else { throw RequestError(field: field, "field '\(field)' has no tokens") }
        let limit = engine.contextLength
        guard ids.count < limit else {
            throw RequestError(field: field, "field '\(field)' has \(ids.count) tokens; the context holds \(limit), prompt and completion together")
        }
        let maxTokens = p.maxTokens ?? (limit - ids.count)
        guard ids.count + maxTokens <= limit else {
            throw RequestError(field: "max_tokens", "field 'max_tokens' (\(maxTokens)) plus the prompt's \(ids.count) tokens exceeds the context of \(limit) tokens")
        }
        let request = GenerationRequest(
            prompt: ids, maxTokens: maxTokens, sampling: p.sampling(defaultSeed: UInt64.random(in: 0...UInt64.max)),
            stopTokens: Array(tokenizer.endOfGenerationIDs))
        let id = (chat ? "chatcmpl-" : "cmpl-") + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return Prepared(parameters: p, request: request, chat: chat, id: id, created: Int64(Date().timeIntervalSince1970))
    }

    /// Runs `p` to its end and answers with one JSON object.
    private func whole(_ p: Prepared) async -> Response {
        let generation = engine.generate(p.request)
        var assembler = TextAssembler(tokenizer: engine.tokenizer, stops: p.parameters.stop)
        var text = ""
        var tokens: [Int32] = []
        var finish = "length"
        loop: for await event in generation.events {
            switch event {
            case .token(let token):
                tokens.append(token)
                text += assembler.append(token)
                if assembler.stopped {
                    engine.cancel(generation.ticket)
                    finish = "stop"
                    break loop
                }
            case .finished:
                text += assembler.finish()
                finish = endsWithStopToken(tokens) ? "stop" : "length"
            case .failed(let message):
                return Self.error(RequestError(status: 500, "generation failed: \(message)"))
            }
        }
        if Task.isCancelled { engine.cancel(generation.ticket) }
        var choice: [String: JSONValue] = ["index": 0, "finish_reason": .string(finish)]
        if p.chat {
            choice["message"] = ["role": "assistant", "content": .string(text)]
        } else {
            choice["text"] = .string(text)
            choice["logprobs"] = nil
        }
        if p.parameters.returnTokens { choice["tokens"] = .array(tokens.map { .integer(Int64($0)) }) }
        var object = header(p, object: p.chat ? "chat.completion" : "text_completion")
        object["choices"] = [.object(choice)]
        object["usage"] = usage(prompt: p.request.prompt.count, completion: tokens.count)
        return Self.json(.object(object))
    }

    /// Runs `p`, sending each piece of text as a server-sent event as soon as it is known.
    private func stream(_ p: Prepared) -> Response {
        let engine = engine
        let server = self
        let body = ResponseBody { writer in
            let generation = engine.generate(p.request)
            var done = false
            // The client went away or the write failed: stop generating for it.
            defer { if !done { engine.cancel(generation.ticket) } }
            var assembler = TextAssembler(tokenizer: engine.tokenizer, stops: p.parameters.stop)
            var tokens: [Int32] = []
            var finish: String?
            if p.chat {
                try await writer.write(server.event(server.chunk(p, delta: "", role: true, finish: nil)))
            }
            loop: for await event in generation.events {
                var delta = ""
                switch event {
                case .token(let token):
                    tokens.append(token)
                    delta = assembler.append(token)
                    if assembler.stopped {
                        engine.cancel(generation.ticket)
                        finish = "stop"
                    }
                case .finished:
                    delta = assembler.finish()
                    finish = server.endsWithStopToken(tokens) ? "stop" : "length"
                case .failed(let message):
                    let error = RequestError(status: 500, "generation failed: \(message)")
                    try await writer.write(server.event(Self.errorObject(error)))
                    finish = nil
                    break loop
                }
                if !delta.isEmpty {
                    try await writer.write(server.event(server.chunk(p, delta: delta, role: false, finish: nil)))
                }
                if let finish {
                    try await writer.write(server.event(server.chunk(p, delta: "", role: false, finish: finish)))
                    break loop
                }
            }
            done = true
            if p.parameters.streamUsage {
                var object = server.header(p, object: p.chat ? "chat.completion.chunk" : "text_completion")
                object["choices"] = []
                object["usage"] = server.usage(prompt: p.request.prompt.count, completion: tokens.count)
                try await writer.write(server.event(.object(object)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: body)
    }

    // MARK: Pieces

    private func endsWithStopToken(_ tokens: [Int32]) -> Bool {
        tokens.last.map { engine.tokenizer.isEndOfGeneration($0) } ?? false
    }

    private func header(_ p: Prepared, object: String) -> [String: JSONValue] {
        ["id": .string(p.id), "object": .string(object), "created": .integer(p.created), "model": .string(modelID)]
    }

    private func usage(prompt: Int, completion: Int) -> JSONValue {
        ["prompt_tokens": .integer(Int64(prompt)), "completion_tokens": .integer(Int64(completion)),
         "total_tokens": .integer(Int64(prompt + completion))]
    }

    /// One streamed chunk: `text` of a completion, or a chat `delta`.
    private func chunk(_ p: Prepared, delta: String, role: Bool, finish: String?) -> JSONValue {
        var choice: [String: JSONValue] = ["index": 0, "finish_reason": finish.map { .string($0) } ?? .null]
        if p.chat {
            var d: [String: JSONValue] = [:]
            if role { d["role"] = "assistant" }
            if !delta.isEmpty || role { d["content"] = .string(delta) }
            choice["delta"] = .object(d)
        } else {
            choice["text"] = .string(delta)
            choice["logprobs"] = nil
        }
        var object = header(p, object: p.chat ? "chat.completion.chunk" : "text_completion")
        object["choices"] = [.object(choice)]
        return .object(object)
    }

    private func event(_ value: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(Self.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }

    static func encode(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: it holds only JSON types (non-finite numbers aside,
        // which the server never produces).
        return (try? encoder.encode(value)) ?? Data("null".utf8)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: encode(value))))
    }

    static func errorObject(_ e: RequestError) -> JSONValue {
        ["error": ["message": .string(e.message), "type": e.status < 500 ? "invalid_request_error" : "server_error",
                   "param": e.field.map { .string($0) } ?? .null, "code": .null]]
    }

    static func error(_ e: RequestError) -> Response {
        json(errorObject(e), status: HTTPResponse.Status(code: e.status))
    }
}
