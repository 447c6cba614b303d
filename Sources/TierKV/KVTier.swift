import Logging
import TierCore
import TierHost

/// The swap file of a tier and how blocks are stored in it.
public struct KVSwapConfiguration: Sendable {
    public var path: String
    /// Bytes preallocated for the file.
    public var size: Int64
    /// io_uring queue depth of batched reads and writes.
    public var queueDepth: Int
    /// Store blocks as Q8_0 (about 53% of the bytes, lossy).
    public var compression: Bool

    public init(path: String, size: Int64, queueDepth: Int = 32, compression: Bool = false) {
        self.path = path
        self.size = size
        self.queueDepth = queueDepth
        self.compression = compression
    }
}

/// The KV-cache tier: DRAM-resident blocks under `memory`'s budget, ordered by an eviction
/// policy `P`; victims pass an admission policy `A` into a swap file or are dropped.
///
/// The policy sees every cached DRAM block: a new or swapped-in block is inserted, a reuse is a
/// lookup (a hit). Blocks held by running sequences are pinned; when the policy picks a pinned
/// block it leaves the policy and re-enters when released, so only unpinned blocks are evicted.
/// Generic over both policies, so the per-block calls are direct.
public final class KVTier<P: EvictionPolicy, A: AdmissionPolicy>: KVBlockTier {
    private struct Entry {
        var tokens: [Int32]
        var block: Int32 = -1
        var slot: Int32 = -1
        var crc: UInt32 = 0
        var pins = 0
        var inPolicy = false
        var loading = false
        var prefetched = false
    }

    public private(set) var policy: P
    public private(set) var admission: A
    public let memory: any KVBlockMemory
    public let swapFile: SwapFile?
    public let compression: Bool
    public let resumeMode: KVResumeMode
    public private(set) var metrics = KVTierMetrics()
    public private(set) var costModel = SwapCostModel()
    public private(set) var fallbackReasons: [String] = []
    public var logger: Logger

    private var entries: [UInt64: Entry] = [:]
    private var owner: [Int32: UInt64] = [:]
    private var dropped: Set<UInt64> = []
    private var unpinned = 0
    private var clock: UInt64 = 0
    /// Bytes of a block as stored, and as transferred (rounded up for O_DIRECT).
    private let storedBytes: Int
    private let transferBytes: Int
    private let staging: UnsafeMutableRawPointer?
    private let stagingCount: Int
    private var prefetching: [UInt64: (hash: UInt64, block: Int32, staging: Int)] = [:]
    private var freeStaging: [Int] = []
    private var nextTag: UInt64 = 0

    /// A tier over `memory` with `policy` and `admission`; `swap` opens the swap file (nil: victims
    /// are dropped, recompute only).
    public init(memory: any KVBlockMemory, policy: P, admission: A, swap: KVSwapConfiguration?,
                resume: KVResumeMode = .auto, logger: Logger = Logger(label: "tierkit.kv", factory: { _ in SwiftLogNoOpLogHandler() })) throws(SystemCallError) {
        self.memory = memory
        self.policy = policy
        self.admission = admission
        self.logger = logger
        resumeMode = resume
        compression = swap?.compression ?? false
        storedBytes = compression ? Q8Compression.compressedSize(ofBlockBytes: memory.bytesPerBlock) : memory.bytesPerBlock
        transferBytes = (storedBytes + SwapFile.alignment - 1) / SwapFile.alignment * SwapFile.alignment
        if let swap {
            swapFile = try SwapFile(path: swap.path, size: swap.size, slotSize: transferBytes, queueDepth: swap.queueDepth)
            // Staging buffers for compressed blocks (and blocks not aligned for O_DIRECT): one per
            // request in flight, for demand I/O and prefetch alike.
            stagingCount = 2 * max(1, swap.queueDepth)
            staging = .allocate(byteCount: stagingCount * transferBytes, alignment: SwapFile.alignment)
            // The first half serves demand batches, the second prefetches in flight.
            freeStaging = Array(max(1, swap.queueDepth)..<stagingCount)
        } else {
            swapFile = nil
            staging = nil
            stagingCount = 0
        }
    }

    deinit {
        if let swapFile, swapFile.startedCount > 0 { swapFile.finishStarted { _, _ in } }
        staging?.deallocate()
    }

    public var label: String { "\(policy.label)+\(admission.label)" }
    public var evictableCount: Int { unpinned }

    public func location(of hash: UInt64) -> KVBlockLocation? {
        guard let e = entries[hash] else { return nil }
        if e.loading { return .loading }
        return e.block >= 0 ? .dram(block: e.block) : .ssd(slot: e.slot)
    }

    public func wasDropped(_ hash: UInt64) -> Bool { dropped.contains(hash) }

