import ArgumentParser
import Foundation
import TierCore

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Inspect, convert and generate traces.",
        discussion: """
            Formats: oracleGeneral (libCacheSim binary, 24-byte records), csv (columns \
            by header name or number), txt (one object id per line). Without --format \
            the format is detected: .oracleGeneral/.bin (size a multiple of 24) is \
            oracleGeneral, .csv is csv, .txt is txt, other names are sniffed and \
            ambiguous files are refused.

            Examples:
              tierkit trace info cloudPhysicsIO.oracleGeneral.bin
              tierkit trace convert trace.csv trace.oracleGeneral.bin --to oracleGeneral
              tierkit trace gen zipf --requests 1000000 --objects 10000 --out z.bin
            """,
        subcommands: [TraceInfoCommand.self, TraceConvertCommand.self, TraceGenCommand.self]
    )
}

/// How to read the input trace (shared by info and convert).
struct TraceInputOptions: ParsableArguments {
    @Option(name: .long, help: "Input format: oracleGeneral, csv or txt (default: detected).")
    var format: String?

    @Option(name: .long, help: ArgumentHelp(
        "CSV columns and parsing, libCacheSim style.",
        discussion: "e.g. 'time-col=1,obj-id-col=2,obj-size-col=3,delimiter=,,has-header=true'; columns by 1-based number or header name. Keys: "
            + CSVOptions.help.map { "\($0.key) (\($0.help))" }.joined(separator: "; ")
            + ". Hashed ids use XXH3-64 like libCacheSim; its cachesim hashes every CSV id unless given obj-id-is-num=true, so pass obj-id-is-num=false to get its ids exactly.",
        valueName: "options"))
    var csvOptions: String?

    func spec(path: String) throws(TraceError) -> TraceSpec {
        var format: TraceFormat? = nil
        if let name = self.format {
            guard let f = TraceFormat(name: name) else {
                throw TraceError(path: path, location: .file, message: "unknown format '\(name)' (known: oracleGeneral, csv, txt)")
            }
            format = f
        }
        let csv = try csvOptions.map { s throws(TraceError) in try CSVOptions(parsing: s) } ?? CSVOptions()
        return try TraceSpec.open(path: path, format: format, csv: csv)
    }
}

/// Runs `body`, turning a located trace error into `tierkit: <message>` and exit status 1.
func reportingTraceErrors<T>(_ body: () throws(TraceError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("tierkit: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

struct TraceInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Requests, unique objects, working set, sizes and time span, in one streaming pass.",
        discussion: """
            Zero-size requests are skipped as libCacheSim skips them (and counted as \
            skipped). The working set sums each unique object's first-seen size. Size \
            percentiles are request-weighted nearest-rank values read from a log-linear \
            histogram: exact for sizes with at most 7 significant bits (e.g. 512, 4096, \
            61440), otherwise at most 1.6% low; min, max and mean are exact.

            \(TraceStats.memoryNote)

            Examples:
              tierkit trace info cloudPhysicsIO.oracleGeneral.bin
              tierkit trace info requests.csv --per-object --json
              tierkit trace info log.tsv --csv-options 'obj-id-col=key,obj-size-col=bytes'
            """
    )

    @Argument(help: "The trace file.")
    var trace: String

    @OptionGroup var input: TraceInputOptions

    @Flag(name: .customLong("per-object"), help: "Also report per-object statistics: one-hit wonders, requests per object, object sizes.")
    var perObject = false

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let (spec, stats) = try reportingTraceErrors { () throws(TraceError) -> (TraceSpec, TraceStats) in
            let spec = try input.spec(path: trace)
            var visitor = TraceStatsVisitor(perObject: perObject)
            return (spec, try spec.visit(&visitor))
        }
        print(json ? TraceInfoFormat.json(spec, stats) : TraceInfoFormat.text(spec, stats))
    }
}

struct TraceConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a trace to oracleGeneral or CSV (time,id,size,next_access).",
        discussion: """
            Next access is the 1-based index of the next request to the same object, \
            -1 if none (libCacheSim's oracleGeneral convention). It is copied from the \
            input when the input has it and no zero-size records were dropped; \
            otherwise it is computed by a backward pass over the written file.

            \(TraceWriter.memoryNote)

            Examples:
              tierkit trace convert cloudPhysicsIO.oracleGeneral.bin cloud.csv
              tierkit trace convert cloud.csv cloud.oracleGeneral.bin
              tierkit trace convert keys.txt keys.bin --to oracleGeneral
              tierkit trace convert raw.log out.bin --format csv \\
                  --csv-options 'time-col=1,obj-id-col=3,obj-size-col=4,delimiter=\\t'
            """
    )

    @Argument(help: "The input trace.")
    var input: String

    @Argument(help: "The output file (overwritten).")
    var output: String

    @Option(name: .long, help: "Output format: oracleGeneral or csv (default: csv for a .csv name, else oracleGeneral).")
    var to: String?

    @OptionGroup var inputOptions: TraceInputOptions

    @Flag(name: .long, help: "Compute next access even when the input has it.")
    var recomputeNextAccess = false

    func run() throws {
        let out = try outputFormat(to, path: output)
        if sameFile(input, output) {
            FileHandle.standardError.write(Data("tierkit: \(output): the output would overwrite the input\n".utf8))
            throw ExitCode(1)
        }
        let summary = try reportingTraceErrors { () throws(TraceError) -> TraceWriteSummary in
            let spec = try inputOptions.spec(path: input)
            var visitor = TraceWriteVisitor(path: output, format: out, nextAccess: recomputeNextAccess ? .recompute : .keep)
            return try spec.visit(&visitor)
        }
        printWriteSummary(summary, path: output, format: out)
    }
}

