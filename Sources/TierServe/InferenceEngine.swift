import Foundation
import TierInfer
import TierKV

/// What the engine reports on one request's event stream.
public enum EngineEvent: Sendable, Equatable {
    /// The request generated `token`.
    case token(Int32)
    /// The request ended (a stop token or its token limit); the stream ends after this.
    case finished
    /// The request could not run; the stream ends after this.
    case failed(String)
}

/// A running request: its ticket (for `InferenceEngine.cancel`) and its events.
public struct Generation: Sendable {
    public let ticket: Int
    public let events: AsyncStream<EngineEvent>
}

/// How big the engine's runtime is.
public struct EngineConfiguration: Sendable {
    /// Compute threads.
    public var threads: Int
    /// Sequences decoding together at most.
    public var maxSequences: Int
    /// Longest sequence (prompt and generated tokens), in tokens.
    public var contextLength: Int
    /// Most tokens in one forward step (decode tokens and prompt chunks together).
    public var maxBatchTokens: Int
    /// KV blocks in the pool (the KV tier's DRAM budget); nil: enough for every sequence to reach
    /// the full context length. At least one full-length sequence's worth, or a request could
    /// wait forever.
    public var kvBlocks: Int?
    /// With a KV tier: admit requests once their prompt fits and preempt the newest sequence when
    /// blocks run short (`BatchScheduler.preemptive`).
    public var preemptive: Bool

    public init(threads: Int = ComputePool.processorCount, maxSequences: Int = 4, contextLength: Int = 2048, maxBatchTokens: Int = 256,
                kvBlocks: Int? = nil, preemptive: Bool = false) {
        self.threads = threads
        self.maxSequences = maxSequences
        self.contextLength = contextLength
        self.maxBatchTokens = maxBatchTokens
        self.kvBlocks = kvBlocks
        self.preemptive = preemptive
    }
}

/// One `BatchScheduler` driven by one thread of its own: requests from any task are queued and
/// join the running batch between forward steps; each request's tokens come back on its own
/// `AsyncStream`.
///
/// The engine thread runs until `shutdown()`, which every owner must call.
public final class InferenceEngine: @unchecked Sendable {
    public let tokenizer: Tokenizer
    /// The model's chat template, nil when it has none the runtime understands.
    public let chatTemplate: ChatTemplate?
    /// Longest sequence, in tokens.
    public let contextLength: Int

    // Touched only by the engine thread.
    private let scheduler: BatchScheduler

    // Guarded by `condition`: the hand-over between request tasks and the engine thread.
    private let condition = NSCondition()
    private var submissions: [(ticket: Int, request: GenerationRequest, sink: AsyncStream<EngineEvent>.Continuation)] = []
    private var cancellations: [Int] = []
    private var stopping = false
    private var nextTicket = 0
    private let stopped = DispatchSemaphore(value: 0)
    // Guarded by `condition`: taken by the engine thread after every step, before its events go
    // out, so a client that saw its response end reads counters that include its request.
    private var snapshot: EngineMetrics

    /// Starts an engine for `model`, with `configuration.kvBlocks` KV blocks (default: enough
    /// for every sequence to reach the full context length); `tier` makes the KV tier over the
    /// runtime's block pool (nil: a plain pool).
    public init(model: LlamaModel, tokenizer: Tokenizer, chatTemplate: ChatTemplate?, configuration: EngineConfiguration,
                tier makeTier: (PagedKVCache) throws -> (any KVBlockTier)? = { _ in nil }) rethrows {
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        let c = configuration
        contextLength = min(c.contextLength, model.config.contextLength)
        let blockSize = 16
        let runtime = LlamaRuntime(
            model: model, threads: c.threads, maxBatchTokens: max(c.maxBatchTokens, c.maxSequences),
            maxLogitRows: c.maxSequences, maxSequences: c.maxSequences,
            kvBlocks: c.kvBlocks ?? c.maxSequences * ((contextLength + blockSize - 1) / blockSize), blockSize: blockSize,
            maxLength: contextLength)
        scheduler = BatchScheduler(runtime: runtime, tier: try makeTier(runtime.cache))
        scheduler.preemptive = c.preemptive
        snapshot = EngineMetrics(kvBlocks: runtime.cache.blockCount, kvBlockBytes: runtime.cache.bytesPerBlock)
        snapshot.kvFreeBlocks = runtime.cache.freeBlockCount
        snapshot.kv = scheduler.tier?.metrics
        let thread = Thread { [self] in loop() }
        thread.name = "tierkit-engine"
        thread.start()
    }