    public func observePrefill(tokens: Int, seconds: Double) {
        metrics.prefilledTokens += tokens
        costModel.observePrefill(tokens: tokens, seconds: seconds)
    }

    // MARK: - Lookup

    public func acquire(_ hashes: [UInt64], tokens: [Int32], blockSize: Int) -> [Int32] {
        if let swapFile, swapFile.startedCount > 0 { finishPrefetch() }
        // The cached prefix: each block present with exactly these tokens.
        var plan: [UInt64] = []
        var onSSD = 0
        for (k, h) in hashes.enumerated() {
            guard let e = entries[h], !e.loading, e.tokens.elementsEqual(tokens[k * blockSize..<(k + 1) * blockSize]) else { break }
            plan.append(h)
            if e.block < 0 { onSSD += 1 }
        }
        if onSSD > 0 {
            let swap: Bool
            switch resumeMode {
            case .swap: swap = true
            case .recompute: swap = false
            case .auto: swap = costModel.prefersSwap(blocks: onSSD, bytesPerBlock: transferBytes, tokensPerBlock: blockSize)
            }
            if swap {
                metrics.resumedBySwap += 1
            } else {
                metrics.resumedByRecompute += 1
                plan = Array(plan.prefix { entries[$0]!.block >= 0 })
            }
        }
        // Pin the DRAM blocks first so that making room for the reads cannot evict them.
        for h in plan where entries[h]!.block >= 0 { pin(h) }
        let reads = plan.filter { entries[$0]!.block < 0 }
        var failed = Set<UInt64>()
        if !reads.isEmpty { failed = swapIn(reads) }
        // The prefix ends at the first block that did not arrive.
        var result: [Int32] = []
        var cut = plan.count
        for (k, h) in plan.enumerated() {
            if failed.contains(h) { cut = k; break }
            result.append(entries[h]!.block)
        }
        for h in plan[cut...] where !failed.contains(h) { unpin(h) }
        for k in 0..<cut {
            if entries[plan[k]]!.block >= 0, reads.contains(plan[k]) { metrics.ssdHits += 1 } else { metrics.dramHits += 1 }
        }
        metrics.reusedTokens += result.count * blockSize
        for h in hashes[result.count...] where entries[h] != nil || dropped.contains(h) {
            metrics.recomputedTokens += blockSize
        }
        return result
    }

    private func pin(_ h: UInt64, counting: Bool = true) {
        clock += 1
        var e = entries[h]!
        if e.inPolicy { _ = policy.lookup(Request(time: clock, id: h, size: 1)) }
        if e.pins == 0 { unpinned -= 1 }
        e.pins += 1
        if counting, e.prefetched {
            metrics.prefetchHits += 1
            e.prefetched = false
        }
        entries[h] = e
    }

    private func unpin(_ h: UInt64) {
        var e = entries[h]!
        e.pins -= 1
        if e.pins == 0 {
            unpinned += 1
            if !e.inPolicy {
                clock += 1
                policy.insert(Request(time: clock, id: h, size: 1))
                e.inPolicy = true
            }
        }
        entries[h] = e
    }

    // MARK: - Registration

    public func register(hash: UInt64, tokens: ArraySlice<Int32>, block: Int32) -> Bool {
        guard entries[hash] == nil else { return false }
        dropped.remove(hash)
        clock += 1
        policy.insert(Request(time: clock, id: hash, size: 1))
        entries[hash] = Entry(tokens: Array(tokens), block: block, pins: 1, inPolicy: true)
        owner[block] = hash
        return true
    }

    public func release(_ block: Int32) -> Bool {
        guard let h = owner[block] else { return false }
        unpin(h)
        return true
    }

    // MARK: - Eviction

    @discardableResult
    public func reclaim(_ count: Int) -> Int {
        var victims: [UInt64] = []
        var guardCount = policy.objectCount
        while victims.count < count, unpinned > victims.count, guardCount > 0, policy.objectCount > 0 {
            guardCount -= 1
            clock += 1
            let v = policy.evict(Request(time: clock, id: 0, size: 1))
            entries[v.id]!.inPolicy = false
            // A pinned block leaves the policy and re-enters when its sequence releases it.
            if entries[v.id]!.pins == 0 { victims.append(v.id) }
        }
        guard !victims.isEmpty else { return 0 }
        metrics.evictions += victims.count
        var writes: [UInt64] = []
        for h in victims {
            guard let swapFile else {
                metrics.droppedNoSwap += 1
                drop(h, reason: nil)
                continue
            }
            guard admission.admit(Request(time: clock, id: h, size: Int64(storedBytes))) else {
                metrics.droppedByAdmission += 1
                drop(h, reason: nil)
                continue
            }
            guard let slot = swapFile.allocateSlot() else {
                metrics.droppedSwapFull += 1
                drop(h, reason: "swap file full (\(swapFile.slotCount) slots, ENOSPC): block dropped, recomputed if needed")
                continue
            }
            entries[h]!.slot = slot
            writes.append(h)
        }
        if !writes.isEmpty { swapOut(writes) }
        unpinned -= victims.count
        return victims.count
    }

