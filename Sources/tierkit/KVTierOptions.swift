import ArgumentParser
import Foundation
import Logging
import TierCore
import TierInfer
import TierKV

/// The KV-cache tier's options, shared by `infer` and `serve`.
struct KVTierOptions: ParsableArguments {
    @Option(help: "DRAM budget for KV blocks (e.g. 64MiB); cached blocks beyond it are evicted. Turns the tier on.")
    var kvBudget: String?

    @Option(help: "Swap file for evicted KV blocks (O_DIRECT, io_uring; on a disk, not tmpfs). Turns the tier on.")
    var kvSwap: String?

    @Option(help: "Bytes preallocated for the swap file.")
    var kvSwapSize: String = "1GiB"

    @Option(help: "Eviction policy of the DRAM tier (any `tierkit policies` name, with parameters).")
    var kvPolicy: String = "lru"

    @Option(help: "Admission policy deciding which victims go to the swap file (always, prob:prob=P, size:size=B, secondhit).")
    var kvAdmission: String = "always"

    @Option(help: "io_uring queue depth of the swap file.")
    var kvQueueDepth: Int = 32

    @Flag(help: "Store blocks on the swap file as Q8_0 (about half the bytes; lossy).")
    var kvCompress = false

    @Option(help: "Blocks on the swap file come back by: auto (cost model), swap, recompute.")
    var kvResume: String = "auto"

    @Flag(help: "Admit requests once their prompt fits; when KV blocks run short, preempt the newest sequence and resume it later by swap or recompute (as the cost model and --kv-resume choose). Needs the tier.")
    var kvPreempt = false

    /// Whether any option turns the tier on.
    var enabled: Bool { kvBudget != nil || kvSwap != nil }

    func validate() throws {
        if kvQueueDepth < 1 { throw ValidationError("--kv-queue-depth must be at least 1") }
        if KVResumeMode(rawValue: kvResume) == nil {
            throw ValidationError("--kv-resume must be one of \(KVResumeMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if kvPreempt && !enabled { throw ValidationError("--kv-preempt needs the KV tier: give --kv-budget or --kv-swap") }
        _ = try budgetBytes()
        _ = try bytes(kvSwapSize, option: "--kv-swap-size")
    }

    /// The budget in bytes, nil when not given.
    func budgetBytes() throws -> Int64? {
        try kvBudget.map { try bytes($0, option: "--kv-budget") }
    }

    /// KV blocks for the pool: the budget's worth, or `needed` without a budget; at least `needed`
    /// for one request, with a clear error otherwise.
    func poolBlocks(bytesPerBlock: Int, needed: Int, unconstrained: Int) throws -> Int {
        guard let budget = try budgetBytes() else { return unconstrained }
        let blocks = Int(budget / Int64(bytesPerBlock))
        guard blocks >= needed else {
            throw ValidationError("--kv-budget \(kvBudget!) holds \(blocks) KV blocks of \(bytesPerBlock) bytes; the longest request needs \(needed) (\(Int64(needed * bytesPerBlock)) bytes)")
        }
        return blocks
    }

    /// The tier over `cache`, nil when no option asks for it.
    func makeTier(cache: PagedKVCache) throws -> (any KVBlockTier)? {
        guard enabled else { return nil }
        let swap = try kvSwap.map {
            KVSwapConfiguration(path: $0, size: try bytes(kvSwapSize, option: "--kv-swap-size"),
                                queueDepth: kvQueueDepth, compression: kvCompress)
        }
        var logger = Logger(label: "tierkit.kv") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        do {
            return try KVTiers.make(memory: cache, policy: kvPolicy, admission: kvAdmission, swap: swap,
                                    resume: KVResumeMode(rawValue: kvResume) ?? .auto, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
    }

    private func bytes(_ text: String, option: String) throws -> Int64 {
        do {
            switch try SizeSpec.parse(Substring(text)) {
            case .bytes(let n), .count(let n): return n
            case .percent: throw ValidationError("\(option): give bytes (e.g. 64MiB), not a percentage")
            }
        } catch let error as SizeSpecError {
            throw ValidationError("\(option): \(error)")
        }
    }
}

extension KVTierMetrics {
    /// The metrics as a JSON-ready dictionary.
    var dictionary: [String: Int64] { Dictionary(uniqueKeysWithValues: fields) }

    /// One line per metric for a terminal.
    var text: String { fields.map { "  \($0.0): \($0.1)" }.joined(separator: "\n") }
}
