#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One process as /proc shows it, with what the daemon needs to decide whether it may act on it.
public struct ProcessEntry: Sendable, Equatable {
    public var pid: Int32
    /// `/proc/PID/comm` (at most 15 bytes).
    public var command: String
    /// The last path component of `argv[0]` (empty for kernel threads).
    public var executableName: String
    /// Set for kernel threads (`PF_KTHREAD` in `/proc/PID/stat`).
    public var isKernelThread: Bool

    public init(pid: Int32, command: String, executableName: String, isKernelThread: Bool) {
        self.pid = pid
        self.command = command
        self.executableName = executableName
        self.isKernelThread = isKernelThread
    }
}

/// Reads processes from `/proc`.
///
/// Every read tolerates a process that exits meanwhile: it is simply absent from the answer.
public enum ProcessTable {
    /// `PF_KTHREAD` from include/linux/sched.h.
    static let kernelThreadFlag: UInt64 = 0x0020_0000

    /// The pids of every process (thread group) now in `/proc`.
    public static func allPIDs() -> [Int32] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids.sorted()
    }

    /// What `/proc/PID` says of `pid`, or nil when it is gone.
    public static func info(pid: Int32) -> ProcessEntry? {
        guard let stat = readSmallFile("/proc/\(pid)/stat") else { return nil }
        // The command is between the first '(' and the last ')'; it may contain either.
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
        let command = String(stat[stat.index(after: open)..<close])
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6).
        guard fields.count > 6, let flags = UInt64(fields[6]) else { return nil }
        let isKernelThread = flags & kernelThreadFlag != 0
        var executable = ""
        if !isKernelThread, let cmdline = readSmallFile("/proc/\(pid)/cmdline") {
            let argv0 = cmdline.split(separator: "\0", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            executable = String(argv0.split(separator: "/").last ?? "")
        }
        return ProcessEntry(pid: pid, command: command, executableName: executable, isKernelThread: isKernelThread)
    }

    /// The pids listed in a cgroup directory's `cgroup.procs`; nil when the file cannot be read.
    public static func cgroupPIDs(_ directory: String) -> [Int32]? {
        guard let text = readSmallFile(directory + "/cgroup.procs") else { return nil }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Reads a /proc or /sys file whole (they report size 0, so read until EOF).
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 {
                return nil
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
