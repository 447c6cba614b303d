import Logging
import TierBPF
import TierCore
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Nanoseconds on CLOCK_MONOTONIC (the clock of the recorder's fault times).
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The paging loop: every period, per target, observe, ask the policy, act, verify.
///
/// Owns the fault recorder and every process handle, so it lives on one task (libbpf handles
/// are not thread-safe); the control socket reaches it only through ``DaemonState``.
final class PagingLoop {
    let state: DaemonState
    let logger: Logger
    let periodSeconds: Double
    let resolver = TargetResolver()
    private(set) var recorder: PageFaultRecorder?
    private var recorderPIDs = Set<Int32>()
    private var targets: [TargetRunner]
    private var lastPeriod: UInt64
    private let metrics = DaemonMetrics()

    init(configuration: DaemonConfiguration, state: DaemonState, logger: Logger) {
        self.state = state
        self.logger = logger
        periodSeconds = configuration.periodSeconds
        let now = monotonicNanoseconds()
        lastPeriod = now
        targets = configuration.targets.enumerated().map { index, target in
            TargetRunner(index: index, configuration: target, periodSeconds: configuration.periodSeconds, now: now)
        }
        // Aggregate mode: one kernel hash map of per-page fault counts for the target pids,
        // nothing per fault in user space. Without it (no BPF), refaults still come from
        // pagemap transitions.
        do {
            let recorder = try PageFaultRecorder(options: .init(mode: .aggregate, filterByPID: true, followForks: false, maxPages: 1 << 20))
            try recorder.attach()
            self.recorder = recorder
            logger.info("fault recorder attached", metadata: ["mode": "aggregate"])
        } catch {
            logger.warning("fault recorder unavailable; refaults come from pagemap alone", metadata: ["error": "\(error)"])
        }
    }

    /// Detaches the recorder and lets every pidfd go.
    func shutdown() {
        recorder?.detach()
        recorder = nil
        targets = []
    }

    /// One period for every target.
    func runPeriod() {
        let now = monotonicNanoseconds()
        let elapsed = max(1, now - lastPeriod)
        let since = lastPeriod
        lastPeriod = now
        let memory = try? MemoryInfo.read()
        let pressure = (try? MemoryPressure.read()).flatMap { $0 }
        let swapActive = SwapAreas.anyActive()
        let dryRun = state.dryRun

        // Faults in the period, by pid and virtual page.
        var faults: [Int32: [UInt64: Int]] = [:]
        if let recorder {
            do {
                let statistics = try recorder.pageStatistics()
                for (key, stats) in statistics where stats.lastNanoseconds > since {
                    faults[key.pid, default: [:]][key.page] = Int(stats.count)
                }
                // Keep the kernel map from filling: counts restart, last times are enough.
                if statistics.count > (1 << 19) { try recorder.clearPageStatistics() }
                metrics.recorderLostPages.record(Int64(try recorder.counters().pagesDropped))
            } catch {
                logger.warning("reading the fault recorder failed", metadata: ["error": "\(error)"])
            }
        }

        var context = PeriodContext(
            now: now, elapsed: elapsed, memory: memory, pressure: pressure, swapActive: swapActive, dryRun: dryRun,
            faults: faults, resolver: resolver, logger: logger, state: state)
        for target in targets {
            target.run(&context)
        }
        syncRecorder(context.activePIDs)
        state.shared.withLock { shared in
            shared.periods += 1
            shared.swapTotalBytes = memory?.swapTotal ?? 0
            shared.swapFreeBytes = memory?.swapFree ?? 0
        }
        metrics.periods.increment()
        metrics.periodSeconds.record(Double(monotonicNanoseconds() - now) / 1e9)
        metrics.dryRun.record(dryRun ? 1 : 0)
        metrics.swapFreeBytes.record(memory?.swapFree ?? 0)
    }

    /// Makes the recorder's pid filter equal the processes now targeted.
    private func syncRecorder(_ pids: Set<Int32>) {
        guard let recorder else { return }
        for pid in pids.subtracting(recorderPIDs) {
            do { try recorder.addTarget(pid: pid) } catch {
                logger.warning("recorder cannot watch pid", metadata: ["pid": "\(pid)", "error": "\(error)"])
            }
        }
        for pid in recorderPIDs.subtracting(pids) { try? recorder.removeTarget(pid: pid) }
        recorderPIDs = pids
    }
}

/// What every target's period shares.
struct PeriodContext {
    var now: UInt64
    var elapsed: UInt64
    var memory: MemoryInfo?
    var pressure: MemoryPressure?
    var swapActive: Bool
    var dryRun: Bool
    var faults: [Int32: [UInt64: Int]]
    var resolver: TargetResolver
    var logger: Logger
    var state: DaemonState
    var activePIDs = Set<Int32>()
}
