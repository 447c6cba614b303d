import Testing
@testable import TierInfer

struct KVCacheTests {
    @Test func blocksAreAllocatedPerSixteenTokensAndFreedOnClose() throws {
        let cache = PagedKVCache(layers: 2, kvHeads: 3, headDim: 64, blockSize: 16, blockCount: 5, maxSequences: 2, maxLength: 64)
        #expect(cache.bytesPerBlock == 2 * 2 * 3 * 16 * 64 * 2)
        let a = cache.openSequence()!, b = cache.openSequence()!
        #expect(cache.openSequence() == nil)
        try cache.extend(slot: a, to: 1)
        #expect(cache.blockTable(of: a) == [0])
        try cache.extend(slot: a, to: 16)
        #expect(cache.blockTable(of: a) == [0])
        try cache.extend(slot: b, to: 17)
        #expect(cache.blockTable(of: b) == [1, 2])
        try cache.extend(slot: a, to: 33)
        #expect(cache.blockTable(of: a) == [0, 3, 4])
        #expect(cache.freeBlockCount == 0)
        #expect(throws: InferError.kvCacheFull(blocksInUse: 5)) { try cache.extend(slot: b, to: 33) }
        #expect(throws: InferError.contextOverflow(length: 65, limit: 64)) { try cache.extend(slot: a, to: 65) }
        cache.closeSequence(b)
        #expect(cache.freeBlockCount == 2)
        let c = cache.openSequence()!
        try cache.extend(slot: c, to: 20)
        #expect(cache.blockTable(of: c) == [2, 1])
        // Entries of one (layer, kind, head) are contiguous within a block.
        let e0 = cache.entry(slot: a, position: 16, layer: 1, kind: 1, kvHead: 2)
        let e1 = cache.entry(slot: a, position: 17, layer: 1, kind: 1, kvHead: 2)
        #expect(e1 - e0 == 64)
        #expect(UnsafeMutableRawPointer(e0) - cache.bytes(of: 3).baseAddress! == (((1 * 2 + 1) * 3 + 2) * 16) * 128)
    }
}
