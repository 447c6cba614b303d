import ArgumentParser
import Foundation
import TierCore

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace through eviction policies at several cache sizes, in parallel.",
        discussion: """
        Every policy × size pair is an independent simulation with libCacheSim's semantics \
        (a hit is "key present"; a miss is inserted unless admission refuses it or it is larger \
        than the cache). Runs use every core; the table goes to stdout.

        Policies take parameters after a colon: s3fifo:small=0.1,threshold=2  slru:segments=4 \
        (see `tierkit policies`). Sizes: 128MiB, 1GiB, 4096 (bytes), objects with --objects, \
        or 1%,10% of the trace's working set.

        With --paging, a page trace (.tkt) runs through a paging policy instead, on a simulated \
        memory of --memory pages, beside the kernel's LRU alone (see `tierkit replay --paging`
        in the README).

        Examples:
          tierkit replay trace.oracleGeneral --policy lru,arc,s3fifo --size 128MiB,1GiB
          tierkit replay trace.csv --objects --policy lru,sieve --size 1%,10% --plot mrc.svg --json out.json
          tierkit replay --paging cold-age:min_age=5s faults.tkt --memory 50% --plot resident.svg
        """
    )

    @OptionGroup var traceOptions: TraceOptions

    @Option(help: "Comma-separated eviction policies, with optional parameters (name:key=value,...).")
    var policy: String = "lru"

    @Option(help: "Comma-separated cache sizes: bytes (B/KiB/MiB/GiB), objects (--objects), or % of the working set.")
    var size: String?

    @OptionGroup var paging: PagingReplayOptions

    @Option(help: "Admission policy for every run (always, prob:prob=0.5, size:size=64KiB (admits smaller objects), secondhit).")
    var admission: String = "always"

    @Option(help: "Worker threads (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Write the rows as JSON to this file.")
    var json: String?

    @Option(help: "Write the rows as CSV to this file.")
    var csv: String?

    @Option(help: "Write an SVG plot of miss ratio against cache size to this file.")
    var plot: String?

    func run() throws {
        if paging.paging != nil {
            return try paging.run(trace: traceOptions.trace, json: json, plot: plot)
        }
        guard let size else { throw ValidationError("--size is required (or --paging POLICY with --memory SIZE for a page trace)") }
        let spec = try traceOptions.spec()
        let admissionSpec = try AdmissionSpec(parsing: admission)
        let policies = try Policies.splitList(policy).map { try Policies.parse($0) }
        for (d, _) in policies where d.needsNextAccess {
            var probe = NextAccessProbe()
            if try !reportingTraceErrors({ () throws(TraceError) in try spec.visit(&probe) }) {
                throw ValidationError("\(d.name) needs next-access times; convert the trace with `tierkit trace convert --to oracleGeneral` first")
            }
        }
        let sizes = try resolveSizes(size, trace: spec)
        var jobList: [ReplayJob] = []
        for (d, params) in policies {
            for s in sizes { jobList.append(ReplayJob(policy: d, parameters: params, capacity: s, admission: admissionSpec)) }
        }
        let expected = spec.estimatedRequests.map { $0 * Int64(jobList.count) }
        let progress = ProgressLine(label: "replay \(jobList.count) runs", total: expected)
        let rows = try ReplayRunner(trace: spec, workers: jobs).runAll(jobList) { progress.update($0) }
        progress.finish()

        let unit = spec.objectMode ? "objects" : "bytes"
        print(renderTable(
            ["policy", "cache size", "requests", "misses", "miss ratio", "byte miss ratio", "seconds", "Mreq/s"],
            rows.map { r in
                [r.policy + (r.admission == "always" ? "" : "+" + r.admission),
                 spec.objectMode ? "\(r.cacheSize)" : SVGFormat.bytes(Double(r.cacheSize)),
                 "\(r.requests)", "\(r.misses)",
                 String(format: "%.4f", r.missRatio), String(format: "%.4f", r.byteMissRatio),
                 String(format: "%.2f", r.seconds), String(format: "%.2f", r.requestsPerSecond / 1e6)]
            }))

        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeOutput(String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n", to: json, what: "JSON rows")
        }
        if let csv {
            var text = "policy,admission,cache_size,mode,requests,misses,miss_ratio,bytes,miss_bytes,byte_miss_ratio,seconds,requests_per_second,peak_memory_bytes\n"
            for r in rows {
                text += "\"\(r.policy)\",\(r.admission),\(r.cacheSize),\(r.mode),\(r.requests),\(r.misses),\(r.missRatio),\(r.bytes),\(r.missBytes),\(r.byteMissRatio),\(r.seconds),\(r.requestsPerSecond),\(r.peakMemoryBytes)\n"
            }
            try writeOutput(text, to: csv, what: "CSV rows")
        }
        if let plot {
            // One series per policy, in the order given; rows come back in job order.
            let series = stride(from: 0, to: rows.count, by: sizes.count).map { start in
                let mine = rows[start..<start + sizes.count].sorted { $0.cacheSize < $1.cacheSize }
                return LineSeries(name: mine.first!.policy, points: mine.map { (Double($0.cacheSize), $0.missRatio) })
            }
            let chart = LineChart(
                title: "Miss ratio: \(URL(fileURLWithPath: spec.path).lastPathComponent)\(spec.objectMode ? " (objects)" : "")",
                x: ChartAxis(label: "cache size (\(unit))", format: spec.objectMode ? .number : .bytes, scale: .log),
                y: ChartAxis(label: "miss ratio", format: .number, range: 0...1),
                series: series)
            try writeOutput(chart.svg(), to: plot, what: "miss-ratio plot")
        }
    }
}
