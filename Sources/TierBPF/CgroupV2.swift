#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A cgroup of the v2 hierarchy as BPF sees it: its id (the directory's inode number on
/// cgroup2) and its depth below the hierarchy's root, which `bpf_get_current_ancestor_cgroup_id`
/// needs to match a task anywhere below it.
public struct CgroupV2: Sendable, Equatable {
    public var path: String
    public var id: UInt64
    public var level: UInt32

    public init(path: String, id: UInt64, level: UInt32) {
        self.path = path
        self.id = id
        self.level = level
    }

    /// Resolves a cgroup directory, e.g. `/sys/fs/cgroup/unified/job` on a hybrid host or
    /// `/sys/fs/cgroup/job` on a unified one.
    public init(path: String) throws(BPFError) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let root = Self.mountPoints().filter({ trimmed == $0 || trimmed.hasPrefix($0 == "/" ? "/" : $0 + "/") })
            .max(by: { $0.count < $1.count })
        else {
            throw BPFError("resolve cgroup \(path)", errno: ENOENT, detail: "not below a cgroup2 mount point")
        }
        var info = stat()
        guard stat(trimmed, &info) == 0 else { throw BPFError("stat cgroup \(path)", errno: errno) }
        let below = trimmed.dropFirst(root.count).split(separator: "/")
        self.init(path: trimmed, id: UInt64(info.st_ino), level: UInt32(below.count))
    }

    /// Where cgroup2 is mounted, from /proc/self/mountinfo.
    public static func mountPoints() -> [String] {
        guard let text = try? readSmallFile("/proc/self/mountinfo") else { return [] }
        var points: [String] = []
        for line in text.split(separator: "\n") {
            // "id parent major:minor root mountpoint options [optional...] - fstype source super"
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields.count > 4,
                  fields[dash + 1] == "cgroup2"
            else { continue }
            points.append(String(fields[4]))
        }
        return points
    }
}

/// Reads a small text file (procfs, sysfs, tracefs) whole.
func readSmallFile(_ path: String) throws(BPFError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BPFError("open \(path)", errno: errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw BPFError("read \(path)", errno: errno)
        }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
