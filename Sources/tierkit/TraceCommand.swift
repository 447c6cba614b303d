import ArgumentParser
import Foundation
import TierCore

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Inspect, convert and generate traces.",
        discussion: """
            Formats: oracleGeneral (libCacheSim binary, 24-byte records), csv (columns \
            by header name or number), txt (one object id per line), tkt (TierKit page \
            traces: access events read as 4 KiB page requests). Without --format \
            the format is detected: .oracleGeneral/.bin (size a multiple of 24) is \
            oracleGeneral, .csv is csv, .txt is txt, .tkt or the magic TKT1 is tkt, \
            other names are sniffed and ambiguous files are refused.

            Examples:
              tierkit trace info cloudPhysicsIO.oracleGeneral.bin
              tierkit trace convert trace.csv trace.oracleGeneral.bin --to oracleGeneral
              tierkit trace gen zipf --requests 1000000 --objects 10000 --out z.bin
              tierkit trace info faults.tkt --json
              tierkit trace convert faults.tkt faults.oracleGeneral.bin
            """,
        subcommands: [TraceInfoCommand.self, TraceConvertCommand.self, TraceGenCommand.self, TraceSelfTestWriteCommand.self]
    )
}

/// How to read the input trace (shared by info and convert).
struct TraceInputOptions: ParsableArguments {
    @Option(name: .long, help: "Input format: oracleGeneral, csv, txt or tkt (default: detected).")
    var format: String?

    @Option(name: .long, help: ArgumentHelp(
        "Page traces (tkt): object ids from 'pid' ((pid << 40) ^ page number) or 'page' (page number alone).",
        valueName: "pid|page"))
    var pageIds: String = "pid"

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
                throw TraceError(path: path, location: .file, message: "unknown format '\(name)' (known: oracleGeneral, csv, txt, tkt)")
            }
            format = f
        }
        guard let idMode = PageRequestOptions.IdMode(rawValue: pageIds) else {
            throw TraceError(path: path, location: .file, message: "unknown --page-ids '\(pageIds)' (known: pid, page)")
        }
        let csv = try csvOptions.map { s throws(TraceError) in try CSVOptions(parsing: s) } ?? CSVOptions()
        return try TraceSpec.open(path: path, format: format, csv: csv, page: PageRequestOptions(idMode: idMode))
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
              tierkit trace info requests.csv --objects --json
              tierkit trace info log.tsv --csv-options 'obj-id-col=key,obj-size-col=bytes'
            """
    )

    @Argument(help: "The trace file.")
    var trace: String

    @OptionGroup var input: TraceInputOptions

    @Flag(name: .long, help: "Also report per-object statistics: one-hit wonders, requests per object, object sizes.")
    var objects = false

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let spec = try reportingTraceErrors { () throws(TraceError) in try input.spec(path: trace) }
        if spec.format == .tkt {
            // A page trace has its own summary: events by kind, pages, pids, duration.
            let stats = try reportingTraceErrors { () throws(TraceError) in try PageTraceStats.compute(path: trace) }
            warnTornTail(stats.tornTail, path: trace)
            print(json ? PageTraceInfoFormat.json(path: trace, stats) : PageTraceInfoFormat.text(path: trace, stats))
            return
        }
        let stats = try reportingTraceErrors { () throws(TraceError) -> TraceStats in
            var visitor = TraceStatsVisitor(perObject: objects)
            return try spec.visit(&visitor)
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

            A page trace (tkt) converts to csv as one row per record \
            (time_ns,pid,tid,address,kind,flags,count; address in hex, kind by name), \
            or to oracleGeneral as page requests: access records only (read, write \
            and exec faults, other accesses), id per --page-ids, size the page size \
            (4096), time in milliseconds since the trace's start.

            Examples:
              tierkit trace convert cloudPhysicsIO.oracleGeneral.bin cloud.csv
              tierkit trace convert faults.tkt faults.csv
              tierkit trace convert faults.tkt faults.oracleGeneral.bin --page-ids page
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
        let spec = try reportingTraceErrors { () throws(TraceError) in try inputOptions.spec(path: input) }
        if spec.format == .tkt {
            try convertPageTrace(spec, to: out)
            return
        }
        let summary = try reportingTraceErrors { () throws(TraceError) -> TraceWriteSummary in
            var visitor = TraceWriteVisitor(path: output, format: out, nextAccess: recomputeNextAccess ? .recompute : .keep)
            return try spec.visit(&visitor)
        }
        printWriteSummary(summary, path: output, format: out)
    }

    private func convertPageTrace(_ spec: TraceSpec, to out: TraceOutputFormat) throws {
        switch out {
        case .csv:
            let (rows, torn) = try reportingTraceErrors { () throws(TraceError) -> (Int64, PageTraceTornTail?) in
                var reader = try PageTraceReader(path: input)
                let rows = try PageTraceCSV.write(&reader, to: output)
                return (rows, reader.tornTail)
            }
            warnTornTail(torn, path: input)
            print("wrote \(rows) page events to \(output) (csv: time_ns,pid,tid,address,kind,flags,count)")
        case .oracleGeneral:
            let (summary, skipped, torn, pageSize) = try reportingTraceErrors { () throws(TraceError) -> (TraceWriteSummary, Int64, PageTraceTornTail?, UInt32) in
                var source = try PageRequestSource(path: input, options: spec.page)
                let summary = try TraceWriter.write(&source, to: output, format: .oracleGeneral,
                                                    nextAccess: recomputeNextAccess ? .recompute : .keep)
                return (summary, source.nonAccessRecords, source.tornTail, source.reader.header.pageSize)
            }
            warnTornTail(torn, path: input)
            print("wrote \(summary.requests) page requests to \(output) (oracleGeneral: size \(pageSize), ids by \(spec.page.idMode.rawValue), time in ms; \(skipped) non-access records left out, next access computed)")
        }
    }
}

/// Prints a torn tail as a warning: the records before it are whole and were read.
func warnTornTail(_ torn: PageTraceTornTail?, path: String) {
    guard let torn else { return }
    FileHandle.standardError.write(Data("tierkit: warning: \(path): \(torn)\n".utf8))
}

/// Appends the deterministic self-test records slowly, so a test can kill it mid-way.
struct TraceSelfTestWriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest-write",
        abstract: "Append N self-test records to a page trace, slowly (for crash-safety tests).",
        shouldDisplay: false
    )

    @Argument(help: "The .tkt file to create.")
    var file: String

    @Argument(help: "Records to append.")
    var count: Int64

    @Option(name: .long, help: "Microseconds to sleep after each record.")
    var delayUs: UInt32 = 100

    @Option(name: .long, help: "Records per write(2).")
    var batch: Int = 7

    func run() throws {
        try reportingTraceErrors { () throws(TraceError) in
            let writer = try PageTraceWriter(path: file, header: PageTraceSelfTest.header,
                                             policy: .init(maxBufferedRecords: batch, maxDelayNanoseconds: nil))
            for i in 0..<count {
                try writer.append(PageTraceSelfTest.record(i))
                if delayUs > 0 { usleep(delayUs) }
            }
            try writer.close()
        }
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
