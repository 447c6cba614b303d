import TierKV

/// A paged key/value cache: a pool of fixed-size blocks, each holding the keys and values of
/// `blockSize` consecutive tokens of one sequence for every layer, and a block table per sequence
/// slot mapping token positions to blocks.
///
/// A block is one contiguous byte range (`bytes(of:)`) identified by its index, so a swap tier can
/// move it as a unit. Within a block the layout is `[layer][K or V][kv head][slot][head dim]` in
/// f16, so attention reads each head's keys for a block contiguously.
public final class PagedKVCache: @unchecked Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Tokens per block.
    public let blockSize: Int
    /// Number of blocks in the pool.
    public let blockCount: Int
    /// Bytes of one block.
    public let bytesPerBlock: Int
    /// Number of sequence slots.
    public let maxSequences: Int
    /// Longest sequence, in tokens.
    public let maxLength: Int

    let maxBlocksPerSequence: Int
    let storage: AlignedBuffer
    /// `maxSequences * maxBlocksPerSequence` block ids, one row per slot.
    let tables: UnsafeMutablePointer<Int32>
    private let tableOwner: AlignedBuffer
    private var lengths: [Int]
    private var slotOpen: [Bool]
    private var freeBlocks: [Int32]
    private var freeSlots: [Int]

    /// A pool of `blockCount` blocks of `blockSize` tokens for up to `maxSequences` sequences of
    /// at most `maxLength` tokens.
    public init(
        layers: Int, kvHeads: Int, headDim: Int, blockSize: Int = 16, blockCount: Int,
        maxSequences: Int, maxLength: Int
    ) {
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.maxSequences = maxSequences
        self.maxLength = maxLength
        bytesPerBlock = layers * 2 * kvHeads * blockSize * headDim * MemoryLayout<Float16>.size
        maxBlocksPerSequence = (maxLength + blockSize - 1) / blockSize
        // Page-aligned, so the KV tier's O_DIRECT reads and writes use blocks in place.
        storage = AlignedBuffer(byteCount: blockCount * bytesPerBlock, alignment: 4096)
        tableOwner = AlignedBuffer(byteCount: maxSequences * maxBlocksPerSequence * 4)
        tables = tableOwner.base.bindMemory(to: Int32.self, capacity: maxSequences * maxBlocksPerSequence)
        lengths = Array(repeating: 0, count: maxSequences)
        slotOpen = Array(repeating: false, count: maxSequences)
        freeBlocks = Array((0..<Int32(blockCount)).reversed())
        freeSlots = Array((0..<maxSequences).reversed())
    }

    /// Blocks not held by any sequence.
    public var freeBlockCount: Int { freeBlocks.count }

    /// Sequence slots not in use.
    public var freeSequenceCount: Int { freeSlots.count }

    /// The bytes of block `id`.
    public func bytes(of id: Int32) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage.base + Int(id) * bytesPerBlock, count: bytesPerBlock)
    }

    /// Opens an empty sequence and returns its slot, or nil when all slots are in use.
    public func openSequence() -> Int? {
        guard let slot = freeSlots.popLast() else { return nil }
        slotOpen[slot] = true
        lengths[slot] = 0
        return slot
    }

    /// Number of tokens the sequence in `slot` holds.
    public func length(of slot: Int) -> Int { lengths[slot] }

    /// The block ids of the sequence in `slot`, in position order.
    public func blockTable(of slot: Int) -> [Int32] {
        let used = (lengths[slot] + blockSize - 1) / blockSize
        return Array(UnsafeBufferPointer(start: tables + slot * maxBlocksPerSequence, count: used))
    }

    /// Blocks needed to grow the sequence in `slot` to `length` tokens.
    public func blocksNeeded(slot: Int, length: Int) -> Int {
        let have = (lengths[slot] + blockSize - 1) / blockSize
        return max(0, (length + blockSize - 1) / blockSize - have)
    }

    /// Grows the sequence in `slot` to `length` tokens, taking blocks from the pool.
    public func extend(slot: Int, to length: Int) throws(InferError) {
        precondition(slotOpen[slot])
        guard length <= maxLength else { throw .contextOverflow(length: length, limit: maxLength) }
        let needed = blocksNeeded(slot: slot, length: length)
        guard needed <= freeBlocks.count else { throw .kvCacheFull(blocksInUse: blockCount - freeBlocks.count) }
        var have = (lengths[slot] + blockSize - 1) / blockSize
        for _ in 0..<needed {
            tables[slot * maxBlocksPerSequence + have] = freeBlocks.removeLast()
            have += 1
        }
        lengths[slot] = max(lengths[slot], length)
    }

    /// Ends the sequence in `slot` and returns its blocks to the pool, except those `keep` takes
    /// (the KV tier keeps cached blocks).
    public func closeSequence(_ slot: Int, keep: (Int32) -> Bool = { _ in false }) {
        precondition(slotOpen[slot])
        let used = (lengths[slot] + blockSize - 1) / blockSize
        for i in 0..<used {
            let block = tables[slot * maxBlocksPerSequence + i]
            if !keep(block) { freeBlocks.append(block) }
        }
        lengths[slot] = 0
        slotOpen[slot] = false
        freeSlots.append(slot)
    }

    /// Starts the empty sequence in `slot` with `blocks` already filled: its first
    /// `blocks.count * blockSize` tokens (a cached prefix).
    public func attach(slot: Int, blocks: [Int32]) {
        precondition(slotOpen[slot] && lengths[slot] == 0 && blocks.count <= maxBlocksPerSequence)
        for (i, b) in blocks.enumerated() { tables[slot * maxBlocksPerSequence + i] = b }
        lengths[slot] = blocks.count * blockSize
    }

    /// Address of the `headDim` f16 values of `kind` (0 keys, 1 values) for `layer`, `kvHead`,
    /// at `position` of the sequence in `slot`.
    @inline(__always)
    func entry(slot: Int, position: Int, layer: Int, kind: Int, kvHead: Int) -> UnsafeMutablePointer<Float16> {
        let block = Int(tables[slot * maxBlocksPerSequence + position / blockSize])
        let offset = (((layer * 2 + kind) * kvHeads + kvHead) * blockSize + position % blockSize) * headDim
        return (storage.base + block * bytesPerBlock).assumingMemoryBound(to: Float16.self) + offset
    }
}

/// The pool as the KV tier sees it: blocks by index and the free list.
extension PagedKVCache: KVBlockMemory {
    public func allocateBlock() -> Int32? { freeBlocks.popLast() }
    public func releaseBlock(_ id: Int32) { freeBlocks.append(id) }
    public func blockBytes(_ id: Int32) -> UnsafeMutableRawBufferPointer { bytes(of: id) }
}
