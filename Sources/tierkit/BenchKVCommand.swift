import ArgumentParser
import Foundation
import TierCore
import TierInfer
import TierKV

/// `tierkit bench kv`: the KV tier's raw I/O beside fio, and a multi-turn chat workload under
/// shrinking KV budgets with swap, recompute only, and no prefix reuse.
struct BenchKV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "Measure the KV tier: swap-file I/O against fio, and a chat workload under KV budgets; print JSON.",
        discussion: """
            io: the swap file's io_uring reads and writes (O_DIRECT, random order over the whole \
            file) at 64 KiB and 256 KiB blocks and queue depths 1, 16, 32, each beside fio \
            (--ioengine=io_uring --direct=1) replaying the very same transfers in the same order \
            on the same file, laid out sequentially first; the two sides alternate which goes \
            first in each run. workload: \
            conversations sharing system prompts take turns (each turn's prompt is the whole history plus a new user message), all at once, under KV \
            budgets of 100%, 50% and 25% of what their full histories need, with the swap tier, \
            with recompute only (DRAM prefix cache, victims dropped) and without prefix reuse.

            Example:
              tierkit bench kv --model ~/.cache/tierkit/models/SmolLM2-135M-Instruct.Q4_1.gguf --dir /var/tmp
            """
    )

    @Option(help: "Path of the GGUF model.")
    var model: String

    @Option(help: "Directory for the swap and fio files (a disk, not tmpfs).")
    var dir: String = "/var/tmp"

    @Option(help: "Bytes of each I/O test file.")
    var ioSize: String = "256MiB"

    @Option(help: "Concurrent conversations.")
    var conversations: Int = 16

    @Option(help: "Turns per conversation.")
    var turns: Int = 3

    @Option(help: "Distinct system prompts (conversations share them round-robin).")
    var systemPrompts: Int = 2

    @Option(help: "Tokens of each system prompt, user message and reply.")
    var systemTokens: Int = 64
    @Option var userTokens: Int = 16
    @Option var replyTokens: Int = 8

    @Option(help: "Runs of each I/O test (tier and fio alternate); the median is reported.")
    var `repeat`: Int = 5

    @Option(help: "Block sizes of the I/O rows, comma-separated.")
    var ioBlockSizes: String = "64KiB,256KiB"

    @Option(help: "Queue depths of the I/O rows, comma-separated.")
    var ioQueueDepths: String = "1,16,32"

    @Flag(help: "Skip the I/O rows.")
    var noIO = false

    @Flag(help: "Skip the workload rows.")
    var noWorkload = false

    @Option(help: "Compute threads.")
    var threads: Int = 2

    func run() throws {
        var output: [String: Any] = [:]
        if !noIO { output["io"] = try ioRows() }
        if !noWorkload {
            let (rows, extra) = try workloadRows()
            output["workload"] = rows
            output["crossover"] = extra
        }
        let json = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    // MARK: - I/O

    private func ioRows() throws -> [[String: Any]] {
        guard case .bytes(let size)? = try? SizeSpec.parse(Substring(ioSize)) else {
            throw ValidationError("--io-size: give bytes, e.g. 256MiB")
        }
        let blockSizes = try ioBlockSizes.split(separator: ",").map { text -> Int in
            guard case .bytes(let b)? = try? SizeSpec.parse(text), b > 0, b % Int64(SwapFile.alignment) == 0 else {
                throw ValidationError("--io-block-sizes: '\(text)' is not a size that is a multiple of \(SwapFile.alignment) bytes")
            }
            return Int(b)
        }
        let depths = try ioQueueDepths.split(separator: ",").map { text -> Int in
            guard let d = Int(text), d > 0 else { throw ValidationError("--io-queue-depths: '\(text)' is not a positive integer") }
            return d
        }
        var rows: [[String: Any]] = []
        for blockSize in blockSizes {
            for depth in depths {
                var writes: [Double] = [], reads: [Double] = [], fioWrites: [Double] = [], fioReads: [Double] = []
                for run in 0..<max(1, `repeat`) {
                    let m = try ioRun(size: size, blockSize: blockSize, depth: depth, tierFirst: run.isMultiple(of: 2))
                    writes.append(m.write)
                    reads.append(m.read)
                    fioWrites.append(m.fioWrite)
                    fioReads.append(m.fioRead)
                    FileHandle.standardError.write(Data("tierkit: io \(blockSize / 1024) KiB QD\(depth) run \(run + 1): read \(Int(m.read)) MiB/s (fio \(Int(m.fioRead))), write \(Int(m.write)) MiB/s (fio \(Int(m.fioWrite)))\n".utf8))
                }
                let (write, read, fioWrite, fioRead) = (median(writes), median(reads), median(fioWrites), median(fioReads))
                let row: [String: Any] = [
                    "block_size": blockSize, "queue_depth": depth, "runs": writes.count,
                    "read_mib_s": rounded(read), "write_mib_s": rounded(write),
                    "fio_read_mib_s": rounded(fioRead), "fio_write_mib_s": rounded(fioWrite),
                    "read_ratio": rounded(read / fioRead, 3), "write_ratio": rounded(write / fioWrite, 3),
                    // Each run pairs the two sides within seconds on one file; the median of
                    // those ratios is steadier than the ratio of medians on a noisy device.
                    "read_ratio_paired": rounded(median(zip(reads, fioReads).map { $0 / $1 }), 3),
                    "write_ratio_paired": rounded(median(zip(writes, fioWrites).map { $0 / $1 }), 3),
                ]
                FileHandle.standardError.write(Data("tierkit: io \(blockSize / 1024) KiB QD\(depth): read \(Int(read)) MiB/s (fio \(Int(fioRead))), write \(Int(write)) MiB/s (fio \(Int(fioWrite)))\n".utf8))
                rows.append(row)
            }
        }
        return rows
    }

    private struct IOMeasurement { var write, read, fioWrite, fioRead: Double }

    /// One run on one fresh swap file: the tier reads and then writes every slot in a random
    /// order, and fio reads and then writes the same slots in the same order. MiB/s.
    private func ioRun(size: Int64, blockSize: Int, depth: Int, tierFirst: Bool) throws -> IOMeasurement {
        let path = dir + "/tierkit-bench-kv.swap"
        defer { unlink(path) }
        unlink(path)
        let swap = try SwapFile(path: path, size: size, slotSize: blockSize, queueDepth: depth)
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: depth * blockSize, alignment: SwapFile.alignment)
        defer { buffers.deallocate() }
        for i in 0..<depth * blockSize { buffers.storeBytes(of: UInt8(truncatingIfNeeded: i &* 131), toByteOffset: i, as: UInt8.self) }
        var order = Array(0..<Int32(swap.slotCount))
        var state: UInt64 = 7
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            order.swapAt(i, Int((state >> 33) % UInt64(i + 1)))
        }
        func pass(_ kind: IORequest.Kind, order: [Int32]) throws -> Double {
            // One buffer per lane of the queue, as fio has one per in-flight unit.
            let start = ContinuousClock.now
            let results = swap.run(count: order.count) { i, lane in
                SwapFile.Transfer(kind: kind, slot: order[i], buffer: buffers + lane * blockSize, length: blockSize)
            }
            let s = seconds(since: start)
            guard results.allSatisfy({ $0 == Int32(blockSize) }) else {
                throw ValidationError("swap file \(kind) failed: \(results.first { $0 != Int32(blockSize) }!)")
            }
            return Double(order.count * blockSize) / s / 1_048_576
        }
        // An unmeasured write lays the file out in order, as fio lays out its files, so both
        // sides measure random overwrites and reads of the same sequentially written blocks.
        _ = try pass(.write, order: Array(0..<Int32(swap.slotCount)))
        var m = IOMeasurement(write: 0, read: 0, fioWrite: 0, fioRead: 0)
        // Each side reads, then writes, so each side's write follows a read, never the other
        // side's write burst the host may still be flushing.
        func tier() throws {
            m.read = try pass(.read, order: order)
            m.write = try pass(.write, order: order)
        }
        func fioSide() throws {
            m.fioRead = try fio(.read, path: path, order: order, blockSize: blockSize, depth: depth)
            m.fioWrite = try fio(.write, path: path, order: order, blockSize: blockSize, depth: depth)
        }
        if tierFirst { try tier(); try fioSide() } else { try fioSide(); try tier() }
        return m
    }

    /// fio with io_uring and O_DIRECT replaying, at `depth`, the tier's own sequence of block
    /// transfers on the file at `path` (an iolog), so the two sides differ only in who submits;
    /// MiB/s. fio's own randread pattern is not used: once most blocks are done its random map
    /// falls back to the next free block, which adds locality (3-4x the merged requests here).
    private func fio(_ kind: IORequest.Kind, path: String, order: [Int32], blockSize: Int, depth: Int) throws -> Double {
        let log = dir + "/tierkit-bench-kv.iolog"
        defer { unlink(log) }
        let op = kind == .read ? "read" : "write"
        var text = "fio version 2 iolog\n\(path) add\n\(path) open\n"
        for slot in order { text += "\(path) \(op) \(Int64(slot) * Int64(blockSize)) \(blockSize)\n" }
        text += "\(path) close\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        process.arguments = ["--name=kv", "--read_iolog=\(log)", "--replay_no_stall=1", "--iodepth=\(depth)",
                             "--ioengine=io_uring", "--direct=1", "--numjobs=1", "--output-format=json"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw ValidationError("fio could not start (apt install fio): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let job = (object["jobs"] as? [[String: Any]])?.first,
              let side = job[op] as? [String: Any],
              let bw = (side["bw_bytes"] as? NSNumber)?.doubleValue,
              (side["total_ios"] as? NSNumber)?.intValue == order.count
        else { throw ValidationError("fio \(op) replay of \(order.count) blocks failed (status \(process.terminationStatus))") }
        return bw / 1_048_576
    }

    // MARK: - Workload

    private enum Mode: String, CaseIterable {
        case swapTier = "swap-tier", recomputeOnly = "recompute-only", noPrefixReuse = "no-prefix-reuse", swapTierQ8 = "swap-tier-q8"
    }

    /// The turns of every conversation, as token ids: system, then (user, reply) pairs. Replies
    /// are whatever the model generates; only their lengths are fixed here.
    private func workloadRows() throws -> ([[String: Any]], [String: Any]) {
        let (_, llama) = try loadModel(path: model)
        let c = llama.config
        let bytesPerBlock = c.layers * 2 * c.kvHeads * 16 * c.headDim * 2
        let finalLength = systemTokens + turns * (userTokens + replyTokens)
        let blocksPerConversation = (finalLength + 15) / 16
        let needed = conversations * blocksPerConversation
        var rows: [[String: Any]] = []
        var crossover: [String: Any] = [:]
        var reference: [Int: [Int32]] = [:]
        for share in [100, 50, 25] {
            let blocks = max(blocksPerConversation, needed * share / 100)
            var modes: [Mode] = [.swapTier, .recomputeOnly, .noPrefixReuse]
            if share == 25 { modes.append(.swapTierQ8) }
            for mode in modes {
                let result = try runWorkload(llama, blocks: blocks, mode: mode)
                var row: [String: Any] = [
                    "budget_share": Double(share) / 100, "mode": mode.rawValue, "kv_blocks": blocks,
                    "kv_budget_bytes": blocks * bytesPerBlock,
                    "tokens_per_second": rounded(result.tokensPerSecond), "ttft_ms": rounded(result.ttftMedian),
                    "ttft_p90_ms": rounded(result.ttftP90), "seconds": rounded(result.seconds, 2),
                ]
                if let m = result.metrics { row["kv"] = m.dictionary }
                if mode == .swapTier && share == 100 { reference = result.tokens }
                if mode == .swapTierQ8 {
                    // Lossy blocks: how many generated tokens differ from the exact run.
                    var changed = 0, total = 0
                    for (k, t) in result.tokens {
                        let r = reference[k] ?? []
                        total += t.count
                        changed += zip(t, r).filter { $0 != $1 }.count + abs(t.count - r.count)
                    }
                    row["tokens_changed"] = changed
                    row["tokens_compared"] = total
                }
                if mode == .swapTier && share == 25, let cost = result.cost {
                    let read = cost.readBytesPerSecond ?? 0, prefill = cost.prefillTokensPerSecond ?? 0
                    crossover = [
                        "measured_read_mib_s": rounded(read / 1_048_576),
                        "measured_prefill_tokens_per_second": rounded(prefill),
                        "block_bytes": bytesPerBlock,
                        "swap_ms_per_block": rounded(Double(bytesPerBlock) / max(read, 1) * 1000, 3),
                        "recompute_ms_per_block": rounded(16 / max(prefill, 1e-9) * 1000, 3),
                        // Swap wins while the device reads faster than this.
                        "crossover_read_mib_s": rounded(Double(bytesPerBlock) * prefill / 16 / 1_048_576, 2),
                    ]
                }
                FileHandle.standardError.write(Data("tierkit: workload \(share)% \(mode.rawValue): \(rounded(result.tokensPerSecond)) tok/s, TTFT \(rounded(result.ttftMedian)) ms\n".utf8))
                rows.append(row)
            }
        }
        return (rows, crossover)
    }

    private struct WorkloadResult {
        var tokensPerSecond: Double
        var ttftMedian: Double
        var ttftP90: Double
        var seconds: Double
        var metrics: KVTierMetrics?
        var cost: SwapCostModel?
        var tokens: [Int: [Int32]]
    }

    private func runWorkload(_ llama: LlamaModel, blocks: Int, mode: Mode) throws -> WorkloadResult {
        let finalLength = systemTokens + turns * (userTokens + replyTokens)
        let runtime = LlamaRuntime(model: llama, threads: threads, maxBatchTokens: 256, maxLogitRows: max(1, conversations),
                                   maxSequences: max(1, conversations), kvBlocks: blocks, maxLength: finalLength + 16)
        let swapPath = dir + "/tierkit-bench-kv-\(getpid()).swap"
        defer { unlink(swapPath) }
        var tier: (any KVBlockTier)?
        switch mode {
        case .swapTier, .swapTierQ8:
            tier = try KVTiers.make(memory: runtime.cache, swap: KVSwapConfiguration(
                path: swapPath, size: Int64(conversations * ((finalLength + 15) / 16) * runtime.cache.bytesPerBlock),
                queueDepth: 32, compression: mode == .swapTierQ8))
        case .recomputeOnly:
            tier = try KVTiers.make(memory: runtime.cache)
        case .noPrefixReuse:
            tier = nil
        }
        let scheduler = BatchScheduler(runtime: runtime, tier: tier)
        // Token ids of each conversation so far, and the request in flight for each.
        func synthetic(_ count: Int, _ seed: Int) -> [Int32] {
            (0..<count).map { Int32(200 + (($0 + 1) * 7919 + seed * 104_729) % 20_000) }
        }
        var history = (0..<conversations).map { synthetic(systemTokens, 1 + $0 % max(1, systemPrompts)) }
        var turn = Array(repeating: 0, count: conversations)
        var owner: [Int: Int] = [:]
        var submitted: [Int: ContinuousClock.Instant] = [:]
        var ttft: [Double] = []
        var generated = 0
        var tokens: [Int: [Int32]] = [:]
        func submitTurn(_ k: Int) throws {
            history[k] += synthetic(userTokens, 1000 + k * 31 + turn[k])
            let id = try scheduler.submit(GenerationRequest(prompt: history[k], maxTokens: replyTokens))
            owner[id] = k
            submitted[id] = .now
        }
        let start = ContinuousClock.now
        for k in 0..<conversations { try submitTurn(k) }
        while !scheduler.isIdle {
            for event in try scheduler.step() {
                switch event {
                case .token(let id, let token):
                    let k = owner[id]!
                    if let t = submitted.removeValue(forKey: id) { ttft.append(seconds(since: t) * 1000) }
                    generated += 1
                    tokens[k, default: []].append(token)
                    history[k].append(token)
                case .finished(let id):
                    let k = owner.removeValue(forKey: id)!
                    turn[k] += 1
                    if turn[k] < turns { try submitTurn(k) }
                }
            }
        }
        let total = seconds(since: start)
        ttft.sort()
        return WorkloadResult(
            tokensPerSecond: Double(generated) / total, ttftMedian: ttft[ttft.count / 2],
            ttftP90: ttft[min(ttft.count - 1, ttft.count * 9 / 10)], seconds: total,
            metrics: tier?.metrics, cost: tier?.costModel, tokens: tokens)
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func rounded(_ v: Double, _ digits: Int = 1) -> Double {
        let scale = pow(10, Double(digits))
        return (v * scale).rounded() / scale
    }
}
