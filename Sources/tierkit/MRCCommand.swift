import ArgumentParser
import Foundation
import TierCore

struct MRCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrc",
        abstract: "LRU miss-ratio curve in one pass.",
        discussion: """
        Computes LRU's miss ratio at every cache size from one pass over the trace, using \
        stack distances. Byte mode is exact (equal to libCacheSim's LRU) at every size at \
        least as large as the largest object, provided no object changes size; below that \
        the misses are an upper bound, and the output says so. Object mode (--objects) is \
        exact everywhere; its byte miss ratio still weighs misses by the requests' sizes.

        --sample RATE estimates the curve from a hash-based sample of the objects (SHARDS); \
        --shards-max N keeps at most N sampled objects, lowering the rate as needed, so memory \
        stays bounded on any trace.

        Sizes: 4096, 128MiB, 1.5GiB, 64K, 10% (of the working set). KB/MB/GB mean KiB/MiB/GiB, \
        as in libCacheSim. In object mode a plain number counts objects.
        """
    )

    @Argument(help: "The trace file.")
    var trace: String

    @OptionGroup var input: TraceInputOptions

    @Flag(help: "Cache sizes count objects instead of bytes.")
    var objects = false

    @Option(help: "Estimate from a SHARDS sample at this rate (0 < RATE <= 1), e.g. 0.01.")
    var sample: Double?

    @Option(name: .customLong("shards-max"), help: "Estimate with fixed-size SHARDS holding at most N sampled objects.")
    var shardsMax: Int?

    @Option(help: "Seed of the SHARDS sampling hash.")
    var seed: UInt64 = 0

    @Option(help: "Number of log-spaced sizes in the table when --sizes is not given.")
    var points: Int = 20

    @Option(help: "Comma-separated cache sizes, e.g. 128MiB,1GiB,10%.")
    var sizes: String?

    @Option(help: "Write the table and the curve as JSON to FILE.")
    var json: String?

    @Option(help: "Write the table as CSV to FILE.")
    var csv: String?

    @Option(help: "Write a plot of the curve as SVG to FILE.")
    var plot: String?

    func validate() throws {
        if sample != nil && shardsMax != nil { throw ValidationError("give --sample or --shards-max, not both") }
        if let r = sample, !(r > 0 && r <= 1) { throw ValidationError("--sample must be in (0, 1], got \(r)") }
        if let n = shardsMax, n <= 0 { throw ValidationError("--shards-max must be positive, got \(n)") }
        if points < 2 { throw ValidationError("--points must be at least 2") }
        if let s = sizes {
            do {
                for spec in try SizeSpec.parseList(s) {
                    // A byte size in object mode fails before the pass, not after it.
                    _ = try spec.resolve(workingSet: 1, objectMode: objects)
                }
            } catch {
                throw ValidationError("--sizes: \(error)")
            }
        }
    }

    private var unit: MissRatioCurve.Unit { objects ? .objects : .bytes }

    func run() throws {
        // Sizes stay real in object mode so the byte miss ratio means something.
        let spec = try reportingTraceErrors { () throws(TraceError) in try input.spec(path: trace) }
        let progress = ProgressLine(label: "mrc", total: spec.estimatedRequests)
        let curve: MissRatioCurve
        do {
            if let rate = sample {
                var v = ShardsMRC(unit: unit, rate: rate, seed: seed, progress: progress.update)
                curve = try spec.visit(&v)
            } else if let n = shardsMax {
                var v = ShardsMRC(unit: unit, rate: 1, maxSamples: n, seed: seed, progress: progress.update)
                curve = try spec.visit(&v)
            } else {
                var v = ExactLRUMRC(unit: unit, progress: progress.update)
                curve = try spec.visit(&v)
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        if curve.requests == 0 { throw MRCError("\(trace): the trace has no requests") }

        let tableSizes = try self.tableSizes(curve)
        let rows = curve.misses(at: tableSizes)
        printSummary(curve, format: spec.format)
        printTable(curve, rows)

        if let path = json {
            try writeOutput(jsonText(curve, rows), to: path, what: "JSON")
        }
        if let path = csv {
            try writeOutput(csvText(curve, rows), to: path, what: "CSV")
        }
        if let path = plot {
            try writeOutput(svgText(curve), to: path, what: "miss-ratio plot")
        }
    }

    /// The --sizes, resolved against the working set, or log-spaced sizes from 0.1% of it.
    private func tableSizes(_ curve: MissRatioCurve) throws -> [Int64] {
        if let text = sizes {
            do {
                return try SizeSpec.parseList(text).map { spec throws(SizeSpecError) in
                    try spec.resolve(workingSet: curve.workingSet, objectMode: objects)
                }
            } catch {
                throw MRCError("--sizes: \(error)")
            }
        }
        return MissRatioCurve.logSpacedSizes(from: curve.workingSet / 1000, to: curve.workingSet, count: points)
    }

    private func sizeText(_ size: Int64) -> String {
        unit == .bytes ? SVGFormat.bytes(Double(size)) : "\(size)"
    }

    private var method: String {
        if let r = sample { return "SHARDS at rate \(r)" }
        if let n = shardsMax { return "fixed-size SHARDS, at most \(n) sampled objects" }
        return "exact"
    }

    private func printSummary(_ c: MissRatioCurve, format: TraceFormat) {
        let approx = c.sampling == nil ? "" : "~"
        var line = "trace: \(trace) (\(format.rawValue)), \(c.requests) requests, \(SVGFormat.bytes(Double(c.requestBytes))) requested, \(approx)\(c.uniqueObjects) objects"
        if unit == .bytes { line += ", working set \(approx)\(SVGFormat.bytes(Double(c.workingSet)))" }
        print(line)
        print("LRU miss-ratio curve (\(unit == .bytes ? "sizes in bytes" : "sizes in objects")): \(c.accuracySummary)")
    }

    private func printTable(_ c: MissRatioCurve, _ rows: [MissRatioCurve.Point]) {
        var header = unit == .bytes ? [pad("bytes", 16), pad("size", 12)] : [pad("objects", 16)]
        header += [pad("% of WS", 9), pad("miss ratio", 12), pad("byte miss ratio", 16)]
        print(header.joined(separator: " "))
        var footnote = false
        for p in rows {
            var cells = [pad("\(p.size)", 16)]
            if unit == .bytes { cells.append(pad(SVGFormat.bytes(Double(p.size)), 12)) }
            let share = c.workingSet > 0 ? String(format: "%.2f", Double(p.size) / Double(c.workingSet) * 100) : "-"
            cells += [pad(share, 9), pad(String(format: "%.6f", ratio(p.misses, c.requests)), 12),
                      pad(String(format: "%.6f", ratio(p.missBytes, c.requestBytes)), 16)]
            var line = cells.joined(separator: " ")
            switch c.accuracy(at: p.size) {
            case .upperBound: line += "  *"; footnote = true
            case .approximate: line += "  ~"
            case .exact, .sampled: break
            }
            print(line)
        }
        if footnote {
            print("* below the largest object (\(SVGFormat.bytes(Double(c.maxObjectSize)))): an upper bound on LRU's misses")
        }
    }

    private func ratio(_ a: Int64, _ b: Int64) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    private func accuracyName(_ a: MissRatioCurve.Accuracy) -> String {
        switch a {
        case .exact: return "exact"
        case .upperBound: return "upper-bound"
        case .approximate: return "approximate"
        case .sampled: return "sampled"
        }
    }

    private func csvText(_ c: MissRatioCurve, _ rows: [MissRatioCurve.Point]) -> String {
        var out = "size,misses,miss_bytes,miss_ratio,byte_miss_ratio,accuracy\n"
        for p in rows {
            out += "\(p.size),\(p.misses),\(p.missBytes),\(ratio(p.misses, c.requests)),\(ratio(p.missBytes, c.requestBytes)),\(accuracyName(c.accuracy(at: p.size)))\n"
        }
        return out
    }

    private func jsonText(_ c: MissRatioCurve, _ rows: [MissRatioCurve.Point]) -> String {
        var o = "{\n"
        o += "  \"trace\": \(TraceInfoFormat.quoted(trace)),\n"
        o += "  \"unit\": \(TraceInfoFormat.quoted(unit.rawValue)),\n"
        o += "  \"method\": \(TraceInfoFormat.quoted(method)),\n"
        if let s = c.sampling {
            o += "  \"sampling\": {\"rate\": \(s.rate), \"sampledRequests\": \(s.sampledRequests), \"sampledObjects\": \(s.sampledObjects), \"maxSamples\": \(s.maxSamples.map(String.init) ?? "null"), \"seed\": \(seed)},\n"
        } else {
            o += "  \"sampling\": null,\n"
        }
        o += "  \"requests\": \(c.requests),\n  \"requestBytes\": \(c.requestBytes),\n"
        o += "  \"uniqueObjects\": \(c.uniqueObjects),\n  \"workingSet\": \(c.workingSet),\n"
        o += "  \"maxObjectSize\": \(c.maxObjectSize),\n  \"sizeChanges\": \(c.sizeChanges),\n"
        o += "  \"accuracy\": \(TraceInfoFormat.quoted(c.accuracySummary)),\n"
        o += "  \"points\": [\n"
        o += rows.map { p in
            "    {\"size\": \(p.size), \"misses\": \(p.misses), \"missBytes\": \(p.missBytes), \"missRatio\": \(ratio(p.misses, c.requests)), \"byteMissRatio\": \(ratio(p.missBytes, c.requestBytes)), \"accuracy\": \"\(accuracyName(c.accuracy(at: p.size)))\"}"
        }.joined(separator: ",\n")
        o += "\n  ],\n"
        // Breakpoints [size, misses, missBytes]: misses at any size from this one up to the next.
        o += "  \"curve\": [\n"
        o += c.thinned(maxPoints: 50_000).map { "    [\($0.size), \($0.misses), \($0.missBytes)]" }.joined(separator: ",\n")
        o += "\n  ]\n}\n"
        return o
    }


    private func svgText(_ c: MissRatioCurve) -> String {
        let lo = Swift.max(1, c.workingSet / 1000)
        let hi = Swift.max(lo + 1, c.workingSet + c.workingSet / 20)
        let xs = MissRatioCurve.logSpacedSizes(from: lo, to: hi, count: 400)
        let missRatio = xs.map { (x: Double($0), y: c.missRatio(at: $0)) }
        let byteMissRatio = xs.map { (x: Double($0), y: c.byteMissRatio(at: $0)) }
        let name = URL(fileURLWithPath: trace).lastPathComponent
        let chart = LineChart(
            title: "LRU miss-ratio curve: \(name)\(c.sampling == nil ? "" : " (\(method))")",
            x: ChartAxis(label: unit == .bytes ? "cache size (bytes)" : "cache size (objects)",
                         format: unit == .bytes ? .bytes : .number, scale: .log),
            y: ChartAxis(label: "miss ratio", format: .number, range: 0...1),
            series: [LineSeries(name: "miss ratio", points: missRatio, step: true),
                     LineSeries(name: "byte miss ratio", points: byteMissRatio, step: true, dashed: true)])
        return chart.svg()
    }
}

/// A run-time failure, reported without the usage text.
private struct MRCError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
