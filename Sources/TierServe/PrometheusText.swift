import TierKV

/// Prometheus text exposition (format 0.0.4) of an engine's metrics, written by hand: every
/// family has `# HELP` and `# TYPE`, counters end in `_total`, each sample is
/// `name{labels} value` on one line.
public enum PrometheusText {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ m: EngineMetrics) -> String {
        var out = Writer()
        out.family("tierkit_requests_total", .counter, "Requests submitted to the engine.", [([:], m.requests)])
        out.family("tierkit_requests_ended_total", .counter, "Requests that ended, by how.", [
            (["outcome": "finished"], m.finishedRequests), (["outcome": "failed"], m.failedRequests),
            (["outcome": "cancelled"], m.cancelledRequests),
        ])
        out.family("tierkit_prompt_tokens_total", .counter, "Prompt tokens submitted.", [([:], m.promptTokens)])
        out.family("tierkit_generated_tokens_total", .counter, "Tokens generated.", [([:], m.generatedTokens)])
        out.family("tierkit_forward_steps_total", .counter, "Forward steps of the batch.", [([:], m.steps)])
        out.family("tierkit_running_sequences", .gauge, "Sequences in the batch.", [([:], m.running)])
        out.family("tierkit_preemptions_total", .counter, "Sequences preempted for lack of KV blocks.", [([:], m.preemptions)])
        out.family("tierkit_kv_blocks", .gauge, "KV blocks in the DRAM pool, by state.", [
            (["state": "total"], m.kvBlocks), (["state": "free"], m.kvFreeBlocks), (["state": "cached"], m.kvCachedBlocks),
        ])
        out.family("tierkit_kv_block_bytes", .gauge, "Bytes of one KV block.", [([:], m.kvBlockBytes)])
        guard let kv = m.kv else { return out.text }
        out.family("tierkit_kv_hits_total", .counter, "Prefix blocks reused, by the tier they were found in.", [
            (["tier": "dram"], kv.dramHits), (["tier": "ssd"], kv.ssdHits),
        ])
        out.family("tierkit_kv_prefetch_reads_total", .counter, "Blocks read back ahead of need.", [([:], kv.prefetchReads)])
        out.family("tierkit_kv_prefetch_hits_total", .counter, "Prefetched blocks later used.", [([:], kv.prefetchHits)])
        out.family("tierkit_kv_evictions_total", .counter, "Blocks the eviction policy chose.", [([:], kv.evictions)])
        out.family("tierkit_kv_swap_outs_total", .counter, "Evicted blocks written to the swap file.", [([:], kv.swapOuts)])
        out.family("tierkit_kv_dropped_total", .counter, "Evicted blocks dropped, by reason.", [
            (["reason": "admission"], kv.droppedByAdmission), (["reason": "swap_full"], kv.droppedSwapFull),
            (["reason": "no_swap"], kv.droppedNoSwap),
        ])
        out.family("tierkit_kv_written_bytes_total", .counter, "Bytes written to the swap file.", [([:], Int(kv.bytesWritten))])
        out.family("tierkit_kv_read_bytes_total", .counter, "Bytes read from the swap file.", [([:], Int(kv.bytesRead))])
        out.family("tierkit_kv_checksum_failures_total", .counter, "Blocks read back with a wrong CRC32C (recomputed).", [([:], kv.checksumFailures)])
        out.family("tierkit_kv_io_errors_total", .counter, "Swap file I/O errors (degraded to recompute), by direction.", [
            (["op": "read"], kv.readErrors), (["op": "write"], kv.writeErrors),
        ])
        out.family("tierkit_kv_prompt_tokens_total", .counter, "Prompt tokens by how their keys and values were obtained.", [
            (["source": "reused"], kv.reusedTokens), (["source": "prefilled"], kv.prefilledTokens),
        ])
        out.family("tierkit_kv_recomputed_tokens_total", .counter, "Prefilled tokens of blocks the tier had held once.", [([:], kv.recomputedTokens)])
        out.family("tierkit_kv_resumes_total", .counter, "Requests with cached blocks on the swap file, by the cost model's choice.", [
            (["mode": "swap"], kv.resumedBySwap), (["mode": "recompute"], kv.resumedByRecompute),
        ])
        return out.text
    }

    private enum Kind: String { case counter, gauge }

    private struct Writer {
        var text = ""

        mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [([String: String], Int)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
            for (labels, value) in samples {
                // Label values here are fixed identifiers; sorting keeps the output stable.
                let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
                text += rendered.isEmpty ? "\(name) \(value)\n" : "\(name){\(rendered)} \(value)\n"
            }
        }
    }
}
