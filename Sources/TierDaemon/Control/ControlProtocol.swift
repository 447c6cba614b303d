import Foundation

/// The control socket's protocol: one JSON object per line each way, one response per request.
///
/// ```
/// → {"command":"status"}
/// ← {"ok":true,"status":{...}}
/// → {"command":"set-policy","target":"batch","policy":"cold-age","parameters":{"min_age":"10s"}}
/// ← {"ok":true,"message":"target batch: policy cold-age(min_age=10s)"}
/// → {"command":"bogus"}
/// ← {"ok":false,"error":"unknown command 'bogus' (known: status, targets, ...)"}
/// ```
/// Keys are snake_case. Only uid 0 peers are served; others get one error line, then EOF.
public enum ControlCommand: String, Codable, Sendable, CaseIterable {
    case status
    case targets
    case pause
    case resume
    case setPolicy = "set-policy"
    case dryRun = "dry-run"
}

/// A request on the control socket.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var command: ControlCommand
    /// The target's name (`pause`, `resume`: every target when absent; `set-policy`: required).
    public var target: String?
    /// `set-policy`: the new policy's name.
    public var policy: String?
    /// `set-policy`: its parameters.
    public var parameters: [String: String]?
    /// `dry-run`: on or off (absent: only report the current state).
    public var enabled: Bool?

    public init(command: ControlCommand, target: String? = nil, policy: String? = nil,
                parameters: [String: String]? = nil, enabled: Bool? = nil) {
        self.command = command
        self.target = target
        self.policy = policy
        self.parameters = parameters
        self.enabled = enabled
    }
}

/// The answer to one request.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    /// Why the request failed, when `ok` is false.
    public var error: String?
    /// What changed, for commands that change something.
    public var message: String?
    /// `status`: the daemon as a whole.
    public var status: DaemonStatus?
    /// `status` and `targets`: every target.
    public var targets: [TargetStatus]?

    public init(ok: Bool, error: String? = nil, message: String? = nil, status: DaemonStatus? = nil, targets: [TargetStatus]? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.status = status
        self.targets = targets
    }

    public static func failure(_ error: String) -> ControlResponse { ControlResponse(ok: false, error: error) }
}

/// The daemon as a whole.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var pid: Int32
    public var uptimeSeconds: Double
    public var periodSeconds: Double
    public var periods: Int
    public var dryRun: Bool
    public var socket: String
    /// `host:port`, or nil when metrics are off.
    public var metrics: String?
    public var swapTotalBytes: Int64
    public var swapFreeBytes: Int64

    public init(pid: Int32, uptimeSeconds: Double, periodSeconds: Double, periods: Int, dryRun: Bool, socket: String,
                metrics: String?, swapTotalBytes: Int64, swapFreeBytes: Int64) {
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.periodSeconds = periodSeconds
        self.periods = periods
        self.dryRun = dryRun
        self.socket = socket
        self.metrics = metrics
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }
}

/// One target: its configuration, its processes now, and what the daemon did to them so far.
public struct TargetStatus: Codable, Sendable, Equatable {
    public var name: String
    public var selector: String
    public var policy: String
    public var parameters: [String: String]
    public var paused: Bool
    public var pids: [Int32]
    public var floorBytes: Int64
    /// Nil: unlimited.
    public var rateBytesPerSecond: Int64?
    /// Resident and swapped bytes of its processes at the last period (pagemap).
    public var residentBytes: Int64
    public var swappedBytes: Int64
    /// Bytes the policy asked to page out, and bytes verified as actually moved out (pagemap).
    public var requestedBytes: Int64
    public var pagedOutBytes: Int64
    /// Bytes asked to be brought back (willneed) and verified as resident afterwards.
    public var requestedInBytes: Int64
    public var pagedInBytes: Int64
    /// Pages that faulted back in after being swapped out.
    public var refaults: Int64
    /// Actions executed, and actions held back by the rate limit, the floor or dry-run.
    public var actions: Int64
    public var deferredActions: Int64
    /// In dry-run: bytes the policy would have paged out.
    public var dryRunBytes: Int64
    /// The last thing that went wrong, if anything.
    public var lastError: String?

    public init(name: String, selector: String, policy: String, parameters: [String: String] = [:], paused: Bool = false,
                pids: [Int32] = [], floorBytes: Int64 = 0, rateBytesPerSecond: Int64? = nil) {
        self.name = name
        self.selector = selector
        self.policy = policy
        self.parameters = parameters
        self.paused = paused
        self.pids = pids
        self.floorBytes = floorBytes
        self.rateBytesPerSecond = rateBytesPerSecond
        self.residentBytes = 0
        self.swappedBytes = 0
        self.requestedBytes = 0
        self.pagedOutBytes = 0
        self.requestedInBytes = 0
        self.pagedInBytes = 0
        self.refaults = 0
        self.actions = 0
        self.deferredActions = 0
        self.dryRunBytes = 0
        self.lastError = nil
    }
}

/// Encoding and decoding of protocol lines (snake_case keys, one line, sorted keys so the
/// output is stable).
public enum ControlCoding {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return #"{"ok":false,"error":"response could not be encoded"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from line: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(line.utf8))
    }

    /// A readable reason a request line was refused.
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return "not JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
        case DecodingError.keyNotFound(let key, _):
            return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "'\(path)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
