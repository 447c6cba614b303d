import ArgumentParser
import Foundation
import TierCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print JSON (measured, not asserted).",
        subcommands: [BenchReplay.self, BenchReplayOne.self, BenchInfer.self, BenchRecord.self, BenchKV.self, BenchReclaim.self]
    )
}

/// `tierkit bench replay`: each policy single-threaded in its own process, optionally beside libCacheSim's cachesim.
struct BenchReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay each policy single-threaded in its own process; print a JSON array.",
        discussion: """
        Each policy runs --repeat times in a fresh child process; the JSON row reports the median \
        requests/s and the largest peak RSS of the child. With --cachesim PATH, libCacheSim's \
        cachesim runs the same trace, policy and size in the same way, and each row carries its \
        figures (peer_*) and the ratios.

        Example (the anchor workload: 10M Zipf(1.0) requests over 1M objects, 100,000-object cache):
          tierkit trace gen zipf --requests 10000000 --objects 1000000 --alpha 1.0 --size 4096 --seed 1 --out zipf.oracleGeneral
          tierkit bench replay zipf.oracleGeneral --objects --size 100000 --policy lru,fifo,clock,arc,sieve,s3fifo,lirs,wtinylfu,belady --cachesim /path/to/cachesim
        """
    )

    @OptionGroup var traceOptions: TraceOptions

    @Option(help: "Cache size (bytes with B/KiB/MiB/GiB, objects with --objects, or % of the working set).")
    var size: String

    @Option(help: "Comma-separated policies (default: every built-in policy).")
    var policy: String?

    @Option(help: "Runs per policy; the median is reported.")
    var `repeat`: Int = 3

    @Option(help: "Path to libCacheSim's cachesim binary to run side by side.")
    var cachesim: String?

    func run() throws {
        let spec = try traceOptions.spec()
        let capacity = try resolveSizes(size, trace: spec)[0]
        let specs = policy.map(Policies.splitList) ?? Policies.all.map(\.name)
        let selfPath = CommandLine.arguments[0].contains("/") ? URL(fileURLWithPath: CommandLine.arguments[0]).path : "/proc/self/exe"
        var rows: [[String: Any]] = []
        for p in specs {
            let (descriptor, _) = try Policies.parse(p)
            var rps: [Double] = [], peerRPS: [Double] = []
            var peak: Int64 = 0, peerPeak: Int64 = 0
            var misses: Int64 = -1
            var peerMissRatio = 0.0
            var label = descriptor.name
            // TierKit and the peer alternate, so a burst of load elsewhere hits both sides alike.
            for _ in 0..<max(1, `repeat`) {
                var args = ["bench", "replay-one", spec.path, "--format", spec.format.rawValue, "--capacity", String(capacity), "--policy", p]
                if spec.objectMode { args.append("--objects") }
                let run = try runMeasured(selfPath, args)
                guard run.status == 0,
                      let obj = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any],
                      let r = obj["requests_per_second"] as? Double, let m = (obj["misses"] as? NSNumber)?.int64Value
                else { throw ValidationError("benchmark child for \(p) failed (status \(run.status))") }
                rps.append(r)
                peak = max(peak, run.peakResidentBytes)
                misses = m
                label = obj["policy"] as? String ?? label
                if let cachesim {
                    let peer = try runPeer(cachesim, policy: descriptor.name, capacity: capacity, spec: spec)
                    peerRPS.append(peer.rps)
                    peerPeak = max(peerPeak, peer.peak)
                    peerMissRatio = peer.missRatio
                }
            }
            var row: [String: Any] = ["policy": label, "cache_size": capacity, "misses": misses,
                                      "requests_per_second": median(rps).rounded(), "peak_rss_bytes": peak]
            if cachesim != nil {
                row["peer_requests_per_second"] = median(peerRPS).rounded()
                row["peer_peak_rss_bytes"] = peerPeak
                row["peer_miss_ratio"] = peerMissRatio
                row["speedup"] = (median(rps) / median(peerRPS) * 100).rounded() / 100
                row["memory_ratio"] = (Double(peak) / Double(peerPeak) * 100).rounded() / 100
            }
            rows.append(row)
            FileHandle.standardError.write(Data("tierkit: bench \(label): \(Int(median(rps))) requests/s\n".utf8))
        }
        let json = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// libCacheSim's names and the parameters its defaults need to mean the same policy.
    static func peerArguments(_ policy: String) -> (String, String?) {
        switch policy {
        case "wtinylfu": return ("tinyLFU", nil)
        case "beladysize": return ("beladySize", nil)
        case "s3fifo": return ("s3fifo", "move-to-main-threshold=2")
        default: return (policy, nil)
        }
    }

    /// One cachesim run of `policy`: its requests/s, peak RSS and printed miss ratio.
    func runPeer(_ path: String, policy: String, capacity: Int64, spec: TraceSpec) throws -> (rps: Double, peak: Int64, missRatio: Double) {
        guard spec.format == .oracleGeneral else { throw ValidationError("--cachesim needs an oracleGeneral trace") }
        let (name, params) = Self.peerArguments(policy)
        // cachesim appends a result line to a file; keep it out of the working directory.
        let resultFile = FileManager.default.temporaryDirectory.appendingPathComponent("tierkit-cachesim-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: resultFile) }
        var args = [spec.path, "oracleGeneral", name, String(capacity), "--num-thread", "1", "-o", resultFile]
        if spec.objectMode { args += ["--ignore-obj-size", "1"] }
        if let params { args += ["-e", params] }
        let run = try runMeasured(path, args, discardStderr: true)
        // "... miss ratio 0.1234, throughput 5.67 MQPS"
        guard run.status == 0, let line = run.output.split(separator: "\n").last(where: { $0.contains("MQPS") }),
              let t = line.range(of: "throughput "), let m = line.range(of: "miss ratio ") else {
            throw ValidationError("cachesim failed for \(name) (status \(run.status)): \(run.output.suffix(300))")
        }
        let mqps = Double(line[t.upperBound...].split(separator: " ")[0]) ?? 0
        let ratio = Double(line[m.upperBound...].split(separator: ",")[0]) ?? 0
        return (mqps * 1e6, run.peakResidentBytes, ratio)
    }
}

/// One measured replay in this process (the child side of `bench replay`).
struct BenchReplayOne: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay-one", abstract: "One single-threaded replay, as JSON (used by bench replay).", shouldDisplay: false)

    @OptionGroup var traceOptions: TraceOptions
    @Option var capacity: Int64
    @Option var policy: String

    func run() throws {
        let (descriptor, parameters) = try Policies.parse(policy)
        let row = try ReplayRunner(trace: try traceOptions.spec(), workers: 1)
            .run(ReplayJob(policy: descriptor, parameters: parameters, capacity: capacity))
        let obj: [String: Any] = ["policy": row.policy, "cache_size": row.cacheSize, "misses": row.misses,
                                  "requests": row.requests, "seconds": row.seconds, "requests_per_second": row.requestsPerSecond]
        let json = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
