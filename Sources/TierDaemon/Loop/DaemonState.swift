import Synchronization
import TierCore

/// What the loop and the control socket share: per-target switches set by `tierkit ctl` and
/// the figures the loop publishes. One lock; every critical section is a few assignments.
final class DaemonState: Sendable {
    struct Target: Sendable {
        var configuration: TargetConfiguration
        var status: TargetStatus
        /// A policy set over the socket, not yet taken up by the loop.
        var pendingPolicy: (name: String, parameters: [ParameterEntry])?
    }

    struct Shared: Sendable {
        var targets: [Target]
        var dryRun: Bool
        var periods = 0
        var swapTotalBytes: Int64 = 0
        var swapFreeBytes: Int64 = 0
    }

    let shared: Mutex<Shared>

    init(configuration: DaemonConfiguration) {
        let targets = configuration.targets.map { target in
            Target(configuration: target, status: TargetStatus(
                name: target.name, selector: target.selector.description, policy: target.policy,
                parameters: Dictionary(target.parameters.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
                floorBytes: target.floorBytes, rateBytesPerSecond: target.rateBytesPerSecond), pendingPolicy: nil)
        }
        shared = Mutex(Shared(targets: targets, dryRun: configuration.dryRun))
    }

    var dryRun: Bool { shared.withLock { $0.dryRun } }

    func isPaused(_ index: Int) -> Bool { shared.withLock { $0.targets[index].status.paused } }

    /// Takes a policy change set over the socket, if one is waiting.
    func takePendingPolicy(_ index: Int) -> (name: String, parameters: [ParameterEntry])? {
        shared.withLock { state in
            defer { state.targets[index].pendingPolicy = nil }
            return state.targets[index].pendingPolicy
        }
    }

    /// Applies `change` to target `index`'s published status.
    func update(_ index: Int, _ change: (inout TargetStatus) -> Void) {
        shared.withLock { change(&$0.targets[index].status) }
    }

    func statuses() -> [TargetStatus] { shared.withLock { $0.targets.map(\.status) } }
}
