import ArgumentParser
@preconcurrency import Foundation
import TierCore

/// The trace argument and how to read it: shared by replay, mrc and bench.
struct TraceOptions: ParsableArguments {
    @Argument(help: "Trace file (oracleGeneral binary, CSV, text or a .tkt page trace).")
    var trace: String

    @OptionGroup var input: TraceInputOptions

    @Flag(name: .customLong("objects"), help: "Object mode: every request counts size 1, cache sizes are object counts.")
    var objectMode = false

    func spec() throws -> TraceSpec {
        var spec = try reportingTraceErrors { () throws(TraceError) in try input.spec(path: trace) }
        spec.objectMode = objectMode
        return spec
    }
}

/// Resolves a comma-separated size list; `%` sizes take one pass over the trace for its working set.
func resolveSizes(_ text: String, trace: TraceSpec) throws -> [Int64] {
    let specs = try SizeSpec.parseList(text)
    var workingSet: Int64 = 0
    if specs.contains(where: { if case .percent = $0 { return true } else { return false } }) {
        var visitor = TraceStatsVisitor()
        let stats = try reportingTraceErrors { () throws(TraceError) in try trace.visit(&visitor) }
        workingSet = trace.objectMode ? stats.uniqueObjects : stats.workingSetBytes
    }
    return try specs.map { try $0.resolve(workingSet: workingSet, objectMode: trace.objectMode) }
}

/// Whether the trace's requests carry next-access times.
struct NextAccessProbe: RequestSourceVisitor {
    mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> Bool { source.hasNextAccess }
}

extension TraceSpec {
    /// The number of requests, when the format tells it from the file size.
    var estimatedRequests: Int64? {
        guard format == .oracleGeneral,
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else { return nil }
        return size.int64Value / Int64(OracleGeneralReader.recordSize)
    }
}

/// Writes `text` to `path`, creating the directory if needed, and says where it went.
func writeOutput(_ text: String, to path: String, what: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
    fflush(nil)  // keep the table and the notes in order when both go to one terminal or file
    FileHandle.standardError.write(Data("tierkit: wrote \(what) to \(url.path)\n".utf8))
}

/// A one-line progress display on stderr, shown only when stderr is a terminal.
final class ProgressLine: @unchecked Sendable {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var lastDraw = 0.0
    private var shown = false
    private let start = monotonicSeconds()
    private let label: String
    private let total: Int64?

    init(label: String, total: Int64?) {
        self.label = label
        self.total = total
    }

    func update(_ done: Int64) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = monotonicSeconds()
        guard now - start > 1, now - lastDraw > 0.25 else { return }
        lastDraw = now
        shown = true
        var line = "\r\u{1B}[K\(label): \(done.formatted()) requests"
        if let total, total > 0 { line += String(format: " (%.0f%%)", min(100, 100 * Double(done) / Double(total))) }
        line += String(format: ", %.0fs", now - start)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }
}

/// Formats rows as an aligned text table.
func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                   : String(repeating: " ", count: widths[i] - c.count) + c
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

extension Int64 {
    func formatted() -> String {
        let digits = Array(String(self))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 && d != "-" { out.append(",") }
            out.append(d)
        }
        return out
    }
}
