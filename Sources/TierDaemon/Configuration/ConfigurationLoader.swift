import Foundation
import TOMLKit
import TierCore

/// A configuration file that cannot be used: every problem found, each with where it is.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The problems in file order (a syntax error stops parsing, so it comes alone).
    public var problems: [ConfigurationProblem]

    public init(_ problems: [ConfigurationProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// One located problem: `file:line[:column]: message`.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; nil when the problem has no single place (e.g. the file cannot be read).
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int?, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "\(place): \(message)"
    }
}

/// Checks a paging policy name and its parameters; throws the reason when they are not usable.
public typealias PolicyValidator = @Sendable (_ policy: String, _ parameters: PolicyParameters) throws(PolicyError) -> Void

/// Reads `tierkitd.toml`: TOML parsed by TOMLKit, then every key checked, with each problem
/// located at its line.
public enum ConfigurationLoader {
    static let globalKeys = ["period", "socket", "metrics", "dry_run", "log_level", "target"]
    static let targetKeys = ["name", "pid", "cgroup", "command", "policy", "parameters", "floor", "rate"]

    /// Reads and checks the file at `path`.
    public static func load(path: String, validatePolicy: @escaping PolicyValidator) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file as UTF-8 text" : "no such file"
            throw ConfigurationError([ConfigurationProblem(file: path, line: nil, message: reason)])
        }
        return try parse(text: text, file: path, validatePolicy: validatePolicy)
    }

    /// Checks `text` as the contents of `file` (the name is used in messages only).
    public static func parse(text: String, file: String, validatePolicy: @escaping PolicyValidator) throws(ConfigurationError) -> DaemonConfiguration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError([ConfigurationProblem(
                file: file, line: error.source.begin.line, column: error.source.begin.column,
                message: "TOML syntax: \(error.description)")])
        } catch {
            throw ConfigurationError([ConfigurationProblem(file: file, line: nil, message: "TOML syntax: \(error)")])
        }
        var reader = Reader(file: file, locations: TOMLLocations(text: text), validatePolicy: validatePolicy)
        let configuration = reader.read(table)
        if !reader.problems.isEmpty {
            throw ConfigurationError(reader.problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        return configuration
    }

    /// Walks the parsed table, collecting problems instead of stopping at the first.
    struct Reader {
        let file: String
        let locations: TOMLLocations
        let validatePolicy: PolicyValidator
        var problems: [ConfigurationProblem] = []

        mutating func problem(_ message: String, key: String? = nil, table: String = "") {
            let line = key.flatMap { locations.line(of: $0, in: table) } ?? locations.line(ofTable: table)
            problems.append(ConfigurationProblem(file: file, line: line, message: message))
        }

        mutating func read(_ root: TOMLTable) -> DaemonConfiguration {
            var configuration = DaemonConfiguration()
            for key in root.keys where !ConfigurationLoader.globalKeys.contains(key) {
                problem("unknown key '\(key)' (expected one of: \(ConfigurationLoader.globalKeys.joined(separator: ", ")))", key: key)
            }
            if let value = root["period"] {
                if let seconds = duration(value), seconds >= 0.05 {
                    configuration.periodSeconds = seconds
                } else {
                    problem("period: expected a duration of at least 50ms such as \"5s\" or \"500ms\", found \(show(value))", key: "period")
                }
            }
            if let value = root["socket"] {
                if let path = value.string, path.hasPrefix("/") {
                    configuration.socketPath = path
                } else {
                    problem("socket: expected an absolute path such as \"/run/tierkit/tierkitd.sock\", found \(show(value))", key: "socket")
                }
            }
            if let value = root["metrics"] {
                if let text = value.string, text.isEmpty || text == "off" {
                    configuration.metricsAddress = nil
                } else if let text = value.string, let address = SocketAddress(parsing: text) {
                    configuration.metricsAddress = address
                } else {
                    problem("metrics: expected \"host:port\" such as \"127.0.0.1:9464\", or \"off\", found \(show(value))", key: "metrics")
                }
            }
            if let value = root["dry_run"] {
                if let flag = value.bool {
                    configuration.dryRun = flag
                } else {
                    problem("dry_run: expected true or false, found \(show(value))", key: "dry_run")
                }
            }
            if let value = root["log_level"] {
                if let level = value.string, DaemonConfiguration.logLevels.contains(level) {
                    configuration.logLevel = level
                } else {
                    problem("log_level: expected one of \(DaemonConfiguration.logLevels.joined(separator: ", ")), found \(show(value))", key: "log_level")
                }
            }
            if let value = root["target"] {
                if let array = value.array, array.allSatisfy({ $0.table != nil }) {
                    for (index, element) in array.enumerated() {
                        if let target = readTarget(element.table!, index: index) { configuration.targets.append(target) }
                    }
                } else {
                    problem("target: expected [[target]] tables, found \(show(value))", key: "target")
                }
            }
            var seen: [String: Int] = [:]
            for (index, target) in configuration.targets.enumerated() {
                if let first = seen[target.name] {
                    problem("target '\(target.name)': the name is already used by the target at line \(configuration.targets[first].line)",
                            key: "name", table: "target[\(index)]")
                } else {
                    seen[target.name] = index
                }
            }
            return configuration
        }

        mutating func readTarget(_ table: TOMLTable, index: Int) -> TargetConfiguration? {
            let path = "target[\(index)]"
            let before = problems.count
            for key in table.keys where !ConfigurationLoader.targetKeys.contains(key) {
                problem("unknown key '\(key)' in [[target]] (expected one of: \(ConfigurationLoader.targetKeys.joined(separator: ", ")))",
                        key: key, table: path)
            }
            var name = "#\(index + 1)"
            if let value = table["name"] {
                if let text = value.string, !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                    name = text
                } else {
                    problem("name: expected a non-empty name of letters, digits, '-', '_' or '.', found \(show(value))", key: "name", table: path)
                }
            } else {
                problem("target \(name): missing name = \"...\"", table: path)
            }
            let label = "target '\(name)'"

            var selectors: [TargetSelector] = []
            if let value = table["pid"] {
                if let pid = value.int, pid > 1, pid <= Int(Int32.max) {
                    selectors.append(.pid(Int32(pid)))
                } else {
                    problem("\(label): pid: expected a process id greater than 1 (pid 1 is never a target), found \(show(value))", key: "pid", table: path)
                }
            }
            if let value = table["cgroup"] {
                if let text = value.string, text.hasPrefix("/") {
                    selectors.append(.cgroup(text))
                } else {
                    problem("\(label): cgroup: expected the absolute path of a cgroup directory such as \"/sys/fs/cgroup/batch\", found \(show(value))",
                            key: "cgroup", table: path)
                }
            }
            if let value = table["command"] {
                if let text = value.string, !text.isEmpty, !text.contains("/") {
                    selectors.append(.command(text))
                } else {
                    problem("\(label): command: expected a command name without '/' such as \"postgres\", found \(show(value))",
                            key: "command", table: path)
                }
            }
            let written = ["pid", "cgroup", "command"].filter { table[$0] != nil }
            if written.isEmpty {
                problem("\(label): expected one of pid = N, cgroup = \"PATH\" or command = \"NAME\" to select its processes", table: path)
            } else if written.count > 1 {
                problem("\(label): expected exactly one of pid, cgroup and command, found \(written.joined(separator: " and "))",
                        key: written[1], table: path)
            }

            var policy = ""
            if let value = table["policy"] {
                if let text = value.string, !text.isEmpty {
                    policy = text
                } else {
                    problem("\(label): policy: expected a paging policy name, found \(show(value))", key: "policy", table: path)
                }
            } else {
                problem("\(label): missing policy = \"...\" (a paging policy name)", table: path)
            }

            var parameters: [ParameterEntry] = []
            if let value = table["parameters"] {
                if let inner = value.table {
                    let parameterPath = "\(path).parameters"
                    for key in inner.keys {
                        let item = inner[key]!
                        let text: String? = item.string ?? item.int.map(String.init) ?? item.double.map { String($0) } ?? item.bool.map { String($0) }
                        let line = locations.line(of: key, in: parameterPath) ?? locations.line(ofTable: parameterPath) ?? 0
                        if let text {
                            parameters.append(ParameterEntry(key: key.lowercased(), value: text, line: line))
                        } else {
                            problem("\(label): parameter \(key): expected a string, number or boolean, found \(show(item))",
                                    key: key, table: parameterPath)
                        }
                    }
                    parameters.sort { $0.line < $1.line }
                } else {
                    problem("\(label): parameters: expected a table such as [target.parameters], found \(show(value))",
                            key: "parameters", table: path)
                }
            }
            if !policy.isEmpty {
                do {
                    try validatePolicy(policy, PolicyParameters(policy: policy, entries: parameters.map { ($0.key, $0.value) }))
                } catch {
                    // Point at the parameter the message names, else at the policy.
                    let named = parameters.first { error.description.contains("'\($0.key)'") || error.description.contains(" \($0.key)=") }
                    if let named {
                        problems.append(ConfigurationProblem(file: file, line: named.line, message: "\(label): \(error.description)"))
                    } else {
                        problem("\(label): \(error.description)", key: "policy", table: path)
                    }
                }
            }

            var floor: Int64 = 0
            if let value = table["floor"] {
                if let n = value.int, n >= 0 {
                    floor = Int64(n)
                } else if let text = value.string, let n = ConfigurationUnits.bytes(text) {
                    floor = n
                } else {
                    problem("\(label): floor: expected a byte size such as \"256MiB\" or 268435456, found \(show(value))", key: "floor", table: path)
                }
            }
            var rate: Int64? = TargetConfiguration.defaultRateBytesPerSecond
            if let value = table["rate"] {
                if let n = value.int, n > 0 {
                    rate = Int64(n)
                } else if let text = value.string, let parsed = ConfigurationUnits.bytesPerSecond(text) {
                    rate = parsed
                } else {
                    problem("\(label): rate: expected bytes per second such as \"64MiB/s\", or \"unlimited\", found \(show(value))",
                            key: "rate", table: path)
                }
            }
            guard problems.count == before, let selector = selectors.first else { return nil }
            return TargetConfiguration(
                name: name, selector: selector, policy: policy, parameters: parameters, floorBytes: floor,
                rateBytesPerSecond: rate, line: locations.line(ofTable: path) ?? 0)
        }

        func duration(_ value: TOMLValueConvertible) -> Double? {
            if let text = value.string { return ConfigurationUnits.seconds(text) }
            if let n = value.int { return Double(n) }
            if let d = value.double, d.isFinite { return d }
            return nil
        }

        /// The value as written (roughly), for messages.
        func show(_ value: TOMLValueConvertible) -> String {
            if let text = value.string { return "\"\(text)\"" }
            if let n = value.int { return String(n) }
            if let d = value.double { return String(d) }
            if let b = value.bool { return String(b) }
            return "a \(value.type)"
        }
    }
}
