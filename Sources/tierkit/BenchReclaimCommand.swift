import ArgumentParser
import Foundation
import TierCore
import TierDaemon
import TierHost

/// `tierkit bench reclaim`: the hotcold workload alone and under tierkitd with each paging policy.
struct BenchReclaim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reclaim",
        abstract: "Run a hotcold workload alone and under each paging policy; print a JSON array (needs root).",
        discussion: """
            For each policy, starts `tierkit workload hotcold` and tierkitd targeting it, samples \
            the workload's cold set in pagemap every half second, and reports per policy: \
            policy, cold_bytes, reclaimed_bytes (cold bytes in swap at the end), reclaimed_share, \
            seconds_to_90_percent (from the daemon's start), throughput_loss (1 − median \
            operations/s against the workload alone), refaults (counted by the daemon), \
            hot_resident_share and a time series of the cold share in swap. Without active swap \
            it creates a zram device for the run and removes it afterwards.

            Example:
              tierkit bench reclaim --duration 60s --size 1GiB
            """
    )

    @Option(help: "How long each run lasts.")
    var duration = "60s"

    @Option(help: "The workload's memory.")
    var size = "1GiB"

    @Option(help: "The workload's hot share.")
    var hot = "10%"

    @Option(help: "The daemon's period.")
    var period = "1s"

    @Option(help: "Policies to run, separated by ';' (name:key=value,...); default: cold-age, refault, prefetch.")
    var policies: String?

    @Flag(help: "Leave out the time series.")
    var noSeries = false

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("bench reclaim needs root (tierkitd, pagemap of another process, zram)") }
        guard let ns = DurationText.parse(duration), ns >= 5_000_000_000 else { throw ValidationError("--duration: at least 5s") }
        guard let periodNs = DurationText.parse(period), periodNs >= 50_000_000 else { throw ValidationError("--period: at least 50ms") }
        let bytes = try parseByteSize(size, option: "--size")
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let tierkitd = own.deletingLastPathComponent().appendingPathComponent("tierkitd").path
        guard FileManager.default.isExecutableFile(atPath: tierkitd) else {
            throw ValidationError("tierkitd is not built next to tierkit (\(tierkitd)); run `swift build -c release` first")
        }
        var created: ZramSwap? = nil
        if !SwapAreas.anyActive() {
            created = try ZramSwap.create(size: max(bytes * 2, 256 << 20), priority: 10)
            FileHandle.standardError.write(Data("tierkit bench reclaim: no swap was active; created \(created!.devicePath) for the run\n".utf8))
        }
        defer { try? created?.destroy() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tierkit-bench-reclaim-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let benchmark = ReclaimBenchmark(
            tierkitPath: own.path, tierkitdPath: tierkitd, size: size, hotShare: hot, durationSeconds: Double(ns) / 1e9,
            periodSeconds: Double(periodNs) / 1e9,
            policies: policies.map { $0.split(separator: ";").map(String.init) } ?? ReclaimBenchmark.defaultPolicies,
            scratchDirectory: scratch)
        let rows = try benchmark.run { FileHandle.standardError.write(Data("tierkit bench reclaim: \($0)\n".utf8)) }
        let objects: [[String: Any]] = rows.dropFirst().map { row in
            var o: [String: Any] = [
                "policy": row.policy, "cold_bytes": row.coldBytes, "reclaimed_bytes": row.reclaimedBytes,
                "reclaimed_share": (row.reclaimedShare * 10000).rounded() / 10000,
                "seconds_to_90_percent": row.secondsTo90Percent.map { ($0 * 10).rounded() / 10 } as Any? ?? NSNull(),
                "throughput_loss": (row.throughputLoss * 10000).rounded() / 10000, "refaults": row.refaults,
                "hot_resident_share": (row.hotResidentShare * 10000).rounded() / 10000,
                "median_operations_per_second": row.medianOperationsPerSecond.rounded(),
                "baseline_operations_per_second": rows[0].medianOperationsPerSecond.rounded(),
            ]
            if !noSeries {
                o["series"] = row.series.map { [($0.seconds * 10).rounded() / 10, ($0.share * 1000).rounded() / 1000] }
            }
            return o
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