    /// Writes victims to their slots in batches of the staging size, then frees their DRAM blocks.
    private func swapOut(_ hashes: [UInt64]) {
        guard let swapFile else { return }
        var start = 0
        while start < hashes.count {
            let chunk = Array(hashes[start..<min(hashes.count, start + max(1, stagingCount / 2))])
            start += chunk.count
            var transfers: [SwapFile.Transfer] = []
            for (i, h) in chunk.enumerated() {
                let e = entries[h]!
                let bytes = memory.blockBytes(e.block)
                let buffer = stagingOrDirect(bytes, index: i)
                if compression {
                    Q8Compression.compress(bytes.baseAddress!, count: bytes.count / 2, into: buffer)
                    (buffer + storedBytes).initializeMemory(as: UInt8.self, repeating: 0, count: transferBytes - storedBytes)
                } else if buffer != bytes.baseAddress! {
                    buffer.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    (buffer + storedBytes).initializeMemory(as: UInt8.self, repeating: 0, count: transferBytes - storedBytes)
                }
                entries[h]!.crc = CRC32C.checksum(UnsafeRawBufferPointer(start: buffer, count: storedBytes))
                transfers.append(SwapFile.Transfer(kind: .write, slot: e.slot, buffer: buffer, length: transferBytes))
            }
            let results = swapFile.run(transfers)
            for (i, h) in chunk.enumerated() {
                let block = entries[h]!.block
                if results[i] == Int32(transferBytes) {
                    metrics.swapOuts += 1
                    metrics.bytesWritten += Int64(transferBytes)
                    entries[h]!.block = -1
                    owner.removeValue(forKey: block)
                    memory.releaseBlock(block)
                } else {
                    metrics.writeErrors += 1
                    let why = results[i] < 0 ? "errno \(-results[i])" : "short write of \(results[i]) of \(transferBytes) bytes"
                    drop(h, reason: "write of slot \(entries[h]!.slot) failed (\(why)): block dropped, recomputed if needed")
                }
            }
        }
    }

    /// Forgets `h` wherever it is, freeing its DRAM block and slot; it will be recomputed.
    private func drop(_ h: UInt64, reason: String?) {
        guard let e = entries.removeValue(forKey: h) else { return }
        if e.block >= 0 {
            owner.removeValue(forKey: e.block)
            memory.releaseBlock(e.block)
        }
        if e.slot >= 0 { swapFile?.freeSlot(e.slot) }
        dropped.insert(h)
        // A bound on what is remembered only for the recompute count.
        if dropped.count > 1 << 20 { dropped.removeAll(keepingCapacity: true) }
        if let reason { noteFallback(reason) }
    }

    private func noteFallback(_ reason: String) {
        logger.warning("\(reason)")
        fallbackReasons.append(reason)
        if fallbackReasons.count > 32 { fallbackReasons.removeFirst() }
    }

    // MARK: - Reading back

    /// A buffer for block transfer `index` of a batch: the block itself when O_DIRECT can use
    /// it, else a staging buffer.
    private func stagingOrDirect(_ bytes: UnsafeMutableRawBufferPointer, index: Int) -> UnsafeMutableRawPointer {
        let base = bytes.baseAddress!
        if !compression, Int(bitPattern: base) % SwapFile.alignment == 0, bytes.count == transferBytes { return base }
        return staging! + index * transferBytes
    }

    /// Allocates a DRAM block, evicting one if the pool is full.
    private func takeBlock() -> Int32? {
        if let b = memory.allocateBlock() { return b }
        reclaim(1)
        return memory.allocateBlock()
    }

    /// Checks a block read into `buffer` and moves it into DRAM block `block`; false (and the
    /// reason recorded) when it must not be used.
    private func accept(_ h: UInt64, result: Int32, buffer: UnsafeMutableRawPointer, block: Int32) -> Bool {
        let e = entries[h]!
        guard result == Int32(transferBytes) else {
            metrics.readErrors += 1
            let why = result < 0 ? "errno \(-result)" : "short read of \(result) of \(transferBytes) bytes"
            noteFallback("read of slot \(e.slot) failed (\(why)): block dropped and recomputed")
            return false
        }
        metrics.bytesRead += Int64(transferBytes)
        guard CRC32C.checksum(UnsafeRawBufferPointer(start: buffer, count: storedBytes)) == e.crc else {
            metrics.checksumFailures += 1
            noteFallback("block in slot \(e.slot) failed its CRC32C check: dropped and recomputed")
            return false
        }
        let bytes = memory.blockBytes(block)
        if compression {
            Q8Compression.decompress(buffer, count: bytes.count / 2, into: bytes.baseAddress!)
        } else if buffer != bytes.baseAddress! {
            bytes.baseAddress!.copyMemory(from: buffer, byteCount: bytes.count)
        }
        return true
    }

