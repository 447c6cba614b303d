import CTierShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One active swap area, as /proc/swaps lists it.
public struct SwapArea: Sendable, Equatable {
    public var path: String
    /// `partition` or `file`.
    public var type: String
    public var sizeBytes: Int64
    public var usedBytes: Int64
    public var priority: Int

    public init(path: String, type: String, sizeBytes: Int64, usedBytes: Int64, priority: Int) {
        self.path = path
        self.type = type
        self.sizeBytes = sizeBytes
        self.usedBytes = usedBytes
        self.priority = priority
    }
}

/// Active swap areas and swap headers.
public enum SwapAreas {
    /// The active swap areas (/proc/swaps).
    public static func read(path: String = "/proc/swaps") throws(SystemCallError) -> [SwapArea] {
        try parse(HostFile.read(path), file: path)
    }

    /// Parses /proc/swaps: a header line, then `path type size(KiB) used(KiB) priority`.
    public static func parse(_ text: String, file: String) throws(SystemCallError) -> [SwapArea] {
        var out: [SwapArea] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if i == 0 || line.isEmpty { continue }
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 5, let size = Int64(f[2]), let used = Int64(f[3]), let prio = Int(f[4]) else {
                throw HostFile.parseError(file, line: i + 1, "expected 'path type size used priority', found '\(line)'")
            }
            out.append(SwapArea(path: String(f[0]), type: String(f[1]), sizeBytes: size * 1024, usedBytes: used * 1024, priority: prio))
        }
        return out
    }

    /// Whether any swap is active: paging out anonymous memory moves nothing without it.
    public static func anyActive() -> Bool {
        ((try? read()) ?? []).contains { $0.sizeBytes > 0 }
    }

    /// Writes a version-1 swap header (what mkswap writes) to `path` for `size` bytes:
    /// `version = 1`, `last_page`, no bad pages, a random UUID, and "SWAPSPACE2" at the end
    /// of the first page.
    public static func writeHeader(path: String, size: Int64) throws(SystemCallError) {
        let pageSize = hostPageSize
        let pages = size / Int64(pageSize)
        guard pages >= 10 else { throw SystemCallError("mkswap \(path)", errno: EINVAL, detail: "\(size) bytes is too small for swap (10 pages at least)") }
        var page = [UInt8](repeating: 0, count: pageSize)
        func put32(_ v: UInt32, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { page[at + k] = b } } }
        put32(1, 1024)                                       // version
        put32(UInt32(clamping: pages - 1), 1028)             // last_page
        put32(0, 1032)                                       // nr_badpages
        var uuid = [UInt8](repeating: 0, count: 16)
        for k in 0..<16 { uuid[k] = UInt8.random(in: 0...255) }
        uuid[6] = (uuid[6] & 0x0F) | 0x40
        uuid[8] = (uuid[8] & 0x3F) | 0x80
        for k in 0..<16 { page[1036 + k] = uuid[k] }
        let magic = Array("SWAPSPACE2".utf8)
        for k in 0..<magic.count { page[pageSize - 10 + k] = magic[k] }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError.fromErrno("open \(path) to write a swap header") }
        defer { close(fd) }
        let n = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard n == pageSize else { throw SystemCallError.fromErrno("write swap header to \(path)") }
        guard fsync(fd) == 0 else { throw SystemCallError.fromErrno("fsync \(path)") }
    }
}

/// zram's memory statistics (/sys/block/zramN/mm_stat), in bytes.
public struct ZramStat: Sendable, Equatable {
    /// Uncompressed bytes stored.
    public var originalBytes: Int64
    /// Compressed bytes.
    public var compressedBytes: Int64
    /// Memory zram uses, allocator overhead included.
    public var memoryUsedBytes: Int64
    /// Pages filled with one repeated word (stored without data).
    public var samePages: Int64

    public init(originalBytes: Int64, compressedBytes: Int64, memoryUsedBytes: Int64, samePages: Int64) {
        self.originalBytes = originalBytes
        self.compressedBytes = compressedBytes
        self.memoryUsedBytes = memoryUsedBytes
        self.samePages = samePages
    }

