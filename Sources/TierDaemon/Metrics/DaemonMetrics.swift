import Metrics

/// The metrics of one target, through swift-metrics (exported by whatever backend the
/// executable bootstraps; tierkitd uses swift-prometheus).
struct TargetMetrics {
    let residentBytes: Gauge
    let swappedBytes: Gauge
    let processes: Gauge
    let requestedPageoutBytes: Counter
    let pagedOutBytes: Counter
    let pageoutShortfallBytes: Counter
    let willneedBytes: Counter
    let refaults: Counter
    let actions: Counter
    let deferredActions: Counter
    let dryRunBytes: Counter

    init(target: String) {
        let d = [("target", target)]
        residentBytes = Gauge(label: "tierkit_target_resident_bytes", dimensions: d)
        swappedBytes = Gauge(label: "tierkit_target_swapped_bytes", dimensions: d)
        processes = Gauge(label: "tierkit_target_processes", dimensions: d)
        requestedPageoutBytes = Counter(label: "tierkit_pageout_requested_bytes_total", dimensions: d)
        pagedOutBytes = Counter(label: "tierkit_pageout_verified_bytes_total", dimensions: d)
        pageoutShortfallBytes = Counter(label: "tierkit_pageout_shortfall_bytes_total", dimensions: d)
        willneedBytes = Counter(label: "tierkit_willneed_requested_bytes_total", dimensions: d)
        refaults = Counter(label: "tierkit_refaults_total", dimensions: d)
        actions = Counter(label: "tierkit_actions_total", dimensions: d)
        deferredActions = Counter(label: "tierkit_actions_deferred_total", dimensions: d)
        dryRunBytes = Counter(label: "tierkit_dry_run_pageout_bytes_total", dimensions: d)
    }
}

/// Daemon-wide metrics.
struct DaemonMetrics {
    let periods = Counter(label: "tierkitd_periods_total")
    let periodSeconds = Gauge(label: "tierkitd_last_period_seconds")
    let dryRun = Gauge(label: "tierkitd_dry_run")
    let swapFreeBytes = Gauge(label: "tierkitd_swap_free_bytes")
    let recorderLostPages = Gauge(label: "tierkitd_recorder_pages_dropped")
}
