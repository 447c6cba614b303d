import Foundation
import Testing
import TierCore
import TierInfer
import TierKV

/// Most recently used, written here against TierCore's protocol: it evicts the newest block,
/// and records every victim so the test sees what drove the tier.
struct RecordingMRU: EvictionPolicy {
    static let name = "test-mru"
    let capacity: Int64
    let index = IdTable()
    let nodes = NodePool<ObjectNode>()
    var queue = ListHead()
    var victims: [UInt64] = []

    init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError) {
        try parameters.finish(known: [])
        self.capacity = capacity
    }
    var occupied: Int64 { queue.bytes }
    var objectCount: Int { queue.count }

    mutating func lookup(_ r: Request) -> Bool {
        guard let i = index.find(r.id) else { return false }
        nodes.moveToHead(i, &queue)
        return true
    }
    mutating func insert(_ r: Request) {
        let i = nodes.allocate(ObjectNode(id: r.id, size: r.size))
        nodes.pushHead(i, &queue, size: r.size)
        index.set(r.id, i)
    }
    mutating func evict(_ r: Request) -> Victim {
        let i = queue.head
        let victim = Victim(id: nodes[i].id, size: nodes[i].size)
        nodes.unlink(i, &queue, size: victim.size)
        _ = index.remove(victim.id)
        nodes.free(i)
        victims.append(victim.id)
        return victim
    }
    mutating func remove(_ id: UInt64) -> Bool {
        guard let i = index.remove(id) else { return false }
        nodes.unlink(i, &queue, size: nodes[i].size)
        nodes.free(i)
        return true
    }
}

/// A pool of 4 KiB blocks (one layer, one KV head of 64 dims, 16 tokens): the tier's real
/// memory without a model.
private func smallPool(blocks: Int) -> PagedKVCache {
    PagedKVCache(layers: 1, kvHeads: 1, headDim: 64, blockCount: blocks, maxSequences: 4, maxLength: 256)
}

/// Fills block `b` with a pattern derived from `seed`.
private func fill(_ pool: PagedKVCache, _ b: Int32, seed: Int) {
    let bytes = pool.bytes(of: b)
    for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 13 &+ seed &* 101) }
}

private func matches(_ pool: PagedKVCache, _ b: Int32, seed: Int) -> Bool {
    let bytes = pool.bytes(of: b)
    return (0..<bytes.count).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 13 &+ seed &* 101) }
}

/// Registers `count` sequential blocks (one sequence's prefix) and releases them: all cached, unpinned.
private func cacheBlocks(_ tier: any KVBlockTier, _ pool: PagedKVCache, tokens: [Int32], seed: Int) -> [UInt64] {
    let hashes = PrefixHash.chain(tokens, blockSize: 16)
    for (k, h) in hashes.enumerated() {
        var block = pool.allocateBlock()
        if block == nil {
            tier.reclaim(1)
            block = pool.allocateBlock()
        }
        let b = block!
        fill(pool, b, seed: seed + k)
        #expect(tier.register(hash: h, tokens: tokens[k * 16..<(k + 1) * 16], block: b))
        #expect(tier.release(b))
    }
    return hashes
}

private func onSSD(_ tier: any KVBlockTier, _ h: UInt64) -> Bool {
    if case .ssd? = tier.location(of: h) { return true }
    return false
}

