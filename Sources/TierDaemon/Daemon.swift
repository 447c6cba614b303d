import Logging
import Prometheus
import ServiceLifecycle
import TierCore
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Why the daemon cannot start.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// tierkitd: runs the configured targets' paging policies every period until a graceful
/// shutdown (SIGTERM/SIGINT through swift-service-lifecycle), serving the control socket and,
/// when configured, Prometheus metrics.
///
/// Nothing it creates outlives the process: the BPF programs are attached through links held
/// only by file descriptors (never pinned), and every process is acted on through a pidfd.
public final class Daemon: Service, ControlHandler {
    public let configuration: DaemonConfiguration
    private let logger: Logger
    private let state: DaemonState
    private let registry: PrometheusCollectorRegistry?
    private let started = monotonicNanoseconds()

    /// Checks a paging policy name and parameters against the built-in policies.
    public static let validatePolicy: PolicyValidator = { name, parameters throws(PolicyError) in
        _ = try PagingPolicies.make(name: name, parameters: parameters)
    }

    /// Prepares the daemon; throws when a target cannot run here (a paging policy with no
    /// swap to page to).
    public init(configuration: DaemonConfiguration, logger: Logger, registry: PrometheusCollectorRegistry?) throws(DaemonError) {
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        state = DaemonState(configuration: configuration)
        if let target = configuration.targets.first, !SwapAreas.anyActive() {
            throw DaemonError(Self.noSwapMessage(target: target.name, policy: target.policy))
        }
    }

    static func noSwapMessage(target: String, policy: String) -> String {
        "target '\(target)': paging policy '\(policy)' pages memory out to swap, but this host has no active swap "
            + "(/proc/swaps lists none), so process_madvise would report success and move nothing; "
            + "create one first, e.g. `tierkit swap setup --zram 4GiB`"
    }

    public func run() async throws {
        let control = try ControlServer(path: configuration.socketPath, handler: self, logger: logger)
        defer { control.stop() }
        var metricsServer: MetricsServer? = nil
        if let address = configuration.metricsAddress, let registry {
            metricsServer = try MetricsServer(address: address, registry: registry, logger: logger)
        }
        defer { metricsServer?.stop() }

        let loop = PagingLoop(configuration: configuration, state: state, logger: logger)
        defer { loop.shutdown() }
        logger.info("tierkitd running", metadata: [
            "pid": "\(getpid())", "targets": "\(configuration.targets.count)", "period_s": "\(configuration.periodSeconds)",
            "socket": "\(configuration.socketPath)", "dry_run": "\(state.dryRun)"])

        let period = Duration.nanoseconds(Int64(configuration.periodSeconds * 1e9))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            loop.runPeriod()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            } catch {
                break
            }
        }
        logger.info("tierkitd stopping")
    }

    // MARK: control

    public func handle(_ request: ControlRequest) -> ControlResponse {
        switch request.command {
        case .status:
            let (shared, targets) = state.shared.withLock { ($0, $0.targets.map(\.status)) }
            let status = DaemonStatus(
                pid: getpid(), uptimeSeconds: Double(monotonicNanoseconds() - started) / 1e9,
                periodSeconds: configuration.periodSeconds, periods: shared.periods, dryRun: shared.dryRun,
                socket: configuration.socketPath, metrics: configuration.metricsAddress?.description,
                swapTotalBytes: shared.swapTotalBytes, swapFreeBytes: shared.swapFreeBytes)
            return ControlResponse(ok: true, status: status, targets: targets)
        case .targets:
            return ControlResponse(ok: true, targets: state.statuses())
        case .pause, .resume:
            let pause = request.command == .pause
            return state.shared.withLock { shared in
                let indices: [Int]
                if let name = request.target {
                    guard let i = shared.targets.firstIndex(where: { $0.configuration.name == name }) else {
                        return .failure(Self.unknownTarget(name, shared))
                    }
                    indices = [i]
                } else {
                    indices = Array(shared.targets.indices)
                }
                for i in indices { shared.targets[i].status.paused = pause }
                let names = indices.map { shared.targets[$0].configuration.name }.joined(separator: ", ")
                logger.notice(pause ? "paused" : "resumed", metadata: ["targets": "\(names)"])
                return ControlResponse(ok: true, message: "\(pause ? "paused" : "resumed"): \(names.isEmpty ? "no targets" : names)")
            }
        case .setPolicy:
            guard let name = request.target else { return .failure("set-policy needs a target") }
            guard let policy = request.policy, !policy.isEmpty else { return .failure("set-policy needs a policy name") }
            let parameters = (request.parameters ?? [:]).sorted { $0.key < $1.key }.map { ParameterEntry(key: $0.key.lowercased(), value: $0.value) }
            do {
                try Self.validatePolicy(policy, PolicyParameters(policy: policy, entries: parameters.map { ($0.key, $0.value) }))
            } catch {
                return .failure(error.description)
            }
            guard SwapAreas.anyActive() else { return .failure(Self.noSwapMessage(target: name, policy: policy)) }
            return state.shared.withLock { shared in
                guard let i = shared.targets.firstIndex(where: { $0.configuration.name == name }) else {
                    return .failure(Self.unknownTarget(name, shared))
                }
                shared.targets[i].pendingPolicy = (policy, parameters)
                shared.targets[i].status.policy = policy
                shared.targets[i].status.parameters = Dictionary(parameters.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
                let text = parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                logger.notice("policy set", metadata: ["target": "\(name)", "policy": "\(policy)", "parameters": "\(text)"])
                return ControlResponse(ok: true, message: "target \(name): policy \(policy)\(text.isEmpty ? "" : "(\(text))") from the next period")
            }
        case .dryRun:
            return state.shared.withLock { shared in
                if let enabled = request.enabled {
                    shared.dryRun = enabled
                    logger.notice("dry run \(enabled ? "on" : "off")")
                }
                return ControlResponse(ok: true, message: "dry run \(shared.dryRun ? "on" : "off")")
            }
        }
    }

    private static func unknownTarget(_ name: String, _ shared: DaemonState.Shared) -> String {
        "unknown target '\(name)' (targets: \(shared.targets.map(\.configuration.name).joined(separator: ", ")))"
    }
}
