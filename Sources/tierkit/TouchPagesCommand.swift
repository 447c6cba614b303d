import ArgumentParser
import CTierShims
import TierCore

@preconcurrency import Foundation

/// A fault-heavy workload for measuring what recording costs: maps, touches and unmaps pages.
struct TouchPagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "touch-pages",
        abstract: "Fault-heavy workload: map N pages, write one byte to each, unmap; R rounds.",
        discussion: """
            Prints the first-touch faults per second it achieved. Compare it alone and under \
            `tierkit record` to measure the recorder's cost:
              tierkit touch-pages --pages 65536 --rounds 20
              tierkit record --mode stream -- tierkit touch-pages --pages 65536 --rounds 20
            """,
        shouldDisplay: false
    )

    @Option(help: "Pages (4 KiB) per round.")
    var pages: Int = 65536

    @Option(help: "Rounds.")
    var rounds: Int = 10

    @Option(help: "Write 'FAULTS SECONDS' to this file instead of the line on stdout (for bench record).")
    var report: String?

    @Option(help: "Run on this CPU only.")
    var cpu: Int?

    func validate() throws {
        guard pages > 0, rounds > 0 else { throw ValidationError("--pages and --rounds must be positive") }
    }

    func run() throws {
        if let cpu {
            let failure = ctiershims_pin_to_cpu(Int32(cpu))
            guard failure == 0 else { throw ValidationError("--cpu \(cpu): \(String(cString: strerror(failure)))") }
        }
        let start = monotonicSeconds()
        let touched = ctiershims_fault_loop(pages, rounds)
        let seconds = monotonicSeconds() - start
        guard touched >= 0 else { throw ValidationError("mmap of \(pages) pages failed") }
        if let report {
            try "\(touched) \(seconds)\n".write(toFile: report, atomically: false, encoding: .utf8)
        } else {
            print(String(format: "touch-pages: %lld faults in %.3f s: %.0f faults/s", touched, seconds, Double(touched) / seconds))
        }
    }
}
