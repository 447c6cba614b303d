import ArgumentParser
@preconcurrency import Foundation
import TierCore

/// `tierkit replay --paging POLICY FILE.tkt --memory SIZE`: a paging policy on a simulated memory.
struct PagingReplayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Paging policy for a .tkt page trace (cold-age, refault, prefetch; name:key=value,...).", valueName: "policy"))
    var paging: String?

    @Option(help: "Simulated memory with --paging: pages (4096), bytes (64MiB), or % of the trace's distinct pages.")
    var memory: String?

    @Option(help: "Trace time between policy decisions with --paging.")
    var period = "1s"

    @Option(help: "Pages per region in the policy's snapshots with --paging.")
    var regionPages = 16

    @Option(help: "With --paging, simulate only this pid's pages.")
    var pid: UInt32?

    func run(trace: String, json: String?, plot: String?) throws {
        guard let paging else { return }
        let policy = try PagingPolicies.make(paging)
        guard let memory else { throw ValidationError("--paging needs --memory SIZE (pages, bytes or % of the trace's pages)") }
        guard let periodNs = DurationText.parse(period), periodNs > 0 else { throw ValidationError("--period \(period): expected a duration such as 1s") }
        guard regionPages > 0 else { throw ValidationError("--region-pages must be positive") }

        var probe = try reportingTraceErrors { () throws(TraceError) in try PageTraceReader(path: trace) }
        let pageSize = Int(probe.header.pageSize)
        let memoryPages: Int
        switch try SizeSpec.parse(Substring(memory)) {
        case .count(let n): memoryPages = Int(n)
        case .bytes(let n): memoryPages = Int(n / Int64(pageSize))
        case .percent(let p):
            var distinct = Set<UInt64>()
            try reportingTraceErrors { () throws(TraceError) in
                while let r = try probe.next() {
                    if r.kind.isAccess && (pid == nil || r.pid == pid) { distinct.insert(r.address >> UInt64(probe.header.pageShift)) }
                }
            }
            memoryPages = Int((Double(distinct.count) * p / 100).rounded())
        }
        guard memoryPages > 0 else { throw ValidationError("--memory \(memory) is less than one page") }

        let config = PagingSimulator.Configuration(memoryPages: memoryPages, periodNanoseconds: periodNs, pageSize: pageSize, regionPages: regionPages)
        var runs: [(label: String, sim: PagingSimulator)] = []
        for p in [nil, policy] as [(any PagingPolicy)?] {
            let sim = try reportingTraceErrors { () throws(TraceError) in
                var reader = try PageTraceReader(path: trace)
                return try PagingSimulator.replay(&reader, configuration: config, policy: p, pid: pid)
            }
            runs.append((p?.label ?? "none (kernel LRU only)", sim))
        }

        print("paging replay: \(URL(fileURLWithPath: trace).lastPathComponent), memory \(memoryPages) pages (\(SVGFormat.bytes(Double(memoryPages * pageSize)))), period \(DurationText.format(periodNs))")
        print(renderTable(
            ["policy", "accesses", "faults", "refaults", "prefetched", "prefetch hits", "paged out", "kernel reclaimed", "mean resident"],
            runs.map { r in
                let c = r.sim.counts
                return [r.label, "\(c.accesses)", "\(c.faults)", "\(c.refaults)", "\(c.prefetched)", "\(c.prefetchHits)",
                        "\(c.pagedOut)", "\(c.reclaimed)", SVGFormat.bytes(meanResident(r.sim) * Double(pageSize))]
            }))
        let samples = runs[1].sim.samples
        if !samples.isEmpty {
            print("\n\(runs[1].label) over time:")
            // At most 30 rows, evenly spread; --json has every period.
            let step = max(1, (samples.count + 29) / 30)
            var rows = stride(from: step - 1, to: samples.count, by: step).map { samples[$0] }
            if rows.last != samples.last { rows.append(samples.last!) }
            print(renderTable(["time", "resident", "swapped", "faults", "refaults", "prefetch hits", "paged out"], rows.map {
                [String(format: "%.1fs", Double($0.time) / 1e9), SVGFormat.bytes(Double($0.residentPages * pageSize)),
                 SVGFormat.bytes(Double($0.swappedPages * pageSize)), "\($0.faults)", "\($0.refaults)", "\($0.prefetchHits)", "\($0.pagedOut)"]
            }))
        }

        if let json {
            let object: [String: Any] = [
                "trace": trace, "memory_pages": memoryPages, "page_size": pageSize, "period_seconds": Double(periodNs) / 1e9,
                "region_pages": regionPages,
                "runs": runs.map { r -> [String: Any] in
                    let c = r.sim.counts
                    return ["policy": r.label, "accesses": c.accesses, "faults": c.faults, "refaults": c.refaults,
                            "prefetched": c.prefetched, "prefetch_hits": c.prefetchHits, "paged_out": c.pagedOut,
                            "kernel_reclaimed": c.reclaimed, "periods": c.periods, "mean_resident_pages": meanResident(r.sim),
                            "series": r.sim.samples.map { s -> [String: Any] in
                                ["time_seconds": Double(s.time) / 1e9, "resident_pages": s.residentPages, "swapped_pages": s.swappedPages,
                                 "faults": s.faults, "refaults": s.refaults, "prefetch_hits": s.prefetchHits, "paged_out": s.pagedOut]
                            }]
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try writeOutput(String(decoding: data, as: UTF8.self) + "\n", to: json, what: "paging JSON")
        }
        if let plot {
            let chart = LineChart(
                title: "Resident memory: \(URL(fileURLWithPath: trace).lastPathComponent), \(SVGFormat.bytes(Double(memoryPages * pageSize))) simulated",
                x: ChartAxis(label: "trace time (s)"),
                y: ChartAxis(label: "resident", format: .bytes),
                series: runs.map { r in
                    LineSeries(name: r.label, points: r.sim.samples.map { (Double($0.time) / 1e9, Double($0.residentPages * pageSize)) }, step: true)
                })
            try writeOutput(chart.svg(), to: plot, what: "resident-memory plot")
        }
    }

    private func meanResident(_ sim: PagingSimulator) -> Double {
        sim.samples.isEmpty ? Double(sim.residentPages)
            : Double(sim.samples.reduce(0) { $0 + $1.residentPages }) / Double(sim.samples.count)
    }
}