    /// Queues `request`; its events arrive on the returned stream. Cancelling the consuming task
    /// (or calling `cancel`) drops the request from the batch.
    public func generate(_ request: GenerationRequest) -> Generation {
        let (events, sink) = AsyncStream<EngineEvent>.makeStream()
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        condition.unlock()
        sink.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(ticket) }
        }
        condition.lock()
        submissions.append((ticket, request, sink))
        condition.signal()
        condition.unlock()
        return Generation(ticket: ticket, events: events)
    }

    /// Drops request `ticket` if it is still queued or running; its stream ends.
    public func cancel(_ ticket: Int) {
        condition.lock()
        cancellations.append(ticket)
        condition.signal()
        condition.unlock()
    }

    /// The engine's counters and its KV tier's metrics as of its last step.
    public var metrics: EngineMetrics {
        condition.lock()
        defer { condition.unlock() }
        return snapshot
    }

    /// Stops the engine thread after its current step; open streams end with `.failed`.
    public func shutdown() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if first { stopped.wait() }
    }

    /// Adds one round's counts to the snapshot and takes the scheduler's and tier's state.
    private func record(_ c: (requests: Int, failed: Int, cancelled: Int, prompt: Int, generated: Int, finished: Int, steps: Int)) {
        let kv = scheduler.tier?.metrics
        let free = scheduler.runtime.cache.freeBlockCount
        let evictable = scheduler.tier?.evictableCount ?? 0
        condition.lock()
        snapshot.requests += c.requests
        snapshot.failedRequests += c.failed
        snapshot.cancelledRequests += c.cancelled
        snapshot.finishedRequests += c.finished
        snapshot.promptTokens += c.prompt
        snapshot.generatedTokens += c.generated
        snapshot.steps += c.steps
        snapshot.running = scheduler.activeCount
        snapshot.preemptions = scheduler.preemptions
        snapshot.kvFreeBlocks = free
        snapshot.kvCachedBlocks = evictable
        snapshot.kv = kv
        condition.unlock()
    }

    private func loop() {
        var running: [Int: (ticket: Int, sink: AsyncStream<EngineEvent>.Continuation)] = [:]  // by scheduler id
        var ids: [Int: Int] = [:]  // scheduler id by ticket
        func end(_ id: Int, with event: EngineEvent) {
            guard let r = running.removeValue(forKey: id) else { return }
            ids[r.ticket] = nil
            r.sink.yield(event)
            r.sink.finish()
        }
        while true {
            condition.lock()
            while submissions.isEmpty && cancellations.isEmpty && !stopping && scheduler.isIdle {
                condition.wait()
            }
            let arrived = submissions
            let gone = cancellations
            let stop = stopping
            submissions.removeAll()
            cancellations.removeAll()
            condition.unlock()

            var counts = (requests: arrived.count, failed: 0, cancelled: 0, prompt: 0, generated: 0, finished: 0, steps: 0)
            for s in arrived {
                do {
                    let id = try scheduler.submit(s.request)
                    counts.prompt += s.request.prompt.count
                    running[id] = (s.ticket, s.sink)
                    ids[s.ticket] = id
                } catch {
                    counts.failed += 1
                    s.sink.yield(.failed(error.description))
                    s.sink.finish()
                }
            }
            for ticket in gone {
                guard let id = ids[ticket] else { continue }
                counts.cancelled += 1
                scheduler.cancel(id)
                end(id, with: .finished)
            }
            if stop {
                record(counts)
                for id in Array(running.keys) {
                    scheduler.cancel(id)
                    end(id, with: .failed("the server is shutting down"))
                }
                stopped.signal()
                return
            }
            guard !scheduler.isIdle else {
                record(counts)
                continue
            }
            do {
                let events = try scheduler.step()
                counts.steps = 1
                for event in events {
                    switch event {
                    case .token: counts.generated += 1
                    case .finished: counts.finished += 1
                    }
                }
                record(counts)
                for event in events {
                    switch event {
                    case .token(let id, let token): running[id]?.sink.yield(.token(token))
                    case .finished(let id): end(id, with: .finished)
                    }
                }
            } catch {
                // The step failed as a whole: no request of it can continue consistently.
                counts.failed += running.count
                record(counts)
                for id in Array(running.keys) {
                    scheduler.cancel(id)
                    end(id, with: .failed(error.description))
                }
            }
        }
    }
}
