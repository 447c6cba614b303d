import ArgumentParser
import Foundation
import TierCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports on page traces (.tkt): an address x time access heatmap, working-set size over time.",
        discussion: """
            Only access records count (read, write and exec faults, other accesses); \
            reclaim, writeback, LRU, page-cache and migration records are left out.

            Examples:
              tierkit report heatmap faults.tkt --out heat.svg --time-bins 200
              tierkit report wss faults.tkt --interval 100ms --out wss.svg
            """,
        subcommands: [ReportHeatmapCommand.self, ReportWSSCommand.self]
    )
}

struct ReportHeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "Accesses by address and time, as an SVG heatmap.",
        discussion: """
            x is time since the trace's start, y the address space compressed to the \
            regions actually touched (pages grouped in chunks of --chunk-pages; runs \
            of touched chunks are regions, and only the --max-regions - 1 largest gaps \
            between them are cut out), each region labelled with its start address; \
            colour is the number of accesses in the cell (log scale unless \
            --linear-color). Bins divide time and the compressed axis evenly. Reads \
            the trace twice.
            """
    )

    @Argument(help: "The page trace (.tkt).")
    var trace: String

    @Option(name: .long, help: "The SVG file to write.")
    var out: String

    @Option(name: .long, help: "Only this process's accesses.")
    var pid: UInt32?

    @Option(name: .long, help: "Columns (time bins).")
    var timeBins: Int = 100

    @Option(name: .long, help: "Rows (address bins).")
    var addressBins: Int = 64

    @Option(name: .long, help: "Pages per chunk when finding touched regions.")
    var chunkPages: UInt64 = 16

    @Option(name: .long, help: "Most address regions on the axis.")
    var maxRegions: Int = 16

    @Flag(name: .long, help: "Colour counts linearly instead of on a log scale.")
    var linearColor = false

    func validate() throws {
        guard timeBins > 0, addressBins > 0, chunkPages > 0, maxRegions > 0 else {
            throw ValidationError("--time-bins, --address-bins, --chunk-pages and --max-regions must be positive")
        }
        guard chunkPages <= 1 << 20, timeBins <= 100_000, addressBins <= 100_000 else {
            throw ValidationError("--chunk-pages is at most 1048576, --time-bins and --address-bins at most 100000")
        }
    }

    func run() throws {
        let map = try reportingTraceErrors { () throws(TraceError) in
            try PageAccessHeatmap.compute(path: trace, pid: pid, timeBins: timeBins, addressBins: addressBins,
                                          chunkPages: chunkPages, maxRegions: maxRegions)
        }
        guard map.accesses > 0 else {
            FileHandle.standardError.write(Data("tierkit: \(trace): no access records\(pid.map { " for pid \($0)" } ?? "")\n".utf8))
            throw ExitCode(1)
        }
        let page = UInt64(map.pageSize)
        var values: [[Double]] = []
        for a in 0..<map.addressBins {
            values.append((0..<map.timeBins).map { Double(map.count(addressBin: a, timeBin: $0)) })
        }
        let ticks = map.regions.map { r in
            Heatmap.Tick(position: Double(r.offset) / Double(map.compressedPages) * Double(map.addressBins),
                         label: "0x" + String(r.startPage * page, radix: 16))
        }
        let name = URL(fileURLWithPath: trace).lastPathComponent
        var chart = Heatmap(
            title: "Page accesses: \(name)\(pid.map { " (pid \($0))" } ?? "")",
            xLabel: "time since trace start (s)", yLabel: "address (touched regions)", valueLabel: "accesses",
            values: values,
            xLabels: .range(Double(map.timeStart) / 1e9...(Double(map.timeEnd) + 1) / 1e9, .number),
            yLabels: .ticks(ticks))
        chart.logColor = !linearColor
        chart.width = 960
        chart.height = 600

        print(renderTable(["region", "start", "end", "size", "rows"], map.regions.enumerated().map { i, r in
            let first = Int(PageAccessHeatmapRows.first(r.offset, map)), last = Int(PageAccessHeatmapRows.first(r.offset + r.pages - 1, map))
            return ["\(i)", "0x" + String(r.startPage * page, radix: 16), "0x" + String((r.startPage + r.pages) * page, radix: 16),
                    SVGFormat.bytes(Double(r.pages * page)), first == last ? "\(first)" : "\(first)-\(last)"]
        }))
        print("\(map.accesses) accesses in \(map.addressBins) address bins x \(map.timeBins) time bins over \(SVGFormat.bytes(Double(map.compressedPages * page))) of touched address space")
        try writeOutput(chart.svg(), to: out, what: "heatmap")
    }
}

