import ArgumentParser
import Foundation
import TierCore
import TierDaemon

/// `tierkit ctl`: talks to a running tierkitd over its control socket (root only).
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Control a running tierkitd through its unix socket (root only).",
        discussion: """
            Examples:
              tierkit ctl status
              tierkit ctl targets --json
              tierkit ctl pause batch          # every target when none is named
              tierkit ctl resume batch
              tierkit ctl set-policy batch cold-age:min_age=30s,wmark_high=1,wmark_mid=1,wmark_low=0
              tierkit ctl dry-run on
            """,
        subcommands: [Status.self, Targets.self, Pause.self, Resume.self, SetPolicy.self, DryRun.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The daemon's control socket.")
        var socket: String = DaemonConfiguration.defaultSocketPath

        @Flag(help: "Print the daemon's JSON answer as it is.")
        var json = false

        /// Sends `request`; prints the answer (raw with --json); fails when the daemon refused.
        func send(_ request: ControlRequest, render: (ControlResponse) -> String) throws {
            let response: ControlResponse
            do {
                response = try ControlClient.send(request, socketPath: socket)
            } catch {
                FileHandle.standardError.write(Data("tierkit ctl: cannot reach tierkitd at \(socket): \(error)\n".utf8))
                throw ExitCode(1)
            }
            if json {
                print(ControlCoding.encode(response))
            } else if response.ok {
                print(render(response))
            }
            guard response.ok else {
                if !json { FileHandle.standardError.write(Data("tierkit ctl: \(response.error ?? "refused")\n".utf8)) }
                throw ExitCode(1)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The daemon and every target.")
        @OptionGroup var connection: Connection
        func run() throws {
            try connection.send(ControlRequest(command: .status)) { response in
                var lines: [String] = []
                if let s = response.status {
                    lines.append("tierkitd pid \(s.pid), up \(String(format: "%.0f", s.uptimeSeconds)) s, \(s.periods) periods of \(s.periodSeconds) s"
                        + (s.dryRun ? ", DRY RUN" : ""))
                    lines.append("swap: \(mib(s.swapTotalBytes - s.swapFreeBytes)) used of \(mib(s.swapTotalBytes)); metrics: \(s.metrics ?? "off")")
                }
                lines.append(targetTable(response.targets ?? []))
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Targets: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every target: processes, policy, memory, what was moved.")
        @OptionGroup var connection: Connection
        func run() throws {
            try connection.send(ControlRequest(command: .targets)) { targetTable($0.targets ?? []) }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop acting on a target (or on all); it is still observed.")
        @OptionGroup var connection: Connection
        @Argument(help: "The target's name (default: every target).") var target: String?
        func run() throws {
            try connection.send(ControlRequest(command: .pause, target: target)) { $0.message ?? "" }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Act on a paused target (or on all) again.")
        @OptionGroup var connection: Connection
        @Argument(help: "The target's name (default: every target).") var target: String?
        func run() throws {
            try connection.send(ControlRequest(command: .resume, target: target)) { $0.message ?? "" }
        }
    }

    struct SetPolicy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-policy", abstract: "Give a target another paging policy, from the next period.")
        @OptionGroup var connection: Connection
        @Argument(help: "The target's name.") var target: String
        @Argument(help: "POLICY or POLICY:key=value,key=value (see `tierkit policies`).") var policy: String
        func run() throws {
            let parts = policy.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let parameters = try PolicyParameters(policy: name, parsing: parts.count > 1 ? parts[1] : "")
            let dictionary = Dictionary(parameters.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            try connection.send(ControlRequest(command: .setPolicy, target: target, policy: name, parameters: dictionary)) { $0.message ?? "" }
        }
    }

    struct DryRun: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dry-run", abstract: "Turn dry-run on (log, move nothing) or off; without an argument, show it.")
        @OptionGroup var connection: Connection
        @Argument(help: "on or off.") var state: Switch?
        enum Switch: String, ExpressibleByArgument { case on, off }
        func run() throws {
            try connection.send(ControlRequest(command: .dryRun, enabled: state.map { $0 == .on })) { $0.message ?? "" }
        }
    }
}

private func mib(_ bytes: Int64) -> String { String(format: "%.1f MiB", Double(bytes) / 1048576) }

private func targetTable(_ targets: [TargetStatus]) -> String {
    guard !targets.isEmpty else { return "no targets" }
    let rows = targets.map { t -> [String] in
        let parameters = t.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return [t.name + (t.paused ? " (paused)" : ""), t.selector, t.policy + (parameters.isEmpty ? "" : ":" + parameters),
                t.pids.map(String.init).joined(separator: ","), mib(t.residentBytes), mib(t.swappedBytes),
                mib(t.requestedBytes), mib(t.pagedOutBytes), String(t.refaults), t.lastError ?? ""]
    }
    return renderTable(["target", "selector", "policy", "pids", "resident", "swapped", "requested", "paged out", "refaults", "last error"], rows)
}
