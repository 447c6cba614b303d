import ArgumentParser
@preconcurrency import Foundation
import TierCore
import TierHost

/// `tierkit advise PID ADVICE RANGE...`: one process_madvise through a pidfd, verified with pagemap.
struct AdviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract: "Advise ranges of another process (pageout, cold, willneed) through a pidfd and count what moved (root).",
        discussion: """
            Ranges are START+LENGTH or START-END, in hex (0x...) or decimal; LENGTH may carry a \
            unit (64MiB). Prints one JSON object: bytes requested and advised by the kernel, pages \
            present and swapped in the ranges before and after (pagemap), pages moved, the \
            ranges the kernel refused, and the seconds the call took. Refuses pid 1, itself and \
            kernel threads.
              tierkit advise 4242 pageout 0x7f1200000000+900MiB
              tierkit advise 4242 willneed 0x7f1200000000-0x7f1200100000
            """
    )

    @Argument(help: "The target process.")
    var pid: Int32

    @Argument(help: "pageout, cold or willneed.")
    var advice: String

    @Argument(help: "Address ranges: START+LENGTH or START-END.")
    var ranges: [String]

    func run() throws {
        guard let a = PagingAdvice(rawValue: advice.lowercased()) else {
            throw ValidationError("advice '\(advice)': expected pageout, cold or willneed")
        }
        let list = try ranges.map(Self.parseRange)
        let process = try ProcessHandle(pid: pid)
        let pagemap = try PageMap(pid: pid)
        let start = DispatchTime.now().uptimeNanoseconds
        let v = try process.adviseVerified(list, a, pageMap: pagemap)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let object: [String: Any] = [
            "pid": pid, "advice": a.rawValue,
            "requested_bytes": v.result.requestedBytes, "advised_bytes": v.result.advisedBytes, "calls": v.result.calls,
            "before": ["pages": v.before.pages, "present": v.before.present, "swapped": v.before.swapped],
            "after": ["pages": v.after.pages, "present": v.after.present, "swapped": v.after.swapped],
            "pages_moved": v.pagesMoved, "pages_not_moved": v.pagesNotMoved,
            "failures": v.result.failures.map { ["range": $0.range.description, "errno": $0.errno] },
            "seconds": seconds,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        if a == .pageout, v.pagesMoved == 0, v.before.present > 0, !SwapAreas.anyActive() {
            FileHandle.standardError.write(Data("tierkit advise: no swap is active, so nothing could move (tierkit swap setup --zram 1GiB)\n".utf8))
        }
    }

    static func parseRange(_ text: String) throws -> AddressRange {
        func number(_ s: Substring) -> UInt64? {
            s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        }
        if let plus = text.firstIndex(of: "+"), let start = number(text[..<plus]) {
            let tail = text[text.index(after: plus)...]
            let length: UInt64?
            if let n = number(tail) { length = n } else if case .bytes(let b)? = try? SizeSpec.parse(tail) { length = UInt64(b) } else { length = nil }
            if let length, length > 0 { return AddressRange(start: start, length: length) }
        } else if let dash = text.firstIndex(of: "-"), let start = number(text[..<dash]),
                  let end = number(text[text.index(after: dash)...]), end > start {
            return AddressRange(start: start, length: end - start)
        }
        throw ValidationError("range '\(text)': expected START+LENGTH or START-END (hex 0x... or decimal)")
    }
}
