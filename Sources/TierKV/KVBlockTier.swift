import TierCore

/// The DRAM pool of KV blocks the tier manages: fixed-size blocks by index, a free list.
/// `PagedKVCache` conforms.
public protocol KVBlockMemory: AnyObject {
    /// Bytes of one block.
    var bytesPerBlock: Int { get }
    /// Blocks in the pool (the DRAM budget).
    var blockCount: Int { get }
    /// Blocks on the free list.
    var freeBlockCount: Int { get }
    /// Takes a block off the free list.
    func allocateBlock() -> Int32?
    /// Puts a block back on the free list.
    func releaseBlock(_ id: Int32)
    /// The bytes of block `id`.
    func blockBytes(_ id: Int32) -> UnsafeMutableRawBufferPointer
}

/// Where the tier holds a block.
public enum KVBlockLocation: Sendable, Equatable {
    case dram(block: Int32)
    case ssd(slot: Int32)
    /// Being read back by a prefetch.
    case loading
}

/// How a request whose cached prefix sits on the SSD tier gets it back.
public enum KVResumeMode: String, Sendable, CaseIterable {
    /// By the cost model (measured read bandwidth against measured prefill speed).
    case auto
    /// Always read it back.
    case swap
    /// Always recompute it.
    case recompute
}

/// The KV-cache tier as the scheduler sees it. Blocks are named by their prefix hash
/// (``PrefixHash``); a block a sequence holds is pinned and never evicted.
public protocol KVBlockTier: AnyObject {
    /// Eviction and admission policies with their parameters.
    var label: String { get }
    var metrics: KVTierMetrics { get }
    var costModel: SwapCostModel { get }
    /// The swap file, when there is one.
    var swapFile: SwapFile? { get }
    /// DRAM blocks the tier can free by eviction now.
    var evictableCount: Int { get }
    /// Recent reasons for falling back to recompute, newest last.
    var fallbackReasons: [String] { get }

    /// Pins and returns the DRAM blocks of the longest cached prefix of `hashes` (block k holds
    /// `tokens[k*blockSize..<(k+1)*blockSize]`), reading blocks back from the SSD tier when the
    /// resume mode and cost model say so. A block that fails its checksum or its read is dropped
    /// and the prefix ends before it.
    func acquire(_ hashes: [UInt64], tokens: [Int32], blockSize: Int) -> [Int32]
    /// Makes a full block that a sequence just computed (and holds) a cached block; false when
    /// the tier already has that hash (the caller keeps its block private).
    func register(hash: UInt64, tokens: ArraySlice<Int32>, block: Int32) -> Bool
    /// Unpins `block`; false when the tier does not own it (the caller frees it).
    func release(_ block: Int32) -> Bool
    /// Evicts until `count` more blocks are free (victims written to the SSD tier or dropped as
    /// admission says); returns how many were freed.
    @discardableResult func reclaim(_ count: Int) -> Int
    /// Starts reading back SSD-resident blocks among `hashes` into free blocks beyond
    /// `keepFree`, evicting up to `evicting` unpinned blocks (never one of `hashes`) for room.
    func prefetch(_ hashes: [UInt64], keepFree: Int, evicting: Int)
    /// Waits for started prefetches and makes the blocks that arrived intact cached DRAM blocks.
    func finishPrefetch()
    /// Records a forward step that prefilled `tokens` prompt tokens in `seconds` (the cost
    /// model's prefill speed).
    func observePrefill(tokens: Int, seconds: Double)
    /// Where the tier holds `hash`, nil when it does not.
    func location(of hash: UInt64) -> KVBlockLocation?
    /// Whether the tier once held `hash` and gave it up (so prefilling it is a recompute).
    func wasDropped(_ hash: UInt64) -> Bool
}
