/// A generation request: prompt token ids and how to continue them.
public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation ends after producing one of these tokens (it is reported).
    public var stopTokens: [Int32]

    public init(prompt: [Int32], maxTokens: Int, sampling: SamplingParameters = .greedy, stopTokens: [Int32] = []) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
    }
}

/// What a scheduler step produced for one request.
public enum GenerationEvent: Sendable, Equatable {
    /// Request `id` generated `token`.
    case token(id: Int, token: Int32)
    /// Request `id` ended: it produced a stop token or reached its token limit.
    case finished(id: Int)
}

/// Continuous batching: every step runs the next token of every decoding sequence together with
/// chunks of newly admitted prompts, in one forward pass; requests join between steps as slots
/// and KV blocks allow, and leave (freeing their blocks) as soon as they finish.
public final class BatchScheduler {
    public let runtime: LlamaRuntime

    private struct Sequence {
        var id: Int
        var request: GenerationRequest
        var slot: Int
        var sampler: Sampler
        var prefilled = 0
        var generated: [Int32] = []
    }

    private var waiting: [(id: Int, request: GenerationRequest)] = []
    private var waitingHead = 0
    private var active: [Sequence] = []
    private var batch = StepBatch()
    private var logitOwners: [Int] = []
    private var nextID = 0

    public init(runtime: LlamaRuntime) {
        self.runtime = runtime
    }

    /// Queues a request and returns its id.
    public func submit(_ request: GenerationRequest) throws(InferError) -> Int {
        guard !request.prompt.isEmpty else { throw .invalidRequest("empty prompt") }
        guard request.maxTokens > 0 else { throw .invalidRequest("maxTokens must be at least 1") }
        let limit = runtime.cache.maxLength
        guard request.prompt.count + request.maxTokens <= limit else {
            throw .contextOverflow(length: request.prompt.count + request.maxTokens, limit: limit)
        }
        let id = nextID
        nextID += 1
        waiting.append((id, request))
        return id
    }

    /// True when no request is waiting or running.
    public var isIdle: Bool { active.isEmpty && waitingHead == waiting.count }

    /// Number of sequences decoding or prefilling.
    public var activeCount: Int { active.count }

    /// Admits what fits, runs one forward step and samples; returns the step's events.
    public func step() throws(InferError) -> [GenerationEvent] {
        let cache = runtime.cache
        // Admit requests while a slot is free and the pool can hold the whole request.
        var reserved = 0
        for s in active {
            reserved += cache.blocksNeeded(slot: s.slot, length: s.request.prompt.count + s.request.maxTokens)
        }
        while waitingHead < waiting.count {
            let (id, request) = waiting[waitingHead]
            let blocks = (request.prompt.count + request.maxTokens + cache.blockSize - 1) / cache.blockSize
            guard cache.freeBlockCount - reserved >= blocks, let slot = cache.openSequence() else { break }
            reserved += blocks
            active.append(Sequence(id: id, request: request, slot: slot, sampler: Sampler(request.sampling)))
            waitingHead += 1
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        guard !active.isEmpty else { return [] }

        batch.removeAll()
        logitOwners.removeAll(keepingCapacity: true)
        var budget = runtime.maxBatchTokens
        // Decoding sequences first: one token each.
        for (i, s) in active.enumerated() where s.prefilled == s.request.prompt.count && budget > 0 {
            batch.append(token: s.generated.last!, slot: s.slot, position: s.request.prompt.count + s.generated.count - 1, logits: true)
            logitOwners.append(i)
            budget -= 1
        }
        // Then prompt chunks.
        for i in active.indices where active[i].prefilled < active[i].request.prompt.count && budget > 0 {
            let prompt = active[i].request.prompt
            let start = active[i].prefilled
            let end = min(prompt.count, start + budget)
            for p in start..<end {
                let last = p == prompt.count - 1
                batch.append(token: prompt[p], slot: active[i].slot, position: p, logits: last)
                if last { logitOwners.append(i) }
            }
            active[i].prefilled = end
            budget -= end - start
        }
        try runtime.forward(batch)

        var events: [GenerationEvent] = []
        var finished: [Int] = []
        for (row, i) in logitOwners.enumerated() {
            let token = active[i].sampler.sample(runtime.logits(row: row))
            active[i].generated.append(token)
            events.append(.token(id: active[i].id, token: token))
            if active[i].request.stopTokens.contains(token) || active[i].generated.count >= active[i].request.maxTokens {
                events.append(.finished(id: active[i].id))
                finished.append(i)
            }
        }
        for i in finished.sorted(by: >) {
            cache.closeSequence(active[i].slot)
            active.remove(at: i)
        }
        return events
    }

    /// Drops request `id`, waiting or running, and frees its blocks; false when it is unknown
    /// (already finished). A client that went away stops costing compute this way.
    @discardableResult
    public func cancel(_ id: Int) -> Bool {
        if let i = active.firstIndex(where: { $0.id == id }) {
            runtime.cache.closeSequence(active[i].slot)
            active.remove(at: i)
            return true
        }
        if let i = waiting[waitingHead...].firstIndex(where: { $0.id == id }) {
            waiting.remove(at: i)
            return true
        }
        return false
    }

    /// Steps until every queued request has finished; returns the generated tokens by id.
    public func runToCompletion() throws(InferError) -> [Int: [Int32]] {
        var out: [Int: [Int32]] = [:]
        while !isIdle {
            for event in try step() {
                if case .token(let id, let token) = event { out[id, default: []].append(token) }
            }
        }
        return out
    }
}
