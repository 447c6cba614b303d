import ArgumentParser
import Foundation
import TierCore

/// Options every trace-reading command shares.
struct TraceOptions: ParsableArguments {
    @Argument(help: "Trace file (oracleGeneral binary, CSV or text).")
    var trace: String

    @Option(help: "Trace format: oracleGeneral, csv or txt (detected when omitted, where safe).")
    var format: String?

    @Flag(name: .customLong("objects"), help: "Object mode: every request counts size 1, cache sizes are object counts.")
    var objectMode = false

    func spec() throws -> TraceSpec {
        let format: TraceFormat
        if let name = self.format {
            guard let f = TraceFormat.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw ValidationError("unknown format '\(name)'; known: \(TraceFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = f
        } else {
            format = try TraceFormat.detect(path: trace)
        }
        return TraceSpec(path: trace, format: format, objectMode: objectMode)
    }
}

/// Writes `text` to `path`, creating the directory if needed, and says where it went.
func writeOutput(_ text: String, to path: String, what: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
    FileHandle.standardError.write(Data("tierkit: wrote \(what) to \(url.path)\n".utf8))
}

/// A one-line progress display on stderr, shown only when stderr is a terminal.
final class ProgressLine: @unchecked Sendable {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var lastDraw = 0.0
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
        guard now - lastDraw > 0.2 else { return }
        lastDraw = now
        var line = "\r\(label): \(done.formatted()) requests"
        if let total, total > 0 { line += String(format: " (%.0f%%)", 100 * Double(done) / Double(total)) }
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
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