@Suite struct KVTierTests {
    @Test func swapOutAndBackIsExact() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 4)
        let tier = try KVTiers.make(memory: pool, policy: "lru", swap: KVSwapConfiguration(path: dir.file("swap"), size: 1 << 20, queueDepth: 4))
        let a = syntheticPrompt(48, seed: 1), b = syntheticPrompt(48, seed: 2)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 10)
        #expect(tier.evictableCount == 3 && pool.freeBlockCount == 1)
        // B's three blocks need room: LRU evicts A's blocks, oldest first, to the swap file.
        _ = cacheBlocks(tier, pool, tokens: b, seed: 20)
        #expect(tier.metrics.evictions == 2 && tier.metrics.swapOuts == 2)
        #expect(tier.location(of: ha[0]) == .ssd(slot: 0) && tier.location(of: ha[1]) == .ssd(slot: 1))
        #expect(tier.metrics.bytesWritten == 2 * 4096)
        // A comes back: its first two blocks from the SSD, the third from DRAM, bytes identical.
        let held = tier.acquire(ha, tokens: a, blockSize: 16)
        #expect(held.count == 3)
        for (k, block) in held.enumerated() { #expect(matches(pool, block, seed: 10 + k)) }
        #expect(tier.metrics.ssdHits == 2 && tier.metrics.dramHits == 1 && tier.metrics.reusedTokens == 48)
        #expect(tier.metrics.bytesRead == 2 * 4096 && tier.metrics.checksumFailures == 0)
        // Different tokens under the same hashes are never served.
        var wrong = a
        wrong[3] += 1
        for blk in held { #expect(tier.release(blk)) }
        #expect(tier.acquire(ha, tokens: wrong, blockSize: 16).isEmpty)
    }

    @Test func prefetchReadsAheadAndCountsHits() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 4)
        let tier = try KVTiers.make(memory: pool, swap: KVSwapConfiguration(path: dir.file("swap"), size: 1 << 20, queueDepth: 4))
        let a = syntheticPrompt(48, seed: 6), b = syntheticPrompt(16, seed: 7)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 60)
        tier.reclaim(3)
        let hb = cacheBlocks(tier, pool, tokens: b, seed: 70)
        #expect(pool.freeBlockCount == 3)
        // Free blocks only, keeping one free: two of A's three blocks are read ahead.
        tier.prefetch(ha, keepFree: 1, evicting: 0)
        #expect(tier.location(of: ha[0]) == .loading && tier.location(of: ha[2]) == .ssd(slot: 2))
        tier.finishPrefetch()
        #expect(tier.metrics.prefetchReads == 2 && pool.freeBlockCount == 1)
        // Allowed to evict one block (B's, never A's): the third arrives too.
        tier.prefetch(ha, keepFree: 1, evicting: 1)
        tier.finishPrefetch()
        #expect(tier.metrics.prefetchReads == 3 && onSSD(tier, hb[0]))
        let held = tier.acquire(ha, tokens: a, blockSize: 16)
        #expect(held.count == 3 && tier.metrics.prefetchHits == 3 && tier.metrics.ssdHits == 0)
        for (k, block) in held.enumerated() { #expect(matches(pool, block, seed: 60 + k)) }
    }

    @Test func corruptBlockIsDetectedAndDropped() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 2)
        let tier = try KVTiers.make(memory: pool, swap: KVSwapConfiguration(path: dir.file("swap"), size: 1 << 20, queueDepth: 4))
        let a = syntheticPrompt(32, seed: 3)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 30)
        tier.reclaim(2)
        guard case .ssd(let slot)? = tier.location(of: ha[0]) else { Issue.record("block 0 not on the SSD"); return }
        // Flip one byte of block 0 on disk, behind the tier's back.
        let fd = open(dir.file("swap"), O_RDWR)
        #expect(fd >= 0)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, off_t(tier.swapFile!.offset(of: slot)) + 1000) == 1)
        byte ^= 0x40
        #expect(pwrite(fd, &byte, 1, off_t(tier.swapFile!.offset(of: slot)) + 1000) == 1)
        close(fd)
        let held = tier.acquire(ha, tokens: a, blockSize: 16)
        #expect(held.isEmpty)                      // block 0 failed, so the prefix is empty
        #expect(tier.metrics.checksumFailures == 1)
        #expect(tier.location(of: ha[0]) == nil && tier.wasDropped(ha[0]))
        #expect(tier.metrics.recomputedTokens == 32)
        #expect(tier.fallbackReasons.last?.contains("CRC32C") == true)
    }

    @Test func fullSwapFileAndReadErrorsDegradeToRecompute() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 3)
        // Room for exactly one block on the SSD.
        let tier = try KVTiers.make(memory: pool, swap: KVSwapConfiguration(path: dir.file("swap"), size: 4096, queueDepth: 2))
        let a = syntheticPrompt(48, seed: 4)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 40)
        #expect(tier.reclaim(3) == 3)
        #expect(tier.metrics.swapOuts == 1 && tier.metrics.droppedSwapFull == 2)
        #expect(tier.location(of: ha[0]) == .ssd(slot: 0) && tier.location(of: ha[1]) == nil)
        #expect(pool.freeBlockCount == 3)
        // The one stored block fails to read: survived, dropped, counted.
        tier.swapFile!.faultHook = { kind, _ in kind == .read ? .error(EIO) : nil }
        #expect(tier.acquire(ha, tokens: a, blockSize: 16).isEmpty)
        #expect(tier.metrics.readErrors == 1 && tier.location(of: ha[0]) == nil)
        #expect(pool.freeBlockCount == 3 && tier.swapFile!.freeSlotCount == 1)
        #expect(tier.fallbackReasons.contains { $0.contains("ENOSPC") } && tier.fallbackReasons.last!.contains("errno \(EIO)"))
    }

    @Test func aPolicyFromTheTestDrivesTheTier() throws {
        let pool = smallPool(blocks: 4)
        var parameters = PolicyParameters(policy: RecordingMRU.name)
        let tier = try KVTier(memory: pool, policy: try RecordingMRU(capacity: 4, parameters: &parameters),
                              admission: AdmitAll(), swap: nil)
        let a = syntheticPrompt(48, seed: 5)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 50)
        // MRU gives up the newest block first; without a swap file the victims are dropped.
        #expect(tier.reclaim(2) == 2)
        #expect(tier.policy.victims == [ha[2], ha[1]])
        #expect(tier.metrics.droppedNoSwap == 2)
        #expect(tier.acquire(ha, tokens: a, blockSize: 16).count == 1)
        #expect(tier.metrics.recomputedTokens == 32)
    }

    @Test func costModelAndResumeModeChooseRecompute() throws {
        var model = SwapCostModel()
        #expect(model.prefersSwap(blocks: 1, bytesPerBlock: 368_640, tokensPerBlock: 16))   // unmeasured: read
        model.observeRead(bytes: 1 << 20, seconds: 1)          // 1 MiB/s
        model.observePrefill(tokens: 200, seconds: 1)          // 200 tokens/s
        // 360 KiB at 1 MiB/s is 0.35 s; 16 tokens at 200/s is 0.08 s: recompute.
        #expect(!model.prefersSwap(blocks: 1, bytesPerBlock: 368_640, tokensPerBlock: 16))
        model.observeRead(bytes: 1 << 30, seconds: 1)
        #expect(model.prefersSwap(blocks: 1, bytesPerBlock: 368_640, tokensPerBlock: 16))

        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 4)
        let tier = try KVTiers.make(memory: pool, swap: KVSwapConfiguration(path: dir.file("swap"), size: 1 << 20), resume: .recompute)
        let a = syntheticPrompt(48, seed: 8)
        let ha = cacheBlocks(tier, pool, tokens: a, seed: 80)
        tier.reclaim(1)                                        // block 0 to the SSD, 1 and 2 stay
        #expect(tier.acquire(ha, tokens: a, blockSize: 16).isEmpty)
        #expect(tier.metrics.resumedByRecompute == 1 && tier.metrics.ssdHits == 0 && tier.metrics.recomputedTokens == 48)
    }

    @Test func compressedBlocksComeBackWithinQ8Error() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let pool = smallPool(blocks: 2)
        let tier = try KVTiers.make(memory: pool, swap: KVSwapConfiguration(path: dir.file("swap"), size: 1 << 20, compression: true))
        let a = syntheticPrompt(16, seed: 9)
        let h = PrefixHash.chain(a, blockSize: 16)[0]
        let b = pool.allocateBlock()!
        let values = pool.bytes(of: b).bindMemory(to: Float16.self)
        for i in values.indices { values[i] = Float16(Float(i % 61) * 0.03 - 0.9) }
        let original = Array(values)
        #expect(tier.register(hash: h, tokens: a[...], block: b) && tier.release(b))
        tier.reclaim(1)
        #expect(tier.metrics.bytesWritten == 4096)             // 2048 values as Q8_0: 2176 bytes, one page
        let held = tier.acquire([h], tokens: a, blockSize: 16)
        #expect(held.count == 1)
        let back = pool.bytes(of: held[0]).bindMemory(to: Float16.self)
        for i in back.indices { #expect(abs(Float(back[i]) - Float(original[i])) <= 0.9 / 127 * 0.5 + 0.002) }
    }

    @Test func namesResolveThroughTheRegistry() throws {
        let pool = smallPool(blocks: 4)
        #expect(try KVTiers.make(memory: pool, policy: "s3fifo", admission: "prob:prob=0.5").label.hasPrefix("s3fifo"))
        #expect(try KVTiers.make(memory: pool, policy: "arc").label.hasPrefix("arc"))
        #expect(throws: KVTierError.self) { try KVTiers.make(memory: pool, policy: "nope") }
        #expect(throws: KVTierError.self) { try KVTiers.make(memory: pool, policy: "belady") }
    }
}