    /// Reads `hashes` back into DRAM, pinned; returns those that failed (dropped).
    private func swapIn(_ hashes: [UInt64]) -> Set<UInt64> {
        guard let swapFile else { return Set(hashes) }
        var failed = Set<UInt64>()
        var start = 0
        while start < hashes.count {
            let chunk = Array(hashes[start..<min(hashes.count, start + max(1, stagingCount / 2))])
            start += chunk.count
            var transfers: [SwapFile.Transfer] = []
            var targets: [(hash: UInt64, block: Int32, buffer: UnsafeMutableRawPointer)] = []
            for (i, h) in chunk.enumerated() {
                guard let block = takeBlock() else {
                    failed.insert(h)
                    continue
                }
                let buffer = stagingOrDirect(memory.blockBytes(block), index: i)
                transfers.append(SwapFile.Transfer(kind: .read, slot: entries[h]!.slot, buffer: buffer, length: transferBytes))
                targets.append((h, block, buffer))
            }
            let began = ContinuousClock.now
            let results = swapFile.run(transfers)
            costModel.observeRead(bytes: transfers.count * transferBytes, seconds: seconds(ContinuousClock.now - began))
            for (i, t) in targets.enumerated() {
                if accept(t.hash, result: results[i], buffer: t.buffer, block: t.block) {
                    var e = entries[t.hash]!
                    swapFile.freeSlot(e.slot)
                    e.slot = -1
                    e.block = t.block
                    e.pins = 1
                    owner[t.block] = t.hash
                    clock += 1
                    policy.insert(Request(time: clock, id: t.hash, size: 1))
                    e.inPolicy = true
                    entries[t.hash] = e
                } else {
                    memory.releaseBlock(t.block)
                    drop(t.hash, reason: nil)
                    failed.insert(t.hash)
                }
            }
        }
        return failed
    }

    public func prefetch(_ hashes: [UInt64], keepFree: Int, evicting: Int) {
        guard let swapFile, resumeMode != .recompute else { return }
        // The requests' blocks already in DRAM must survive the room made for the others.
        var held: [UInt64] = []
        if evicting > 0 {
            for h in hashes where (entries[h]?.block ?? -1) >= 0 && !entries[h]!.loading {
                pin(h, counting: false)
                held.append(h)
            }
        }
        defer { for h in held { unpin(h) } }
        var allowance = evicting
        for h in hashes {
            guard let e = entries[h], e.block < 0, !e.loading, !freeStaging.isEmpty else { continue }
            if memory.freeBlockCount <= keepFree {
                guard allowance > 0, reclaim(1) == 1 else { return }
                allowance -= 1
            }
            guard memory.freeBlockCount > keepFree, let s = freeStaging.last, let block = memory.allocateBlock() else { return }
            let bytes = memory.blockBytes(block)
            var buffer = bytes.baseAddress!
            var stagingIndex = -1
            if compression || Int(bitPattern: buffer) % SwapFile.alignment != 0 || bytes.count != transferBytes {
                stagingIndex = s
                buffer = staging! + s * transferBytes
            }
            nextTag += 1
            guard swapFile.start(SwapFile.Transfer(kind: .read, slot: e.slot, buffer: buffer, length: transferBytes), tag: nextTag) else {
                memory.releaseBlock(block)
                return
            }
            if stagingIndex >= 0 { freeStaging.removeLast() }
            prefetching[nextTag] = (h, block, stagingIndex)
            entries[h]!.loading = true
            metrics.prefetchReads += 1
        }
    }

    public func finishPrefetch() {
        guard let swapFile, swapFile.startedCount > 0 else { return }
        var arrived: [(UInt64, Int32)] = []
        swapFile.finishStarted { tag, result in arrived.append((tag, result)) }
        for (tag, result) in arrived {
            guard let p = prefetching.removeValue(forKey: tag) else { continue }
            entries[p.hash]!.loading = false
            let buffer = p.staging >= 0 ? staging! + p.staging * transferBytes : memory.blockBytes(p.block).baseAddress!
            if p.staging >= 0 { freeStaging.append(p.staging) }
            if accept(p.hash, result: result, buffer: buffer, block: p.block) {
                var e = entries[p.hash]!
                swapFile.freeSlot(e.slot)
                e.slot = -1
                e.block = p.block
                e.prefetched = true
                owner[p.block] = p.hash
                clock += 1
                policy.insert(Request(time: clock, id: p.hash, size: 1))
                e.inPolicy = true
                entries[p.hash] = e
                unpinned += 1
            } else {
                memory.releaseBlock(p.block)
                drop(p.hash, reason: nil)
            }
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
