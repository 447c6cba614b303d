import ArgumentParser
@preconcurrency import Foundation
import TierCore
import TierHost

/// `tierkit workload SHAPE`: a synthetic memory workload with known hot and cold ranges.
struct WorkloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload",
        abstract: "Run a synthetic memory workload (hotcold, zipf, phases) and print operations/s each second.",
        discussion: """
            Maps --size of anonymous memory (no huge pages), writes every page once, then touches \
            the hot set continuously for --duration. The first line is always one JSON object \
            with the pid, page size and the exact hot and cold address ranges, so a test, the \
            daemon or a benchmark can check pagemap on exactly those pages. Then one line per \
            second: text, or a JSON object with --json. One operation is one page touched.
              hotcold  the first --hot share of the region is hot, the rest is touched once
              zipf     pages drawn from a Zipf distribution (--alpha), page 0 most popular
              phases   the hot set moves to the next slice of the region every --phase
            Examples:
              tierkit workload hotcold --size 2GiB --hot 10% --duration 60s
              tierkit workload phases --size 1GiB --hot 25% --phase 5s --duration 20s --json
            """
    )

    @Argument(help: "hotcold, zipf or phases.")
    var shape: String

    @Option(help: "Memory to map (e.g. 2GiB).")
    var size: String

    @Option(help: "Hot share of the memory: 10% or 0.1.")
    var hot = "10%"

    @Option(help: "How long to run the access loop (e.g. 60s, 2min).")
    var duration = "60s"

    @Option(help: "phases: how long each phase lasts.")
    var phase = "10s"

    @Option(help: "zipf: the skew.")
    var alpha = 1.0

    @Flag(help: "Print each second as a JSON object.")
    var json = false

    func run() throws {
        guard let shapeValue = WorkloadShape(rawValue: shape.lowercased()) else {
            throw ValidationError("unknown workload '\(shape)'; known: \(WorkloadShape.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let bytes = try parseByteSize(size, option: "--size")
        let hotShare: Double
        if hot.hasSuffix("%"), let p = Double(hot.dropLast()) { hotShare = p / 100 } else if let f = Double(hot) { hotShare = f } else {
            throw ValidationError("--hot \(hot): expected a share such as 10% or 0.1")
        }
        guard hotShare > 0, hotShare <= 1 else { throw ValidationError("--hot \(hot): must be more than 0% and at most 100%") }
        guard let ns = DurationText.parse(duration), ns > 0 else { throw ValidationError("--duration \(duration): expected a duration such as 60s") }
        guard let phaseNs = DurationText.parse(phase), phaseNs > 0 else { throw ValidationError("--phase \(phase): expected a duration such as 10s") }
        guard alpha > 0, alpha.isFinite else { throw ValidationError("--alpha must be positive") }
        let spec = WorkloadSpec(shape: shapeValue, size: bytes, hotFraction: hotShare, duration: ns, phaseDuration: phaseNs, zipfAlpha: alpha)
        let workload = try Workload(spec: spec)
        let l = workload.layout
        func ranges(_ r: [AddressRange]) -> [[String: Any]] {
            r.map { ["start": $0.start, "length": $0.length, "pages": $0.length / UInt64(l.pageSize)] }
        }
        var first: [String: Any] = [
            "pid": l.pid, "shape": l.shape.rawValue, "page_size": l.pageSize,
            "region": ranges([l.region])[0], "hot": ranges(l.hot), "cold": ranges(l.cold),
        ]
        if shapeValue == .phases {
            first["phase_hot"] = ranges(l.phaseHot)
            first["phase_seconds"] = Double(phaseNs) / 1e9
        }
        if shapeValue == .zipf { first["alpha"] = alpha }
        printLine(String(decoding: try JSONSerialization.data(withJSONObject: first, options: [.sortedKeys]), as: UTF8.self))
        workload.run { s in
            if json {
                printLine("{\"operations\":\(s.operations),\"operations_per_second\":\(Int64(s.operationsPerSecond.rounded())),\"phase\":\(s.phase),\"second\":\(s.second)}")
            } else {
                printLine(String(format: "second %d: %.0f operations/s%@", s.second, s.operationsPerSecond, shapeValue == .phases ? " (phase \(s.phase))" : ""))
            }
            return true
        }
    }

    private func printLine(_ s: String) {
        print(s)
        fflush(stdout)  // a reader on a pipe sees each second as it ends
    }
}
