#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process run to completion, with what it printed and its peak memory
/// (from `wait4`'s rusage, so it is the child's own, not this process's).
public struct MeasuredRun: Sendable {
    public var status: Int32
    public var output: String
    public var peakResidentBytes: Int64
    public var seconds: Double
}

public struct ProcessLaunchError: Error, CustomStringConvertible {
    public var description: String
}

/// Runs `path` with `arguments`, capturing stdout; stderr passes through, or is
/// discarded with `discardStderr` (a chatty peer's log lines).
public func runMeasured(_ path: String, _ arguments: [String], discardStderr: Bool = false) throws -> MeasuredRun {
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { throw ProcessLaunchError(description: "pipe failed") }
    var actions: posix_spawn_file_actions_t
    #if canImport(Darwin)
    actions = nil
    #else
    actions = posix_spawn_file_actions_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
    if discardStderr { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }

    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = monotonicSeconds()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    close(pipeFDs[1])
    guard rc == 0 else {
        close(pipeFDs[0])
        throw ProcessLaunchError(description: "cannot start \(path): \(String(cString: strerror(rc)))")
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
        if n > 0 { bytes += chunk[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
    }
    close(pipeFDs[0])
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let seconds = monotonicSeconds() - start
    #if canImport(Darwin)
    let peak = Int64(usage.ru_maxrss)
    #else
    let peak = Int64(usage.ru_maxrss) * 1024
    #endif
    let exited = (status & 0x7f) == 0
    return MeasuredRun(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                       output: String(decoding: bytes, as: UTF8.self), peakResidentBytes: peak, seconds: seconds)
}

/// The median of `values` (the mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
