import ArgumentParser
import CTierShims
import Logging
import Synchronization
import TierBPF
import TierCore

@preconcurrency import Foundation

struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record the page faults and page events of processes with eBPF (needs root).",
        discussion: """
            Either watches running processes (--pid, repeatable) or starts COMMAND held before \
            exec until the recorder is attached, so it is recorded from its first instruction. \
            Faults are filtered by process in the kernel. Stops when COMMAND (or every --pid \
            process) has exited, after --duration (COMMAND then gets SIGTERM), or on Ctrl-C.

            Sources (--sources, comma-separated; default faults,refaults): faults (user page \
            faults), refaults (faults on swapped-out pages, found from the PTE), reclaim, \
            writeback (vmscan), filemap (page-cache insert/delete), lru (LRU insertion), \
            migrate, damon (regions of a running kdamond, read passively). Events of kernel \
            threads (kswapd, kdamond) pass the target filters unless --no-kernel-threads.

            Modes: stream sends every fault through a ring buffer; aggregate counts per page in \
            the kernel (refaults too). Other sources' events are always streamed. --out writes a \
            .tkt page trace (mode events or aggregated), or CSV when it ends in .csv: \
            time_ns,pid,tid,address,kind,error_code,count,value,aux per fault or event, or \
            pid,page,count,first_ns,last_ns,reads,writes,execs,error_bits,refaults per page. The \
            summary gives faults by kind, refaults, events by kind, distinct pages and what the \
            kernel dropped.

            Examples:
              tierkit record --out train.tkt -- python3 train.py
              tierkit record --sources faults,refaults,reclaim,writeback,filemap --out run.tkt -- ./job
              tierkit record --mode aggregate --out pages.csv -- ./server --port 8080
              tierkit record --pid 1234 --pid 1240 --duration 10 --out faults.tkt
              tierkit record --cgroup /sys/fs/cgroup/unified/job --duration 30
            """
    )

    @Option(name: .customLong("pid"), help: "A process to record (repeatable).")
    var pids: [Int32] = []

    @Flag(inversion: .prefixedNo, help: "Also record processes the targets fork (from their first instruction).")
    var followForks = true

    @Option(help: "Record only tasks in this cgroup v2 directory or below it.")
    var cgroup: String?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "stream (every fault) or aggregate (per-page counts in the kernel).")
    var mode: ModeArgument = .stream

    @Option(help: "Output file: a .tkt page trace, or CSV when it ends in .csv; without it only the summary is printed.")
    var out: String?

    @Option(help: "Output format: tkt or csv (default: from --out's extension, else tkt).")
    var format: OutputFormat?

    @Option(help: "Ring buffer size (stream mode), e.g. 64MiB; a power of two.")
    var ringBuffer: String = "64MiB"

    @Option(help: "Stream mode: wake the reader once per this much of a CPU's faults (0: on every fault).")
    var wakeup: String = "256KiB"

    @Option(help: "Comma-separated sources: faults, refaults, reclaim, writeback, filemap, lru, migrate, damon.")
    var sources: String = "faults,refaults"

    @Option(help: "Ring buffer size of the other sources' events, e.g. 8MiB; a power of two.")
    var eventRingBuffer: String = "8MiB"

    @Flag(inversion: .prefixedNo, help: "Record events of kernel threads (kswapd, kdamond) too, whatever the targets.")
    var kernelThreads = true

    @Flag(help: "Show libbpf's messages on stderr.")
    var verbose = false

    @Argument(parsing: .postTerminator, help: "The command to start and record.")
    var command: [String] = []

    enum ModeArgument: String, ExpressibleByArgument, CaseIterable {
        case stream, aggregate
    }

    func validate() throws {
        if pids.isEmpty && command.isEmpty && cgroup == nil {
            throw ValidationError("give --pid, --cgroup or a command after --")
        }
        if !pids.isEmpty && !command.isEmpty {
            throw ValidationError("give either --pid or a command, not both")
        }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        let (chosen, unknown) = PageEventSources.parse(sources)
        if let unknown {
            throw ValidationError("--sources: unknown source '\(unknown)' (known: \(PageEventSources.named.map(\.name).joined(separator: ", ")))")
        }
        if chosen.isEmpty { throw ValidationError("--sources: choose at least one source") }
        if chosen.contains(.refaults) && !chosen.contains(.faults) {
            throw ValidationError("--sources: refaults are found on faults; add faults")
        }
        if mode == .aggregate && (format == .csv || (format == nil && out?.hasSuffix(".csv") == true))
            && !chosen.isDisjoint(with: .pageEventSources) {
            throw ValidationError("aggregate CSV holds pages only: write a .tkt to keep the other sources' events")
        }
    }

    func run() async throws {
        var logger = Logger(label: "tierkit.libbpf") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .warning
        LibBPFLogging.route(to: logger)

        let ringBytes = try SizeSpec.parse(ringBuffer[...]).resolve(workingSet: 0, objectMode: false)
        guard ringBytes >= 4096, ringBytes & (ringBytes - 1) == 0 else {
            throw ValidationError("--ring-buffer must be a power of two of at least 4KiB, not \(ringBuffer)")
        }
        let eventRingBytes = try SizeSpec.parse(eventRingBuffer[...]).resolve(workingSet: 0, objectMode: false)
        guard eventRingBytes >= 4096, eventRingBytes & (eventRingBytes - 1) == 0 else {
            throw ValidationError("--event-ring-buffer must be a power of two of at least 4KiB, not \(eventRingBuffer)")
        }
        let chosen = PageEventSources.parse(sources).0
        let options = PageFaultRecorder.Options(
            mode: mode == .stream ? .stream : .aggregate,
            filterByPID: !(pids.isEmpty && command.isEmpty),
            followForks: followForks,
            cgroup: try cgroup.map { try CgroupV2(path: $0) },
            ringBufferBytes: Int(ringBytes),
            wakeupBytes: Int(wakeup == "0" ? 0 : try SizeSpec.parse(wakeup[...]).resolve(workingSet: 0, objectMode: false)),
            sources: chosen, pageEventRingBufferBytes: Int(eventRingBytes), kernelThreads: kernelThreads)
        for pid in pids where !processExists(pid) { throw RecordError("no process \(pid)") }
        let recorder = try PageFaultRecorder(options: options)
        for pid in pids { try recorder.addTarget(pid: pid) }

        var child: ctiershims_gated_child?
        if !command.isEmpty {
            child = try spawnHeld(command)
            try recorder.addTarget(pid: child!.pid)
        }

        let format = try outputFormat()
        let header = TKTPageFaultSink.header(
            targets: traceTargets(), mode: mode == .stream ? .events : .aggregated,
            kernelRelease: kernelRelease(), startMonotonicNs: monotonicNanoseconds(),
            startRealtimeNs: realtimeNanoseconds(), sources: chosen)
        // A task drains the ring buffers into the output while the workload runs; in aggregate
        // mode the pages follow once recording has stopped.
        let outPath = out
        let (pageMaps, pageMapContinuation) = AsyncStream<[PageKey: PageFaultStatistics]>.makeStream()
        let faults = recorder.faults, events = recorder.pageEvents
        let aggregate = mode == .aggregate
        let consumer = Task<PageFaultSummary, any Error> {
            switch (format, outPath) {
            case (.csv, let path?) where aggregate:
                try await drain(faults: faults, events: events, pages: pageMaps, into: AggregateCSV(path: path))
            case (.csv, let path?):
                try await drain(faults: faults, events: events, pages: pageMaps, into: CSVPageFaultSink(path: path))
            case (.tkt, let path?):
                try await drain(faults: faults, events: events, pages: pageMaps, into: TKTPageFaultSink(path: path, header: header))
            default:
                try await drain(faults: faults, events: events, pages: pageMaps, into: DiscardingSink())
            }
        }

        installInterruptHandler()
        let started = monotonicSeconds()
        try recorder.attach()
        var exitStatus: Int32?
        if var held = child {
            let failure = ctiershims_release_gated(&held)
            if failure != 0 {
                recorder.detach()
                _ = reap(held.pid, block: true)
                throw RecordError("cannot run \(command[0]): \(String(cString: strerror(failure)))")
            }
            child = held
        }
        // Wait for the command to exit, the duration, or Ctrl-C.
        while !interrupted.load(ordering: .relaxed) {
            if let held = child, let status = reap(held.pid, block: false) {
                exitStatus = status
                break
            }
            if let duration, monotonicSeconds() - started >= duration { break }
            if !pids.isEmpty && !pids.contains(where: processExists) { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = monotonicSeconds() - started
        recorder.detach()
        if let held = child, exitStatus == nil {
            kill(held.pid, SIGTERM)
            exitStatus = reap(held.pid, block: true)
        }

        let counters = try recorder.counters()
        if aggregate && chosen.contains(.faults) { pageMapContinuation.yield(try recorder.pageStatistics()) }
        pageMapContinuation.finish()
        let summary = try await consumer.value
        printSummary(summary, counters: counters, seconds: elapsed, exitStatus: exitStatus)
        if let out {
            fflush(stdout)
            FileHandle.standardError.write(Data("tierkit: wrote \(format) \(mode == .stream ? "events" : "pages") to \(out)\n".utf8))
        }
    }

    enum OutputFormat: String, ExpressibleByArgument, CustomStringConvertible {
        case tkt, csv
        var description: String { rawValue }
    }

    /// `--format`, else the output's extension (`.csv`), else `.tkt`.
    private func outputFormat() throws -> OutputFormat {
        if let format { return format }
        return out?.hasSuffix(".csv") == true ? .csv : .tkt
    }

    private func traceTargets() -> [PageTraceTarget] {
        var targets = pids.map { PageTraceTarget.pid(UInt32(bitPattern: $0)) }
        if !command.isEmpty { targets.append(.command(command.joined(separator: " "))) }
        if let cgroup { targets.append(.cgroup(cgroup)) }
        return targets
    }

    private func printSummary(_ summary: PageFaultSummary, counters: PageFaultCounters, seconds: Double, exitStatus: Int32?) {
        var rows: [[String]] = [
            ["faults", Int64(summary.faults).formatted()],
            ["  read", Int64(summary.byKind[0]).formatted()],
            ["  write", Int64(summary.byKind[1]).formatted()],
            ["  exec", Int64(summary.byKind[2]).formatted()],
        ]
        if mode == .stream { rows.append(["  on present pages", Int64(summary.protectionFaults).formatted()]) }
        if PageEventSources.parse(sources).0.contains(.refaults) {
            rows.append(["refaults (page was swapped out)", Int64(summary.refaults).formatted()])
        }
        for kind in PageEventKind.allCases {
            guard let tally = summary.events[kind] else { continue }
            rows.append(["\(kind.name) events (their count)", "\(Int64(tally.records).formatted()) (\(Int64(tally.count).formatted()))"])
        }
        rows += [
            ["distinct pages", Int64(summary.distinctPages).formatted()],
            ["matched in kernel", Int64(counters.matched).formatted()],
            [mode == .stream ? "lost (ring buffer full)" : "dropped (page map full)",
             Int64(mode == .stream ? counters.lost : counters.pagesDropped).formatted()],
            ["events lost (ring buffer full)", Int64(counters.eventsLost).formatted()],
            ["seconds", String(format: "%.3f", seconds)],
            ["faults/s", String(format: "%.0f", Double(summary.faults) / max(seconds, 1e-9))],
        ]
        if let exitStatus {
            let text = (exitStatus & 0x7f) == 0 ? "exit \((exitStatus >> 8) & 0xff)" : "signal \(exitStatus & 0x7f)"
            rows.append(["command", text])
        }
        print(renderTable(["", "value"], rows))
    }
}

/// A failure while recording (not a usage error).
struct RecordError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The consumer: every streamed fault and event into `sink` as they arrive, then the
/// aggregated pages (aggregate mode), and the summary.
func drain<Sink: PageFaultSink>(
    faults: AsyncStream<RecordBatch<tk_fault_event>>?, events: AsyncStream<RecordBatch<tk_page_event>>?,
    pages: AsyncStream<[PageKey: PageFaultStatistics]>, into sink: Sink
) async throws -> PageFaultSummary {
    let merged = merge(faults: faults, events: events)
    var sink = sink
    var summary = PageFaultSummary()
    for await item in merged {
        switch item {
        case .faults(let batch):
            for index in batch.indices {
                let fault = batch.fault(at: index)
                summary.add(fault)
                try sink.write(fault)
            }
        case .events(let batch):
            for index in batch.indices {
                let event = batch.event(at: index)
                summary.add(event)
                try sink.write(event: event)
            }
        }
    }
    for await map in pages {
        for key in map.keys.sorted() {
            summary.add(key, map[key]!)
            try sink.write(key, map[key]!)
        }
    }
    try sink.finish()
    return summary
}

/// A batch from one of the recorder's two ring buffers.
enum RecordedBatch: Sendable {
    case faults(RecordBatch<tk_fault_event>)
    case events(RecordBatch<tk_page_event>)
}

/// One output, two ring buffers: both are forwarded into one stream, which finishes when both have.
func merge(faults: AsyncStream<RecordBatch<tk_fault_event>>?, events: AsyncStream<RecordBatch<tk_page_event>>?)
    -> AsyncStream<RecordedBatch>
{
    let (merged, continuation) = AsyncStream<RecordedBatch>.makeStream()
    Task {
        await withTaskGroup(of: Void.self) { group in
            if let faults { group.addTask { for await batch in faults { continuation.yield(.faults(batch)) } } }
            if let events { group.addTask { for await batch in events { continuation.yield(.events(batch)) } } }
        }
        continuation.finish()
    }
    return merged
}

/// No output file: the summary only.
struct DiscardingSink: PageFaultSink {
    mutating func write(_ fault: PageFault) throws {}
    mutating func write(event: PageEvent) throws {}
    mutating func write(_ key: PageKey, _ stats: PageFaultStatistics) throws {}
    mutating func finish() throws {}
}

/// `uname -r`.
func kernelRelease() -> String {
    var name = utsname()
    uname(&name)
    return withUnsafeBytes(of: &name.release) { bytes in
        String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}

/// Per-page rows of aggregate mode. Holds pages only: `record` refuses other sources with it,
/// so no fault or event reaches it one by one.
struct AggregateCSV: PageFaultSink {
    private let output: ByteOutput

    init(path: String) throws {
        output = try ByteOutput(path: path)
        try output.write("pid,page,count,first_ns,last_ns,reads,writes,execs,error_bits,refaults\n")
    }

    func write(_ fault: PageFault) throws {}
    func write(event: PageEvent) throws {}

    func write(_ key: PageKey, _ stats: PageFaultStatistics) throws {
        let fields: [UInt64] = [
            UInt64(key.pid), key.page, stats.count, stats.firstNanoseconds, stats.lastNanoseconds,
            UInt64(stats.reads), UInt64(stats.writes), UInt64(stats.executes), UInt64(stats.errorBits),
            UInt64(stats.refaults),
        ]
        for (index, value) in fields.enumerated() {
            if index > 0 { try output.write(byte: UInt8(ascii: ",")) }
            try output.write(decimal: value)
        }
        try output.write(byte: UInt8(ascii: "\n"))
    }

    func finish() throws { try output.close() }
}

/// Forks `command` held before exec (see `ctiershims_spawn_gated`).
func spawnHeld(_ command: [String]) throws -> ctiershims_gated_child {
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var child = ctiershims_gated_child()
    let failure = ctiershims_spawn_gated(&argv, &child)
    guard failure == 0 else { throw RecordError("cannot fork: \(String(cString: strerror(failure)))") }
    return child
}

/// Whether `pid` is a live process (or a zombie not yet reaped).
func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}

/// The wait status once `pid` has exited; nil while it runs (non-blocking) or on error.
func reap(_ pid: pid_t, block: Bool) -> Int32? {
    var status: Int32 = 0
    while true {
        let result = waitpid(pid, &status, block ? 0 : WNOHANG)
        if result == pid { return status }
        if result < 0 && errno == EINTR { continue }
        return nil
    }
}

let interrupted = Atomic<Bool>(false)

/// Ctrl-C stops the recording instead of killing the recorder.
func installInterruptHandler() {
    signal(SIGINT) { _ in interrupted.store(true, ordering: .relaxed) }
}
