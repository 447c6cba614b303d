import TierKV

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
///
/// With a KV tier, a request starts from the longest cached prefix of its prompt (full blocks
/// named by their hash chain, in DRAM or read back from the SSD tier) and prefills only the
/// rest; full blocks it computes become cached when they fill; cached blocks no sequence holds
/// count as free, the tier evicting them when the pool runs short; and the blocks of the next
/// waiting requests are read back during each step's forward pass.
public final class BatchScheduler {
    public let runtime: LlamaRuntime
    /// The KV tier, or nil for a plain pool.
    public let tier: (any KVBlockTier)?
    /// How many waiting requests ahead the tier prefetches blocks for.
    public var prefetchDepth = 4
    /// With a tier: admit a request once its prompt fits (not its whole length), and when running
    /// sequences run short of blocks, preempt the newest: its full blocks stay cached (to be
    /// swapped out or dropped by the tier), and it resumes later from its cached prefix, read
    /// back or recomputed as the tier's cost model chooses. Off: every request reserves its
    /// whole length on admission and is never preempted.
    public var preemptive = false
    /// Sequences preempted so far.
    public private(set) var preemptions = 0

    private struct Sequence {
        var id: Int
        var request: GenerationRequest
        var slot: Int
        var sampler: Sampler
        var prefilled = 0
        var generated: [Int32] = []
        /// Hash chain of the sequence's full blocks so far (with a tier).
        var hashes: [UInt64] = []

        func token(at i: Int) -> Int32 { i < request.prompt.count ? request.prompt[i] : generated[i - request.prompt.count] }
    }

    private var waiting: [(id: Int, request: GenerationRequest, hashes: [UInt64], sampler: Sampler?)] = []
    private var waitingHead = 0
    private var active: [Sequence] = []
    private var batch = StepBatch()
    private var logitOwners: [Int] = []
    private var nextID = 0

    public init(runtime: LlamaRuntime, tier: (any KVBlockTier)? = nil) {
        self.runtime = runtime
        self.tier = tier
    }

    /// Queues a request and returns its id.
    public func submit(_ request: GenerationRequest) throws(InferError) -> Int {
        guard !request.prompt.isEmpty else { throw .invalidRequest("empty prompt") }
        guard request.maxTokens > 0 else { throw .invalidRequest("maxTokens must be at least 1") }
        let limit = runtime.cache.maxLength
        guard request.prompt.count + request.maxTokens <= limit else {
            throw .contextOverflow(length: request.prompt.count + request.maxTokens, limit: limit)
        }
        let blocks = (request.prompt.count + request.maxTokens + runtime.cache.blockSize - 1) / runtime.cache.blockSize
        guard blocks <= runtime.cache.blockCount else {
            throw .invalidRequest("the request needs \(blocks) KV blocks, the pool holds \(runtime.cache.blockCount)")
        }
        let id = nextID
        nextID += 1
        let hashes = tier == nil ? [] : PrefixHash.chain(request.prompt, blockSize: runtime.cache.blockSize)
        waiting.append((id, request, hashes, nil))
        return id
    }

    /// True when no request is waiting or running.
    public var isIdle: Bool { active.isEmpty && waitingHead == waiting.count }

    /// Number of sequences decoding or prefilling.
    public var activeCount: Int { active.count }