    static func parse(_ text: String, file: String) throws(SystemCallError) -> ZramStat {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Int64($0) }
        guard f.count >= 6, let o = f[0], let c = f[1], let m = f[2], let s = f[5] else {
            throw HostFile.parseError(file, line: 1, "expected at least 6 numbers (orig_data_size compr_data_size mem_used_total mem_limit mem_used_max same_pages), found '\(text)'")
        }
        return ZramStat(originalBytes: o, compressedBytes: c, memoryUsedBytes: m, samePages: s)
    }
}

/// A zram device used as swap: created with hot_add, sized, given a swap header and swapped on;
/// destroyed with swapoff, reset and hot_remove. Only devices this process (or TierKit's
/// state file, see ``ManagedSwap``) created are ever destroyed.
public struct ZramSwap: Sendable, Equatable {
    /// N of /dev/zramN.
    public let index: Int
    public let sizeBytes: Int64

    public init(index: Int, sizeBytes: Int64) {
        self.index = index
        self.sizeBytes = sizeBytes
    }

    public var devicePath: String { "/dev/zram\(index)" }
    public var sysfsPath: String { "/sys/block/zram\(index)" }

    /// Whether the kernel has zram with hot_add (the zram module loaded or built in).
    public static var isSupported: Bool { HostFile.exists("/sys/class/zram-control/hot_add") }

    /// Creates a new zram device of `size` bytes and swaps on it. `priority` 0...32767 makes
    /// the kernel prefer it; nil leaves the kernel's default. On any failure the device is
    /// removed again.
    public static func create(size: Int64, priority: Int? = nil) throws(SystemCallError) -> ZramSwap {
        guard isSupported else {
            throw SystemCallError("zram hot_add", errno: ENOENT, detail: "/sys/class/zram-control/hot_add is missing (no zram in this kernel: modprobe zram)")
        }
        let text = try HostFile.read("/sys/class/zram-control/hot_add").trimmingCharacters(in: "\n")
        guard let index = Int(text) else {
            throw HostFile.parseError("/sys/class/zram-control/hot_add", line: 1, "expected a device number, found '\(text)'")
        }
        let dev = ZramSwap(index: index, sizeBytes: size)
        do throws(SystemCallError) {
            try HostFile.write("\(size)", to: dev.sysfsPath + "/disksize")
            try dev.waitForDeviceNode()
            try SwapAreas.writeHeader(path: dev.devicePath, size: size)
            let r = dev.devicePath.withCString { ctiershims_swapon($0, Int32(priority ?? -1)) }
            guard r == 0 else { throw SystemCallError.fromErrno("swapon \(dev.devicePath)") }
        } catch {
            try? dev.remove()
            throw error
        }
        return dev
    }

    private func waitForDeviceNode() throws(SystemCallError) {
        // devtmpfs creates the node asynchronously after hot_add.
        for _ in 0..<200 {
            if HostFile.exists(devicePath) { return }
            usleep(5000)
        }
        throw SystemCallError("open \(devicePath)", errno: ENOENT, detail: "the device node did not appear within 1 s of hot_add")
    }

    /// Whether /proc/swaps lists this device.
    public var isActive: Bool {
        ((try? SwapAreas.read()) ?? []).contains { $0.path == devicePath }
    }

    /// The swap area as /proc/swaps reports it, when active.
    public func area() throws(SystemCallError) -> SwapArea? {
        try SwapAreas.read().first { $0.path == devicePath }
    }

    /// The device's memory statistics.
    public func stat() throws(SystemCallError) -> ZramStat {
        let file = sysfsPath + "/mm_stat"
        return try ZramStat.parse(HostFile.read(file), file: file)
    }

    /// Swaps off (pages in swap come back into memory), resets and removes the device.
    public func destroy() throws(SystemCallError) {
        if isActive {
            let r = devicePath.withCString { ctiershims_swapoff($0) }
            guard r == 0 else { throw SystemCallError.fromErrno("swapoff \(devicePath)") }
        }
        try remove()
    }