struct TraceGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate a synthetic trace, reproducible from its seed.",
        discussion: """
            Kinds: zipf (id k-1 has probability proportional to 1/k^alpha; \
            rejection-inversion sampling), uniform (every id equally likely), scan \
            (0, 1, ..., objects-1, repeated), loop (all objects in one seeded \
            pseudo-random order, repeated). Ids are 0..<objects, time is the request \
            index, each object keeps one size. The random numbers come from \
            xoshiro256** seeded through SplitMix64, so a seed gives the same trace on \
            every run and machine. Next access is computed, so the output can drive Belady.

            \(TraceWriter.memoryNote)

            Examples:
              tierkit trace gen zipf --requests 1000000 --objects 100000 --out z.bin
              tierkit trace gen zipf --requests 1000000 --objects 100000 --alpha 0.8 \\
                  --size-range 512-65536 --seed 7 --out z.oracleGeneral.bin
              tierkit trace gen loop --requests 30000 --objects 1000 --out loop.csv
              tierkit trace gen scan --requests 30000 --objects 10000 --size 4096 --out s.bin
            """
    )

    @Argument(help: "zipf, uniform, scan or loop.")
    var kind: String

    @Option(name: .long, help: "Number of requests.")
    var requests: Int64

    @Option(name: .long, help: "Number of distinct objects.")
    var objects: Int64

    @Option(name: .long, help: "Zipf exponent (zipf only).")
    var alpha: Double = 1.0

    @Option(name: .long, help: "Fixed object size in bytes.")
    var size: Int64?

    @Option(name: .long, help: ArgumentHelp("Object sizes uniform in A...B bytes, drawn once per object.", valueName: "A-B"))
    var sizeRange: String?

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Output file.")
    var out: String

    @Option(name: .long, help: "Output format: oracleGeneral or csv (default: csv for a .csv name, else oracleGeneral).")
    var to: String?

    func validate() throws {
        guard SyntheticTrace.Kind(rawValue: kind.lowercased()) != nil else {
            throw ValidationError("unknown kind '\(kind)' (known: \(SyntheticTrace.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if size != nil && sizeRange != nil { throw ValidationError("give --size or --size-range, not both") }
        if alpha != 1.0 && kind.lowercased() != "zipf" { throw ValidationError("--alpha applies to zipf only") }
    }

    func run() throws {
        let format = try outputFormat(to, path: out)
        var sizes = SyntheticTrace.SizeSpec.fixed(size ?? 1)
        if let range = sizeRange {
            let parts = range.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]) else {
                throw ValidationError("--size-range expects A-B, e.g. 512-65536, found '\(range)'")
            }
            sizes = .uniform(a, b)
        }
        let config = SyntheticTrace.Config(kind: SyntheticTrace.Kind(rawValue: kind.lowercased())!, requests: requests,
                                           objects: objects, alpha: alpha, size: sizes, seed: seed)
        let summary = try reportingTraceErrors { () throws(TraceError) -> TraceWriteSummary in
            var trace = try SyntheticTrace(config)
            return try TraceWriter.write(&trace, to: out, format: format)
        }
        printWriteSummary(summary, path: out, format: format, label: config.label)
    }
}

private func outputFormat(_ name: String?, path: String) throws -> TraceOutputFormat {
    guard let name else { return TraceOutputFormat(path: path) }
    guard let f = TraceOutputFormat(name: name) else {
        throw ValidationError("unknown output format '\(name)' (known: oracleGeneral, csv)")
    }
    return f
}

private func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}

private func printWriteSummary(_ s: TraceWriteSummary, path: String, format: TraceOutputFormat, label: String? = nil) {
    var line = "wrote \(s.requests) requests"
    if let label { line += " of \(label)" }
    line += " to \(path) (\(format.rawValue)"
    if s.skipped > 0 { line += ", \(s.skipped) zero-size records dropped" }
    line += s.computedNextAccess ? ", next access computed, id table \(TraceInfoFormat.bytes(Int64(s.tableBytes))))" : ", next access copied)"
    print(line)
}
