import Foundation
import TierCore
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `tierkit bench reclaim`: a hotcold workload alone, then under tierkitd with each paging
/// policy, measuring how much of its cold set goes to swap, how fast, at what cost in
/// throughput, and how many refaults it took.
public struct ReclaimBenchmark: Sendable {
    /// One policy's run (or the baseline's, with policy "none").
    public struct Row: Sendable, Equatable {
        public var policy: String
        public var coldBytes: Int64
        /// Cold-set bytes in swap at the end of the run (pagemap).
        public var reclaimedBytes: Int64
        public var reclaimedShare: Double
        /// From the daemon's start until 90% of the cold set was in swap; nil if never.
        public var secondsTo90Percent: Double?
        /// 1 − (median operations/s under the policy) / (median operations/s alone).
        public var throughputLoss: Double
        public var refaults: Int64
        /// Hot-set pages resident at the end, as a share of the hot set.
        public var hotResidentShare: Double
        public var medianOperationsPerSecond: Double
        /// (seconds since the daemon started, cold share in swap), every half second.
        public var series: [(seconds: Double, share: Double)]

        public static func == (a: Row, b: Row) -> Bool {
            a.policy == b.policy && a.reclaimedBytes == b.reclaimedBytes && a.refaults == b.refaults
        }
    }

    public var tierkitPath: String
    public var tierkitdPath: String
    public var size: String
    public var hotShare: String
    public var durationSeconds: Double
    public var periodSeconds: Double
    /// Policy specs as `name:key=value,...`.
    public var policies: [String]
    public var scratchDirectory: String

    public init(tierkitPath: String, tierkitdPath: String, size: String, hotShare: String, durationSeconds: Double,
                periodSeconds: Double, policies: [String], scratchDirectory: String) {
        self.tierkitPath = tierkitPath
        self.tierkitdPath = tierkitdPath
        self.size = size
        self.hotShare = hotShare
        self.durationSeconds = durationSeconds
        self.periodSeconds = periodSeconds
        self.policies = policies
        self.scratchDirectory = scratchDirectory
    }

    /// The default policies: cold-age with a short min_age (the run is a minute, not
    /// DAMON_RECLAIM's 120 s), refault feedback and swap-in prefetch, always active.
    public static let defaultPolicies = [
        "cold-age:min_age=5s,quota=512MiB,wmark_high=1,wmark_mid=1,wmark_low=0",
        "refault:target=10,step=16MiB,max=512MiB",
        "prefetch",
    ]

    /// Runs the baseline, then each policy; `progress` hears what runs now.
    public func run(progress: (String) -> Void) throws -> [Row] {
        progress("baseline: the workload alone for \(durationSeconds) s")
        let baseline = try runOnce(policy: nil)
        var rows = [baseline]
        for policy in policies {
            progress("policy \(policy)")
            var row = try runOnce(policy: policy)
            row.throughputLoss = baseline.medianOperationsPerSecond > 0
                ? 1 - row.medianOperationsPerSecond / baseline.medianOperationsPerSecond : 0
            rows.append(row)
        }
        return rows
    }

    private func runOnce(policy: String?) throws -> Row {
        let label = policy.map { String($0.split(separator: ":").first ?? "") } ?? "none"
        let workloadOut = scratchDirectory + "/workload-\(label).out"
        let workload = try BenchChild(tierkitPath, ["workload", "hotcold", "--size", size, "--hot", hotShare,
                                                    "--duration", "\(Int(durationSeconds))s", "--json"],
                                      stdout: workloadOut, stderr: "/dev/null")
        defer { workload.stop() }
        let layout = try workload.layout()
        let pagemap = try PageMap(pid: layout.pid)
        let coldPages = layout.cold.reduce(0) { $0 + Int($1.length / 4096) }
        let hotPages = layout.hot.reduce(0) { $0 + Int($1.length / 4096) }

        var daemon: BenchChild? = nil
        let socket = scratchDirectory + "/tierkitd-\(label).sock"
        if let policy {
            let parts = policy.split(separator: ":", maxSplits: 1).map(String.init)
            var parameters = ""
            if parts.count > 1 {
                for pair in parts[1].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    parameters += "\(kv[0]) = \"\(kv[1])\"\n"
                }
            }
            let configuration = """
                period = "\(periodSeconds)s"
                socket = "\(socket)"
                [[target]]
                name = "bench"
                pid = \(layout.pid)
                policy = "\(parts[0])"
                rate = "unlimited"
                [target.parameters]
                \(parameters)
                """
            let path = scratchDirectory + "/tierkitd-\(label).toml"
            try configuration.write(toFile: path, atomically: true, encoding: .utf8)
            daemon = try BenchChild(tierkitdPath, ["--config", path], stdout: "/dev/null", stderr: scratchDirectory + "/tierkitd-\(label).log")
        }
        defer { daemon?.stop() }

