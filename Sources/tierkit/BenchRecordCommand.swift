import ArgumentParser
import CTierShims
import TierBPF
import TierCore

@preconcurrency import Foundation

/// `tierkit bench record`: what recording costs a fault-heavy loop, per mode.
struct BenchRecord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Fault-heavy loop without and with the eBPF recorder in each mode; print a JSON array (needs root).",
        discussion: """
            Runs `tierkit touch-pages --pages P --rounds R` (map, write one byte per page, unmap) \
            alone and under the recorder, in pairs whose order alternates, --repeat pairs per \
            mode; each row gives the median faults/s of both (timed inside the loop), slowdown = \
            baseline / recorded - 1 (0.02 is 2%), paired_slowdown = the median of each pair's \
            slowdown (steadier when the machine's speed drifts), and the faults and events the \
            kernel could not deliver over all runs. The recorder runs in this process as `tierkit record` \
            does (stream mode: the ring buffer read and every fault decoded on other threads).

            Example:
              tierkit bench record --pages 65536 --rounds 20 --repeat 9 --cpu 1
            """
    )

    @Option(help: "Pages (4 KiB) per round of the loop.")
    var pages: Int = 65536

    @Option(help: "Rounds of the loop per run.")
    var rounds: Int = 20

    @Option(help: "Pairs of runs (without, with the recorder) per mode; medians are reported.")
    var `repeat`: Int = 9

    @Option(help: "Pin the loop to this CPU (the recorder's threads run elsewhere).")
    var cpu: Int?

    @Option(help: "Comma-separated modes: aggregate, stream.")
    var modes: String = "aggregate,stream"

    @Option(help: "Sources to record (as record --sources).")
    var sources: String = "faults,refaults"

    @Option(help: "Stream mode: ring buffer size.")
    var ringBuffer: String = "64MiB"

    @Option(help: "Stream mode: wake the reader once per this much of a CPU's faults (0: on every fault).")
    var wakeup: String = "256KiB"

    @Option(help: "Aggregate mode: capacity of the kernel's page map.")
    var maxPages: Int = 1 << 20

    @Flag(help: "Also report the fault program's own time per fault (bpf_ns_per_fault), from the kernel's run-time accounting, which adds its own cost while on.")
    var programStatistics = false

    func validate() throws {
        guard pages > 0, rounds > 0, `repeat` > 0 else { throw ValidationError("--pages, --rounds and --repeat must be positive") }
        let (chosen, unknown) = PageEventSources.parse(sources)
        if let unknown { throw ValidationError("--sources: unknown source '\(unknown)'") }
        if !chosen.contains(.faults) { throw ValidationError("--sources must include faults") }
        for mode in modes.split(separator: ",") where mode != "aggregate" && mode != "stream" {
            throw ValidationError("--modes: unknown mode '\(mode)' (aggregate, stream)")
        }
    }

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let chosen = PageEventSources.parse(sources).0
        let ringBytes = Int(try SizeSpec.parse(ringBuffer[...]).resolve(workingSet: 0, objectMode: false))
        let wakeupBytes = wakeup == "0" ? 0 : Int(try SizeSpec.parse(wakeup[...]).resolve(workingSet: 0, objectMode: false))
        var rows: [[String: Any]] = []
        for mode in modes.split(separator: ",").map(String.init) {
            var baseline: [Double] = [], recorded: [Double] = []
            var lost: UInt64 = 0
            var programCost: [Double] = []
            for run in 0..<`repeat` {
                // Pairs alternate which side runs first, so a drift in speed favours neither.
                let baselineFirst = run.isMultiple(of: 2)
                if baselineFirst { baseline.append(try await loop(executable, recorder: nil)) }
                let options = PageFaultRecorder.Options(
                    mode: mode == "stream" ? .stream : .aggregate, ringBufferBytes: ringBytes,
                    maxPages: maxPages, wakeupBytes: wakeupBytes, sources: chosen)
                let recorder = try PageFaultRecorder(options: options)
                let statistics = programStatistics ? try BPFRunTimeStatistics() : nil
                recorded.append(try await loop(executable, recorder: recorder))
                withExtendedLifetime(statistics) {}
                lost += try recorder.counters().totalLost
                if programStatistics { programCost.append(try recorder.faultProgramCost().nanosecondsPerRun) }
                if !baselineFirst { baseline.append(try await loop(executable, recorder: nil)) }
            }
            let base = median(baseline), with = median(recorded)
            let paired = median(zip(baseline, recorded).map { $0 / $1 - 1 })
            rows.append([
                "mode": mode,
                "baseline_faults_per_second": base.rounded(),
                "recorded_faults_per_second": with.rounded(),
                "slowdown": ((base / with - 1) * 10000).rounded() / 10000,
                "paired_slowdown": (paired * 10000).rounded() / 10000,
                "lost_events": lost,
            ].merging(programStatistics ? ["bpf_ns_per_fault": median(programCost).rounded()] : [:]) { a, _ in a })
            FileHandle.standardError.write(Data(
                "tierkit: bench record \(mode): baseline \(baseline.map { Int($0) }), recorded \(recorded.map { Int($0) })\n".utf8))
        }
        let json = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// One run of the loop, recorded when `recorder` is given; its faults per second.
    private func loop(_ executable: String, recorder: PageFaultRecorder?) async throws -> Double {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("tierkit-bench-record-\(getpid()).txt").path
        defer { unlink(report) }
        var child = try spawnHeld([executable, "touch-pages", "--pages", String(pages), "--rounds", String(rounds), "--report", report]
                                  + (cpu.map { ["--cpu", String($0)] } ?? []))
        var consumer: Task<Int, Never>?
        if let recorder {
            try recorder.addTarget(pid: child.pid)
            if let faults = recorder.faults {
                // As `record` does: every fault is decoded, then dropped.
                consumer = Task {
                    var pages = 0
                    for await batch in faults {
                        for index in batch.indices { pages &+= Int(truncatingIfNeeded: batch.fault(at: index).address >> 12) & 1 }
                    }
                    return pages
                }
            }
            try recorder.attach()
        }
        let failure = ctiershims_release_gated(&child)
        guard failure == 0 else {
            recorder?.detach()
            _ = reap(child.pid, block: true)
            throw RecordError("cannot run touch-pages: \(String(cString: strerror(failure)))")
        }
        var status: Int32?
        while status == nil {
            status = reap(child.pid, block: false)
            if status == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        recorder?.detach()
        _ = await consumer?.value
        let fields = try String(contentsOfFile: report, encoding: .utf8).split(separator: " ")
        guard status == 0, fields.count == 2, let faults = Double(fields[0]),
              let seconds = Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)), seconds > 0 else {
            throw RecordError("touch-pages failed (status \(status ?? -1))")
        }
        return faults / seconds
    }
}
