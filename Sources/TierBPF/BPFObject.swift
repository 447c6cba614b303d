import CLibBPF

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An opened (and, after `load()`, loaded) BPF object: its programs, maps and BTF.
///
/// One owner: libbpf handles are not thread-safe, so the object is not `Sendable`. Maps and
/// links keep the object alive; closing happens when the last of them goes away.
public final class BPFObject {
    let handle: OpaquePointer
    /// The name libbpf knows the object by (map names such as `<name>.rodata` derive from it).
    public let name: String
    public private(set) var isLoaded = false

    /// Opens an ELF BPF object from memory. libbpf copies what it needs, so `elf` may go away.
    public init(elf: [UInt8], name: String) throws(BPFError) {
        self.name = name
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let opened: OpaquePointer? = name.withCString { cName in
            opts.object_name = cName
            return elf.withUnsafeBytes { bytes in
                bpf_object__open_mem(bytes.baseAddress, bytes.count, &opts)
            }
        }
        guard let opened else { throw BPFError("open object \(name)", errno: clibbpf_errno()) }
        handle = opened
    }

    deinit {
        bpf_object__close(handle)
    }

    /// Replaces the initial value of the read-only global `variable` (a `const volatile` in the
    /// BPF source). Only before `load()`: the kernel freezes `.rodata` at load.
    public func setReadOnlyGlobal<Value: BitwiseCopyable>(_ variable: String, to value: Value) throws(BPFError) {
        guard !isLoaded else {
            throw BPFError("set read-only global \(variable)", errno: EBUSY, detail: "the object is loaded; .rodata is frozen")
        }
        var offset: UInt32 = 0
        var size: UInt32 = 0
        guard clibbpf_find_section_variable(handle, ".rodata", variable, &offset, &size) == 0 else {
            throw BPFError("find read-only global \(variable)", errno: ENOENT, detail: "not in \(name).rodata")
        }
        guard Int(size) == MemoryLayout<Value>.size else {
            throw BPFError(
                "set read-only global \(variable)", errno: EINVAL,
                detail: "BPF size \(size) bytes, Swift value \(MemoryLayout<Value>.size) bytes")
        }
        guard let map = rawMaps().first(where: { String(cString: bpf_map__name($0)).hasSuffix(".rodata") }) else {
            throw BPFError("find .rodata of \(name)", errno: ENOENT)
        }
        var length = 0
        guard let initial = bpf_map__initial_value(map, &length) else {
            throw BPFError("read \(name).rodata", errno: ENOENT)
        }
        var image = [UInt8](UnsafeRawBufferPointer(start: initial, count: length))
        withUnsafeBytes(of: value) { bytes in
            for index in 0..<bytes.count { image[Int(offset) + index] = bytes[index] }
        }
        try BPFError.check(bpf_map__set_initial_value(map, image, image.count), "set \(name).rodata")
    }

    /// Verifies and loads every program whose autoload is on, and creates the maps.
    public func load() throws(BPFError) {
        try BPFError.check(bpf_object__load(handle), "load object \(name)")
        isLoaded = true
    }

    /// The map named as in the BPF source.
    public func map(_ mapName: String) throws(BPFError) -> BPFMap {
        guard let map = bpf_object__find_map_by_name(handle, mapName) else {
            throw BPFError("find map \(mapName)", errno: ENOENT, detail: "not in object \(name)")
        }
        return BPFMap(object: self, handle: map, name: mapName)
    }

    /// The program named as its function in the BPF source.
    public func program(_ programName: String) throws(BPFError) -> BPFProgram {
        guard let program = bpf_object__find_program_by_name(handle, programName) else {
            throw BPFError("find program \(programName)", errno: ENOENT, detail: "not in object \(name)")
        }
        return BPFProgram(object: self, handle: program, name: programName)
    }

    /// The names of every program in the object, in ELF order.
    public var programNames: [String] {
        var names: [String] = []
        var program = bpf_object__next_program(handle, nil)
        while let current = program {
            names.append(String(cString: bpf_program__name(current)))
            program = bpf_object__next_program(handle, current)
        }
        return names
    }

    private func rawMaps() -> [OpaquePointer] {
        var maps: [OpaquePointer] = []
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            maps.append(current)
            map = bpf_object__next_map(handle, current)
        }
        return maps
    }
}

/// A program of a `BPFObject`.
public struct BPFProgram {
    let object: BPFObject
    let handle: OpaquePointer
    public let name: String

    /// Whether `load()` loads this program (on by default). Only before loading.
    public func setAutoload(_ autoload: Bool) throws(BPFError) {
        try BPFError.check(bpf_program__set_autoload(handle, autoload), "set autoload of \(name)")
    }

    /// The section name, e.g. `tp_btf/page_fault_user`.
    public var section: String { String(cString: bpf_program__section_name(handle)) }

    /// The kernel's run-time accounting of the loaded program: total nanoseconds and runs
    /// (both 0 unless `BPFRunTimeStatistics` was enabled while it ran).
    public func runStatistics() throws(BPFError) -> (nanoseconds: UInt64, runs: UInt64) {
        var nanoseconds: UInt64 = 0
        var runs: UInt64 = 0
        let result = clibbpf_program_run_stats(handle, &nanoseconds, &runs)
        if result < 0 { throw BPFError("read run statistics of \(name)", errno: -result) }
        return (nanoseconds, runs)
    }

    /// Attaches the program as its section name says; detached when the link is released.
    public func attach() throws(BPFError) -> BPFLink {
        guard let link = bpf_program__attach(handle) else {
            throw BPFError("attach program \(name) (\(section))", errno: clibbpf_errno())
        }
        return BPFLink(object: object, handle: link)
    }
}

/// An attachment; detaches in `deinit` or on `detach()`.
public final class BPFLink {
    let object: BPFObject
    private var handle: OpaquePointer?

    init(object: BPFObject, handle: OpaquePointer) {
        self.object = object
        self.handle = handle
    }

    /// Detaches now rather than when the link is released.
    public func detach() {
        if let handle { bpf_link__destroy(handle) }
        handle = nil
    }

    deinit { detach() }
}

/// The kernel's per-program run-time accounting (`BPF_ENABLE_STATS`), on while this value
/// lives. It adds two clock reads to every BPF program run on the host meanwhile.
public final class BPFRunTimeStatistics {
    private let descriptor: Int32

    public init() throws(BPFError) {
        let result = clibbpf_enable_run_time_stats()
        if result < 0 { throw BPFError("enable BPF run-time statistics", errno: -result) }
        descriptor = result
    }

    deinit { close(descriptor) }
}
