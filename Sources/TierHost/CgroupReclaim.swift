#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// cgroup v2 proactive reclaim (`memory.reclaim`, Linux 5.19+), when the host offers it.
///
/// It needs the memory controller on the unified hierarchy; hosts that keep memory on cgroup v1
/// (these VMs do) have no such file, and ``availability(cgroup:)`` says so.
public enum CgroupReclaim {
    /// Whether `memory.reclaim` can be used for a cgroup, and if not, why.
    public enum Availability: Sendable, Equatable {
        /// The control file to write.
        case available(path: String)
        case unavailable(reason: String)

        public var isAvailable: Bool { if case .available = self { return true } else { return false } }
    }

    /// Where cgroup v2 is mounted (the first cgroup2 line of /proc/self/mounts), or nil.
    public static func unifiedMountPoint() -> String? {
        guard let text = try? HostFile.read("/proc/self/mounts") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 2, f[2] == "cgroup2" { return String(f[1]) }
        }
        return nil
    }

    /// Where the cgroup v1 memory controller is mounted, or nil.
    public static func memoryV1MountPoint() -> String? {
        guard let text = try? HostFile.read("/proc/self/mounts") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 3, f[2] == "cgroup", f[3].split(separator: ",").contains("memory") { return String(f[1]) }
        }
        return nil
    }

    /// Checks a cgroup given as a path under the cgroup2 mount (`/sys/fs/cgroup/job`) or relative to it (`job`).
    public static func availability(cgroup: String) -> Availability {
        guard let mount = unifiedMountPoint() else {
            let v1 = memoryV1MountPoint().map { " (the memory controller is on cgroup v1 at \($0))" } ?? ""
            return .unavailable(reason: "no cgroup2 file system is mounted\(v1)")
        }
        let dir = cgroup.hasPrefix("/") ? cgroup : mount + "/" + cgroup
        guard HostFile.exists(dir) else { return .unavailable(reason: "\(dir) does not exist") }
        let file = dir + "/memory.reclaim"
        if HostFile.exists(file) { return .available(path: file) }
        let controllers = (try? HostFile.read(mount + "/cgroup.controllers")) ?? ""
        if !controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory") {
            return .unavailable(reason: "the memory controller is not on cgroup v2 here (\(mount)/cgroup.controllers: '\(controllers.trimmingCharacters(in: "\n"))'); it is on cgroup v1")
        }
        return .unavailable(reason: "\(file) does not exist (kernel older than 5.19, or memory not enabled in the parent's cgroup.subtree_control)")
    }

    /// Asks the kernel to reclaim `bytes` from the cgroup. EAGAIN means it reclaimed less.
    public static func reclaim(cgroup: String, bytes: Int64) throws(SystemCallError) {
        switch availability(cgroup: cgroup) {
        case .available(let path): try HostFile.write("\(bytes)", to: path)
        case .unavailable(let reason): throw SystemCallError("memory.reclaim \(cgroup)", errno: EOPNOTSUPP, detail: reason)
        }
    }
}

extension String {
    func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
