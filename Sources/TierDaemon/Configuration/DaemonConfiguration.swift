import TierCore

/// What `tierkitd` runs: global settings and the targets it may act on.
///
/// Built by ``ConfigurationLoader`` from a TOML file; every field has been checked, so the
/// daemon only meets values that make sense. The daemon never acts on a process that no target
/// selects.
public struct DaemonConfiguration: Sendable, Equatable {
    /// How often the loop runs, in seconds.
    public var periodSeconds: Double
    /// The control socket's path.
    public var socketPath: String
    /// Where Prometheus metrics are served (`host:port`); nil: not served.
    public var metricsAddress: SocketAddress?
    /// Log what would be done, move nothing.
    public var dryRun: Bool
    /// The swift-log level name (`trace` ... `critical`).
    public var logLevel: String
    /// The targets, in file order.
    public var targets: [TargetConfiguration]

    /// The defaults a file may override.
    public static let defaultPeriodSeconds = 5.0
    public static let defaultSocketPath = "/run/tierkit/tierkitd.sock"
    public static let defaultLogLevel = "info"
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init(periodSeconds: Double = Self.defaultPeriodSeconds, socketPath: String = Self.defaultSocketPath,
                metricsAddress: SocketAddress? = nil, dryRun: Bool = false, logLevel: String = Self.defaultLogLevel,
                targets: [TargetConfiguration] = []) {
        self.periodSeconds = periodSeconds
        self.socketPath = socketPath
        self.metricsAddress = metricsAddress
        self.dryRun = dryRun
        self.logLevel = logLevel
        self.targets = targets
    }
}

/// One target: which processes, which paging policy, and the limits it acts within.
public struct TargetConfiguration: Sendable, Equatable {
    /// The name `tierkit ctl` and the metrics use.
    public var name: String
    /// How its processes are found; re-resolved every period.
    public var selector: TargetSelector
    /// The paging policy's name, as the paging policy registry knows it.
    public var policy: String
    /// The policy's parameters (values as written, converted to text).
    public var parameters: [ParameterEntry]
    /// Resident memory (summed over the target's processes) the daemon never pages below.
    public var floorBytes: Int64
    /// Bytes per second the daemon may page out (or in) for this target; nil: unlimited.
    public var rateBytesPerSecond: Int64?
    /// The line of the target's `[[target]]` header, for messages about it.
    public var line: Int

    /// The default rate when a target names none: enough to move a few GiB a minute, little
    /// enough not to swamp a zram device.
    public static let defaultRateBytesPerSecond: Int64 = 64 << 20

    public init(name: String, selector: TargetSelector, policy: String, parameters: [ParameterEntry] = [],
                floorBytes: Int64 = 0, rateBytesPerSecond: Int64? = Self.defaultRateBytesPerSecond, line: Int = 0) {
        self.name = name
        self.selector = selector
        self.policy = policy
        self.parameters = parameters
        self.floorBytes = floorBytes
        self.rateBytesPerSecond = rateBytesPerSecond
        self.line = line
    }

    /// The parameters in the form policies read them.
    public var policyParameters: PolicyParameters {
        PolicyParameters(policy: policy, entries: parameters.map { ($0.key, $0.value) })
    }
}

/// A policy parameter as written in the file.
public struct ParameterEntry: Sendable, Equatable {
    public var key: String
    public var value: String
    /// Where it was written (0 when it came from the control socket).
    public var line: Int

    public init(key: String, value: String, line: Int = 0) {
        self.key = key
        self.value = value
        self.line = line
    }
}

/// How a target's processes are found.
public enum TargetSelector: Sendable, Equatable, CustomStringConvertible {
    /// One process; the target is empty once it exits.
    case pid(Int32)
    /// Every process listed in the cgroup directory's `cgroup.procs` (v1 or v2).
    case cgroup(String)
    /// Every process whose `comm` (or the last component of its `argv[0]`) equals the name.
    case command(String)

    public var description: String {
        switch self {
        case .pid(let pid): "pid \(pid)"
        case .cgroup(let path): "cgroup \(path)"
        case .command(let name): "command \(name)"
        }
    }
}

/// A TCP listening address, `host:port`; IPv4 dotted quads and `localhost`.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:9464`, `0.0.0.0:9464`, `localhost:9464` or `:9464` (loopback).
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}