    /// Resets and hot-removes the device (it must not be in use).
    func remove() throws(SystemCallError) {
        if HostFile.exists(sysfsPath) {
            // reset frees the memory; hot_remove refuses a device still initialised on old kernels.
            try? HostFile.write("1", to: sysfsPath + "/reset")
            try HostFile.write("\(index)", to: "/sys/class/zram-control/hot_remove")
        }
    }
}

/// The zram swap `tierkit swap setup|status|teardown` manages: the devices it created are
/// recorded under a state directory (default /run/tierkit, gone after a reboot like the devices),
/// so teardown removes only those and setup is idempotent.
public struct ManagedSwap: Sendable {
    public let stateDirectory: String

    public init(stateDirectory: String = "/run/tierkit") {
        self.stateDirectory = stateDirectory
    }

    /// What ``status()`` reports.
    public struct Status: Sendable, Equatable {
        /// Every active swap area on the host, TierKit's or not.
        public var areas: [SwapArea]
        /// TierKit's devices, with their swap area (nil when not active) and zram statistics.
        public var managed: [(device: ZramSwap, area: SwapArea?, stat: ZramStat?)]

        public static func == (a: Status, b: Status) -> Bool {
            a.areas == b.areas && a.managed.elementsEqual(b.managed) { $0.device == $1.device && $0.area == $1.area && $0.stat == $1.stat }
        }
    }

    private func stateFile(_ index: Int) -> String { stateDirectory + "/zram\(index).swap" }

    /// The devices recorded as TierKit's.
    public func recordedDevices() -> [ZramSwap] {
        guard let dir = opendir(stateDirectory) else { return [] }
        defer { closedir(dir) }
        var out: [ZramSwap] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasPrefix("zram"), name.hasSuffix(".swap"), let index = Int(name.dropFirst(4).dropLast(5)) else { continue }
            let size = (try? HostFile.read(stateDirectory + "/" + name)).flatMap { Int64($0.trimmingCharacters(in: "\n")) } ?? 0
            out.append(ZramSwap(index: index, sizeBytes: size))
        }
        return out.sorted { $0.index < $1.index }
    }

    /// Ensures one TierKit zram swap device is active. Returns it and whether it was created
    /// now (false: an active one already existed, whatever its size).
    public func setup(size: Int64, priority: Int? = 100) throws(SystemCallError) -> (device: ZramSwap, created: Bool) {
        for d in recordedDevices() {
            if d.isActive { return (d, false) }
            // A record whose device is no longer swap: remove what is left of it.
            if HostFile.exists(d.sysfsPath) { try? d.remove() }
            unlink(stateFile(d.index))
        }
        guard mkdir(stateDirectory, 0o755) == 0 || errno == EEXIST else {
            throw SystemCallError.fromErrno("mkdir \(stateDirectory)")
        }
        let d = try ZramSwap.create(size: size, priority: priority)
        do throws(SystemCallError) {
            let path = stateFile(d.index)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemCallError.fromErrno("create \(path)") }
            close(fd)
            try HostFile.write("\(size)\n", to: path)
        } catch {
            try? d.destroy()
            throw error
        }
        return (d, true)
    }

    /// Active swap areas and TierKit's devices.
    public func status() throws(SystemCallError) -> Status {
        let areas = try SwapAreas.read()
        let managed = recordedDevices().map { d in
            (device: d, area: areas.first { $0.path == d.devicePath }, stat: try? d.stat())
        }
        return Status(areas: areas, managed: managed)
    }

    /// Swaps off and removes every device TierKit recorded; returns them. Others' swap is untouched.
    public func teardown() throws(SystemCallError) -> [ZramSwap] {
        var removed: [ZramSwap] = []
        for d in recordedDevices() {
            if HostFile.exists(d.sysfsPath) { try d.destroy() }
            unlink(stateFile(d.index))
            removed.append(d)
        }
        return removed
    }
}
