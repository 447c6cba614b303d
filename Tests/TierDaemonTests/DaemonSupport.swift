import Foundation
import TierDaemon
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Whether a test that needs root can run; prints the SKIPPED line when not.
func rootAvailable(_ test: String) -> Bool {
    guard geteuid() == 0 else {
        print("SKIPPED \(test): needs root (tierkitd reads pagemaps, loads BPF programs, creates zram swap)")
        return false
    }
    return true
}

/// The directory holding the built products (the test bundle sits beside tierkitd and tierkit).
func productPath(_ name: String) throws -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4095) }
    guard n > 0 else { throw DaemonTestError("cannot read /proc/self/exe") }
    var directory = URL(fileURLWithPath: String(decoding: buffer[0..<n], as: UTF8.self)).deletingLastPathComponent()
    // Linux: .build/debug/TierKitPackageTests.xctest is the executable itself.
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    throw DaemonTestError("\(name) is not built next to the tests (run `swift build` first)")
}

struct DaemonTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A scratch directory removed on release.
final class ScratchDirectory {
    let path: String
    init() throws {
        var template = Array("/tmp/tierkitd-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DaemonTestError("mkdtemp failed") }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// A child process with its stdout and stderr in files; killed (SIGKILL) and reaped on release
/// if still running.
final class ChildProcess {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private(set) var exitStatus: Int32?

    init(_ path: String, _ arguments: [String], stdout: String, stderr: String) throws {
        stdoutPath = stdout
        stderrPath = stderr
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw DaemonTestError("cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitFor(seconds: 5)
        }
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits up to `seconds` for the child to exit; returns its wait status, or nil.
    func waitFor(seconds: Double) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                exitStatus = status
                return status
            }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    var stdoutText: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderrText: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// A `tierkit workload hotcold` child and the layout its first line gives.
final class HotColdWorkload {
    let process: ChildProcess
    let pid: Int32
    let hot: [AddressRange]
    let cold: [AddressRange]

    init(size: String, hot share: String, duration: String, scratch: ScratchDirectory, name: String) throws {
        process = try ChildProcess(try productPath("tierkit"), ["workload", "hotcold", "--size", size, "--hot", share, "--duration", duration, "--json"],
                                   stdout: scratch.file("\(name).out"), stderr: scratch.file("\(name).err"))
        var layout: [String: Any]? = nil
        for _ in 0..<500 {
            if let line = process.stdoutText.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                layout = object
                break
            }
            usleep(10_000)
        }
        guard let layout, let pid = layout["pid"] as? Int else {
            throw DaemonTestError("workload printed no layout: \(process.stderrText)")
        }
        func ranges(_ key: String) -> [AddressRange] {
            ((layout[key] as? [[String: Any]]) ?? []).map {
                AddressRange(start: ($0["start"] as? NSNumber)?.uint64Value ?? 0, length: ($0["length"] as? NSNumber)?.uint64Value ?? 0)
            }
        }
        self.pid = Int32(pid)
        hot = ranges("hot")
        cold = ranges("cold")
    }

    /// Present and swapped pages over `ranges`, from pagemap.
    func counts(_ ranges: [AddressRange]) throws -> PageCounts {
        let map = try PageMap(pid: pid)
        return try ranges.reduce(PageCounts()) { $0 + (try map.counts($1)) }
    }
}

/// A running tierkitd with a configuration written for the test.
final class DaemonProcess {
    let process: ChildProcess
    let socket: String

    init(configuration: String, scratch: ScratchDirectory, extraArguments: [String] = []) throws {
        let path = scratch.file("tierkitd.toml")
        socket = scratch.file("tierkitd.sock")
        try ("socket = \"\(socket)\"\n" + configuration).write(toFile: path, atomically: true, encoding: .utf8)
        process = try ChildProcess(try productPath("tierkitd"), ["--config", path, "--log-level", "debug"] + extraArguments,
                                   stdout: scratch.file("tierkitd.out"), stderr: scratch.file("tierkitd.log"))
        // Ready when the socket answers and the first period has run (the recorder is attached).
        for _ in 0..<1000 {
            if let response = try? ControlClient.send(ControlRequest(command: .status), socketPath: socket), response.ok,
               (response.status?.periods ?? 0) >= 1 { return }
            if process.waitFor(seconds: 0) != nil { break }
            usleep(10_000)
        }
        throw DaemonTestError("tierkitd did not come up: \(process.stderrText)")
    }

    func send(_ request: ControlRequest) throws -> ControlResponse {
        try ControlClient.send(request, socketPath: socket)
    }

    /// Status once at least `periods` more periods have run.
    func status(afterPeriods periods: Int, timeout: Double = 30) throws -> ControlResponse {
        let start = try send(ControlRequest(command: .status)).status?.periods ?? 0
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let response = try send(ControlRequest(command: .status))
            if (response.status?.periods ?? 0) >= start + periods { return response }
            usleep(50_000)
        }
        throw DaemonTestError("tierkitd ran fewer than \(periods) periods in \(timeout) s")
    }
}

/// The test's own zram swap device, removed (swapoff, hot_remove) on release.
final class TestSwap {
    let device: ZramSwap
    init(size: Int64 = 256 << 20) throws {
        device = try ZramSwap.create(size: size, priority: 10)
    }
    deinit { try? device.destroy() }
}