    /// Admits what fits, runs one forward step and samples; returns the step's events.
    public func step() throws(InferError) -> [GenerationEvent] {
        let cache = runtime.cache
        // Admit requests while a slot is free and the pool (free blocks and, with a tier, cached
        // blocks no sequence holds) can hold the whole request beside what running ones still need.
        let optimistic = preemptive && tier != nil
        while waitingHead < waiting.count {
            let (id, request, hashes, sampler) = waiting[waitingHead]
            var reserved = 0
            for s in active {
                reserved += cache.blocksNeeded(slot: s.slot, length: optimistic ? nextLength(s) : s.request.prompt.count + s.request.maxTokens)
            }
            let length = optimistic ? request.prompt.count + 1 : request.prompt.count + request.maxTokens
            let blocks = (length + cache.blockSize - 1) / cache.blockSize
            let supply = cache.freeBlockCount + (tier?.evictableCount ?? 0)
            guard supply - reserved >= blocks, let slot = cache.openSequence() else { break }
            var sequence = Sequence(id: id, request: request, slot: slot, sampler: sampler ?? Sampler(request.sampling))
            if let tier {
                // Every full block before the last prompt token may come from the tier; the last
                // token is always computed for its logits.
                let reusable = min(hashes.count, (request.prompt.count - 1) / cache.blockSize)
                let held = tier.acquire(Array(hashes.prefix(reusable)), tokens: request.prompt, blockSize: cache.blockSize)
                cache.attach(slot: slot, blocks: held)
                sequence.prefilled = held.count * cache.blockSize
                sequence.hashes = Array(hashes.prefix(held.count))
            }
            active.append(sequence)
            waitingHead += 1
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        guard !active.isEmpty else { return [] }
        if optimistic, let tier {
            // Preempt the newest sequences until the rest can take this step's blocks.
            while active.count > 1 {
                var need = 0
                for s in active { need += cache.blocksNeeded(slot: s.slot, length: nextLength(s)) }
                guard need > cache.freeBlockCount + tier.evictableCount else { break }
                preempt(active.count - 1)
            }
        }

        batch.removeAll()
        logitOwners.removeAll(keepingCapacity: true)
        var budget = runtime.maxBatchTokens
        var blocksThisStep = 0
        var prefillTokens = 0
        // Decoding sequences first: one token each.
        for (i, s) in active.enumerated() where s.prefilled == s.request.prompt.count && budget > 0 {
            let position = s.request.prompt.count + s.generated.count - 1
            batch.append(token: s.generated.last!, slot: s.slot, position: position, logits: true)
            logitOwners.append(i)
            blocksThisStep += cache.blocksNeeded(slot: s.slot, length: position + 1)
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
            blocksThisStep += cache.blocksNeeded(slot: active[i].slot, length: end)
            prefillTokens += end - start
            budget -= end - start
        }
        if let tier {
            if blocksThisStep > cache.freeBlockCount { tier.reclaim(blocksThisStep - cache.freeBlockCount) }
            // Read the next requests' blocks back while this step computes.
            // Only blocks a request can reuse (before its last prompt token); room is made by
            // eviction only for the request that runs next.
            var ahead: [UInt64] = []
            var next = 0
            for (n, w) in waiting[waitingHead..<min(waiting.count, waitingHead + prefetchDepth)].enumerated() {
                let reusable = w.hashes.prefix(max(0, (w.request.prompt.count - 1) / cache.blockSize))
                if n == 0 { next = reusable.count }
                ahead += reusable
            }
            if !ahead.isEmpty { tier.prefetch(ahead, keepFree: blocksThisStep, evicting: next) }
        }
        let began = ContinuousClock.now
        try runtime.forward(batch)
        if let tier {
            let elapsed = ContinuousClock.now - began
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if prefillTokens > 0 { tier.observePrefill(tokens: prefillTokens, seconds: seconds * Double(prefillTokens) / Double(batch.count)) }
            tier.finishPrefetch()
            registerFullBlocks(tier)
        }

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
            cache.closeSequence(active[i].slot) { block in tier?.release(block) ?? false }
            active.remove(at: i)
        }
        return events
    }

    /// Drops request `id`, waiting or running, and frees its blocks; false when it is unknown
    /// (already finished). A client that went away stops costing compute this way.
    @discardableResult
    public func cancel(_ id: Int) -> Bool {
        if let i = active.firstIndex(where: { $0.id == id }) {
            runtime.cache.closeSequence(active[i].slot) { block in tier?.release(block) ?? false }
            active.remove(at: i)
            return true
        }
        if let i = waiting[waitingHead...].firstIndex(where: { $0.id == id }) {
            waiting.remove(at: i)
            return true
        }
        return false
    }

    /// The length a sequence reaches in its next step (a prompt chunk at most a full batch).
    private func nextLength(_ s: Sequence) -> Int {
        s.prefilled < s.request.prompt.count
            ? min(s.request.prompt.count, s.prefilled + runtime.maxBatchTokens)
            : s.request.prompt.count + s.generated.count
    }

    /// Takes `active[i]` off the pool and queues it first to resume: its keys and values cover
    /// every token but the last generated one, so it resumes as a prompt of all its tokens whose
    /// last logits give its next token, with the rest of its token limit and its sampler's state.
    private func preempt(_ i: Int) {
        let s = active.remove(at: i)
        runtime.cache.closeSequence(s.slot) { block in tier?.release(block) ?? false }
        var request = s.request
        if s.prefilled == request.prompt.count {
            request.prompt += s.generated
            request.maxTokens -= s.generated.count
        }
        let hashes = PrefixHash.chain(request.prompt, blockSize: runtime.cache.blockSize)
        waiting.insert((s.id, request, hashes, s.sampler), at: waitingHead)
        preemptions += 1
    }

    /// Hands the tier every block that filled during the step (its keys and values are final).
    private func registerFullBlocks(_ tier: any KVBlockTier) {
        let bs = runtime.cache.blockSize
        for i in active.indices {
            let s = active[i]
            let computed = s.prefilled < s.request.prompt.count ? s.prefilled : s.request.prompt.count + s.generated.count
            let full = computed / bs
            guard full > s.hashes.count else { continue }
            let table = runtime.cache.blockTable(of: s.slot)
            for k in s.hashes.count..<full {
                let tokens = (k * bs..<(k + 1) * bs).map { s.token(at: $0) }
                let hash = PrefixHash.hash(parent: active[i].hashes.last ?? PrefixHash.root, tokens: tokens)
                _ = tier.register(hash: hash, tokens: tokens[...], block: table[k])
                active[i].hashes.append(hash)
            }
        }
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
