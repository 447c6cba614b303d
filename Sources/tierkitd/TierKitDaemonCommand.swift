import ArgumentParser
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TierDaemon

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

@main
struct TierKitDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tierkitd",
        abstract: "TierKit's root daemon: runs paging policies on configured processes through pidfds.",
        discussion: """
            Every period it observes each target's memory (pagemap, referenced bits, page faults \
            recorded with eBPF), asks the target's paging policy what to page out or in, acts \
            through process_madvise within the target's rate limit and memory floor, and \
            verifies from pagemap what actually moved. SIGTERM or SIGINT stop it cleanly.

            Examples:
              tierkitd --check-config /etc/tierkit/tierkitd.toml
              tierkitd --config /etc/tierkit/tierkitd.toml
              tierkitd --config tools/tierkitd.example.toml --dry-run --log-level debug
            """
    )

    @Option(help: "The configuration file (TOML).")
    var config: String = "/etc/tierkit/tierkitd.toml"

    @Option(name: .customLong("check-config"), help: "Only check this configuration file: print its problems (file:line: ...) and exit.")
    var checkConfig: String?

    @Flag(help: "Log what would be done and move nothing (overrides the file's dry_run).")
    var dryRun = false

    @Option(help: "Control socket path (overrides the file's socket).")
    var socket: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (overrides the file's log_level).")
    var logLevel: String?

    func run() async throws {
        if let path = checkConfig {
            do {
                let configuration = try ConfigurationLoader.load(path: path, validatePolicy: Daemon.validatePolicy)
                print("\(path): ok, \(configuration.targets.count) target\(configuration.targets.count == 1 ? "" : "s")")
                for target in configuration.targets {
                    print("  \(target.name): \(target.selector), policy \(target.policy)")
                }
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
            return
        }

        var configuration: DaemonConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: config, validatePolicy: Daemon.validatePolicy)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        if dryRun { configuration.dryRun = true }
        if let socket { configuration.socketPath = socket }
        if let logLevel {
            guard DaemonConfiguration.logLevels.contains(logLevel) else {
                throw ValidationError("--log-level: expected one of \(DaemonConfiguration.logLevels.joined(separator: ", "))")
            }
            configuration.logLevel = logLevel
        }
        guard geteuid() == 0 else {
            printError("tierkitd: must run as root (it reads other processes' pagemaps and loads BPF programs)")
            throw ExitCode(1)
        }

        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "tierkitd")

        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: configuration, logger: logger, registry: registry)
        } catch {
            logger.critical("cannot start", metadata: ["reason": "\(error.description)"])
            printError("tierkitd: \(error.description)")
            throw ExitCode(1)
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: daemon)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Writes a line to stderr.
func printError(_ text: String) {
    fputs(text + "\n", stderr)
}
