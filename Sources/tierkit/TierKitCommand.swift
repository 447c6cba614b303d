import ArgumentParser

@main
struct TierKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tierkit",
        abstract: "Memory tiering and caching research toolkit: replay traces through cache policies, build miss-ratio curves, benchmark.",
        subcommands: [ReplayCommand.self, TraceCommand.self, MRCCommand.self, BenchCommand.self, PoliciesCommand.self, TokenizeCommand.self, InferCommand.self]
    )
}
