/// What the KV tier did, in blocks, bytes and tokens.
public struct KVTierMetrics: Sendable, Equatable {
    /// Prefix blocks found in DRAM.
    public var dramHits = 0
    /// Prefix blocks read back from the SSD tier on demand.
    public var ssdHits = 0
    /// Blocks read back ahead of need (prefetch), and those later used.
    public var prefetchReads = 0
    public var prefetchHits = 0
    /// Blocks the eviction policy chose.
    public var evictions = 0
    /// Victims written to the SSD tier.
    public var swapOuts = 0
    /// Victims dropped: the admission policy said no, the swap file was full, or there is none.
    public var droppedByAdmission = 0
    public var droppedSwapFull = 0
    public var droppedNoSwap = 0
    /// Bytes moved to and from the swap file.
    public var bytesWritten: Int64 = 0
    public var bytesRead: Int64 = 0
    /// Failures, each degraded to recompute.
    public var checksumFailures = 0
    public var readErrors = 0
    public var writeErrors = 0
    /// Prompt tokens served from cached blocks instead of being prefilled.
    public var reusedTokens = 0
    /// Prompt tokens run through the model.
    public var prefilledTokens = 0
    /// Prefilled tokens of blocks the tier had held once (dropped, failed, or skipped by the cost model).
    public var recomputedTokens = 0
    /// Resumed requests whose cached blocks on the SSD tier were swapped in, or recomputed
    /// because the cost model found recompute cheaper.
    public var resumedBySwap = 0
    public var resumedByRecompute = 0

    public init() {}

    /// The metrics as name/value pairs, in a fixed order (for JSON and text output).
    public var fields: [(String, Int64)] {
        [("dram_hits", Int64(dramHits)), ("ssd_hits", Int64(ssdHits)),
         ("prefetch_reads", Int64(prefetchReads)), ("prefetch_hits", Int64(prefetchHits)),
         ("evictions", Int64(evictions)), ("swap_outs", Int64(swapOuts)),
         ("dropped_by_admission", Int64(droppedByAdmission)), ("dropped_swap_full", Int64(droppedSwapFull)),
         ("dropped_no_swap", Int64(droppedNoSwap)),
         ("bytes_written", bytesWritten), ("bytes_read", bytesRead),
         ("checksum_failures", Int64(checksumFailures)), ("read_errors", Int64(readErrors)),
         ("write_errors", Int64(writeErrors)),
         ("reused_tokens", Int64(reusedTokens)), ("prefilled_tokens", Int64(prefilledTokens)),
         ("recomputed_tokens", Int64(recomputedTokens)),
         ("resumed_by_swap", Int64(resumedBySwap)), ("resumed_by_recompute", Int64(resumedByRecompute))]
    }
}
