import ArgumentParser
import Logging
import TierBPF

@preconcurrency import Foundation

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show which eBPF features this kernel allows (needs root).",
        discussion: """
            Loads and attaches a minimal program of each attach type (tp_btf, raw_tracepoint, \
            tracepoint, fentry, kprobe), creates a ring buffer, and looks up the tracepoints \
            TierKit uses in tracefs (or, when tracefs is not mounted, in the kernel's BTF).

            Examples:
              tierkit probe
              tierkit probe --verbose     # libbpf's own messages on stderr
            """
    )

    @Flag(help: "Show libbpf's warnings (why a load or attach failed) on stderr.")
    var verbose = false

    func run() throws {
        var logger = Logger(label: "tierkit.libbpf") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .critical
        LibBPFLogging.route(to: logger)
        let results = BPFFeatures.probeAll()
        let width = results.map(\.feature.count).max() ?? 0
        print("feature".padding(toLength: width, withPad: " ", startingAt: 0) + "  ok   detail")
        for result in results {
            let name = result.feature.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(name)  \(result.available ? "yes" : "no ")  \(result.detail)")
        }
    }
}