        let start = Date()
        var series: [(Double, Double)] = []
        var secondsTo90: Double? = nil
        var swapped = 0
        while workload.isRunning {
            let counts = try layout.cold.reduce(PageCounts()) { $0 + (try pagemap.counts($1)) }
            swapped = counts.swapped
            let elapsed = Date().timeIntervalSince(start)
            let share = coldPages > 0 ? Double(swapped) / Double(coldPages) : 0
            series.append((elapsed, share))
            if secondsTo90 == nil && share >= 0.9 { secondsTo90 = elapsed }
            if elapsed > durationSeconds + 5 { break }
            usleep(500_000)
            if elapsed > durationSeconds - 1.5 { break }
        }
        // Measured just before the workload ends (it unmaps its memory then).
        let hot = try layout.hot.reduce(PageCounts()) { $0 + (try pagemap.counts($1)) }
        var refaults: Int64 = 0
        if daemon != nil, let status = try? ControlClient.send(ControlRequest(command: .targets), socketPath: socket) {
            refaults = status.targets?.first?.refaults ?? 0
        }
        daemon?.stop()
        _ = workload.wait(seconds: 10)
        let rates = workload.operationsPerSecond()
        return Row(
            policy: policy ?? "none", coldBytes: Int64(coldPages) * 4096, reclaimedBytes: Int64(swapped) * 4096,
            reclaimedShare: coldPages > 0 ? Double(swapped) / Double(coldPages) : 0, secondsTo90Percent: secondsTo90,
            throughputLoss: 0, refaults: refaults, hotResidentShare: hotPages > 0 ? Double(hot.present) / Double(hotPages) : 0,
            medianOperationsPerSecond: median(rates), series: series)
    }
}

/// A benchmark child with its stdout in a file.
final class BenchChild {
    let pid: pid_t
    let stdoutPath: String
    private var status: Int32?

    init(_ path: String, _ arguments: [String], stdout: String, stderr: String) throws {
        stdoutPath = stdout
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw DaemonError("cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
    }

    var isRunning: Bool {
        guard status == nil else { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s; return false }
        return true
    }

    @discardableResult
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(20_000) }
        return status
    }

    /// SIGTERM, then SIGKILL after five seconds.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(seconds: 5) == nil {
            kill(pid, SIGKILL)
            wait(seconds: 5)
        }
    }

    var lines: [Substring] {
        ((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// The workload's first line.
    func layout() throws -> (pid: Int32, hot: [AddressRange], cold: [AddressRange]) {
        for _ in 0..<3000 {
            if let line = lines.first, let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let pid = object["pid"] as? Int {
                func ranges(_ key: String) -> [AddressRange] {
                    ((object[key] as? [[String: Any]]) ?? []).map {
                        AddressRange(start: ($0["start"] as? NSNumber)?.uint64Value ?? 0, length: ($0["length"] as? NSNumber)?.uint64Value ?? 0)
                    }
                }
                return (Int32(pid), ranges("hot"), ranges("cold"))
            }
            guard isRunning else { break }
            usleep(10_000)
        }
        throw DaemonError("the workload printed no layout")
    }

    /// The workload's operations/s lines, skipping the first second (the cold set is written then).
    func operationsPerSecond() -> [Double] {
        lines.dropFirst().compactMap { line -> Double? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let second = object["second"] as? Int, second > 1 else { return nil }
            return (object["operations_per_second"] as? NSNumber)?.doubleValue
        }
    }
}