/// Address-bin arithmetic for the region table.
enum PageAccessHeatmapRows {
    static func first(_ offset: UInt64, _ map: PageAccessHeatmap) -> UInt64 {
        let product = offset.multipliedFullWidth(by: UInt64(map.addressBins))
        return map.compressedPages.dividingFullWidth((product.high, product.low)).quotient
    }
}

struct ReportWSSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wss",
        abstract: "Working-set size over time: distinct pages accessed per interval.",
        discussion: """
            Interval i covers [i x interval, (i + 1) x interval) since the trace's \
            start; a page (pid and page number) counts once per interval it is \
            accessed in. Prints a table (or JSON) and optionally plots it.

            Examples:
              tierkit report wss faults.tkt
              tierkit report wss faults.tkt --interval 1s --pid 1234 --out wss.svg
              tierkit report wss faults.tkt --interval 500us --json
            """
    )

    @Argument(help: "The page trace (.tkt).")
    var trace: String

    @Option(name: .long, help: "Interval length: a number with ns, us, ms, s or min.")
    var interval: String = "100ms"

    @Option(name: .long, help: "Only this process's accesses.")
    var pid: UInt32?

    @Option(name: .long, help: "Write an SVG plot to this file.")
    var out: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard let ns = parseDuration(interval), ns > 0 else {
            throw ValidationError("--interval expects a positive duration such as 100ms, 1s or 500us, found '\(interval)'")
        }
        let series = try reportingTraceErrors { () throws(TraceError) in
            try WorkingSetSeries.compute(path: trace, interval: ns, pid: pid)
        }
        let n = series.pages.count
        if json {
            let rows = (0..<n).map { i in
                "{\"start_ns\": \(UInt64(i) * ns), \"pages\": \(series.pages[i]), \"bytes\": \(series.bytes(i)), \"accesses\": \(series.accesses[i])}"
            }
            print("{\"trace\": \(TraceInfoFormat.quoted(trace)), \"interval_ns\": \(ns), \"page_size\": \(series.pageSize), \"intervals\": [" + rows.joined(separator: ", ") + "]}")
        } else {
            print(renderTable(["start (s)", "pages", "working set", "accesses"], (0..<n).map { i in
                [TraceInfoFormat.fixed(Double(UInt64(i) * ns) / 1e9, 6), "\(series.pages[i])",
                 SVGFormat.bytes(Double(series.bytes(i))), "\(series.accesses[i])"]
            }))
            let peak = series.pages.max() ?? 0
            print("\(n) intervals of \(interval); peak working set \(peak) pages (\(SVGFormat.bytes(Double(peak * Int64(series.pageSize)))))")
        }
        if let out {
            // Each interval's value holds until the next one starts.
            var points = (0..<n).map { (x: Double(UInt64($0) * ns) / 1e9, y: Double(series.bytes($0))) }
            if let last = points.last { points.append((x: Double(UInt64(n) * ns) / 1e9, y: last.y)) }
            let chart = LineChart(
                title: "Working set per \(interval): \(URL(fileURLWithPath: trace).lastPathComponent)\(pid.map { " (pid \($0))" } ?? "")",
                x: ChartAxis(label: "time since trace start (s)"),
                y: ChartAxis(label: "distinct pages accessed (bytes)", format: .bytes),
                series: [LineSeries(name: "working set", points: points, step: true)])
            try writeOutput(chart.svg(), to: out, what: "working-set plot")
        }
    }
}

/// Nanoseconds in "100ms", "1.5s", "500us", "2min", "250ns"; nil when malformed.
func parseDuration(_ text: String) -> UInt64? {
    let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("min", 60e9), ("s", 1e9)]
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v >= 0, v * scale < 1.8e19 else { return nil }
        return UInt64((v * scale).rounded())
    }
    return nil
}
