import ArgumentParser

@main
struct TierKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tierkit",
        abstract: "Memory tiering and caching research toolkit: replay traces through cache policies, miss-ratio curves, eBPF page-fault recording, page-access reports, LLM inference, benchmarks.",
        subcommands: [ReplayCommand.self, TraceCommand.self, ReportCommand.self, MRCCommand.self, BenchCommand.self, PoliciesCommand.self,
                      ProbeCommand.self, RecordCommand.self, TouchPagesCommand.self, TokenizeCommand.self, InferCommand.self,
                      SwapCommand.self, WorkloadCommand.self, AdviseCommand.self, CtlCommand.self, ServeCommand.self]
    )
}
