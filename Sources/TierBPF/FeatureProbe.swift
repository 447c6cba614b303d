import CLibBPF

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Whether the running kernel allows one BPF feature, and why not when it does not.
public struct FeatureProbe: Sendable, Equatable {
    public var feature: String
    public var available: Bool
    /// What was found or the error that was returned, e.g. `"attach failed: EPERM"`.
    public var detail: String

    public init(feature: String, available: Bool, detail: String) {
        self.feature = feature
        self.available = available
        self.detail = detail
    }
}

/// Probes of what this kernel lets TierKit use. Each probe actually loads or attaches where it
/// can (a config file says what was built, not what a lockdown or LSM permits).
public enum BPFFeatures {
    /// The tracepoints TierKit's recorders and daemon may use, as `group:name`.
    public static let tracepoints = [
        "exceptions:page_fault_user", "vmscan:mm_vmscan_lru_isolate", "vmscan:mm_vmscan_write_folio",
        "filemap:mm_filemap_add_to_page_cache", "filemap:mm_filemap_delete_from_page_cache",
        "pagemap:mm_lru_insertion", "pagemap:mm_lru_activate", "migrate:mm_migrate_pages",
        "damon:damon_aggregated",
    ]

    /// The attach types probed with the embedded `probes` object: program name → label.
    static let attachProbes: [(program: String, label: String)] = [
        ("probe_tp_btf", "tp_btf (BTF tracepoint) page_fault_user"),
        ("probe_raw_tracepoint", "raw_tracepoint page_fault_user"),
        ("probe_tracepoint", "perf tracepoint attach exceptions:page_fault_user (needs tracefs)"),
        ("probe_fentry", "fentry vfs_read"),
        ("probe_kprobe", "kprobe vfs_read"),
    ]

    /// Where tracefs is mounted, if it is.
    public static func tracefsRoot() -> String? {
        for candidate in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
            if access(candidate + "/events", R_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Every probe, in a stable order.
    public static func probeAll() -> [FeatureProbe] {
        var results: [FeatureProbe] = []
        results.append(probeBTF())
        results.append(probeRingBuffer())
        let tracefs = tracefsRoot()
        results.append(FeatureProbe(
            feature: "tracefs", available: tracefs != nil,
            detail: tracefs.map { "mounted at \($0)" } ?? "not mounted (mount -t tracefs nodev /sys/kernel/tracing)"))
        for tracepoint in tracepoints { results.append(probeTracepoint(tracepoint, tracefs: tracefs)) }
        for (program, label) in attachProbes { results.append(probeAttach(program: program, label: label)) }
        return results
    }

    /// Kernel BTF, which CO-RE relocation and `tp_btf` need.
    public static func probeBTF() -> FeatureProbe {
        var info = stat()
        guard stat("/sys/kernel/btf/vmlinux", &info) == 0 else {
            return FeatureProbe(feature: "kernel BTF", available: false, detail: "/sys/kernel/btf/vmlinux: \(errnoName(errno))")
        }
        return FeatureProbe(feature: "kernel BTF", available: true, detail: "/sys/kernel/btf/vmlinux, \(info.st_size) bytes")
    }

    /// `BPF_MAP_TYPE_RINGBUF`, through libbpf's probe (creates one).
    public static func probeRingBuffer() -> FeatureProbe {
        let result = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil)
        return FeatureProbe(
            feature: "ring buffer map", available: result == 1,
            detail: result == 1 ? "supported" : result == 0 ? "not supported" : "probe failed: \(errnoName(-result))")
    }

    /// A tracepoint, by its tracefs entry; without tracefs, by its BTF type (what `tp_btf` needs).
    public static func probeTracepoint(_ tracepoint: String, tracefs: String?) -> FeatureProbe {
        let parts = tracepoint.split(separator: ":")
        let name = parts.last.map(String.init) ?? tracepoint
        let label = "tracepoint \(tracepoint)"
        if let tracefs {
            let path = "\(tracefs)/events/\(parts.joined(separator: "/"))/id"
            if let id = try? readSmallFile(path) {
                return FeatureProbe(feature: label, available: true, detail: "tracefs id \(id.filter { !$0.isWhitespace })")
            }
        }
        let inBTF = clibbpf_vmlinux_has_type("btf_trace_\(name)", Int32(BTF_KIND_TYPEDEF))
        let via = tracefs == nil ? "tracefs not mounted; " : "no tracefs entry; "
        switch inBTF {
        case 1: return FeatureProbe(feature: label, available: true, detail: via + "present in BTF (tp_btf/\(name))")
        case 0: return FeatureProbe(feature: label, available: false, detail: via + "absent from BTF")
        default: return FeatureProbe(feature: label, available: false, detail: via + "no BTF: \(errnoName(-inBTF))")
        }
    }

    /// Loads and attaches one program of the embedded `probes` object (the others not loaded).
    public static func probeAttach(program: String, label: String) -> FeatureProbe {
        do throws(BPFError) {
            let object = try BPFObject(elf: EmbeddedBPFObjects.bytes(EmbeddedBPFObjects.probes), name: "probes")
            for name in object.programNames where name != program {
                try object.program(name).setAutoload(false)
            }
            let target = try object.program(program)
            do throws(BPFError) {
                try object.load()
            } catch {
                return FeatureProbe(feature: label, available: false, detail: "load failed: \(errnoName(error.errno))")
            }
            do throws(BPFError) {
                let link = try target.attach()
                link.detach()
            } catch {
                return FeatureProbe(feature: label, available: false, detail: "attach failed: \(errnoName(error.errno))")
            }
            return FeatureProbe(feature: label, available: true, detail: "loads and attaches")
        } catch {
            return FeatureProbe(feature: label, available: false, detail: error.description)
        }
    }

    /// `EPERM (Operation not permitted)`.
    static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EINVAL: "EINVAL", EACCES: "EACCES", ENOTSUP: "EOPNOTSUPP",
            ESRCH: "ESRCH", E2BIG: "E2BIG", EBADF: "EBADF", ENODEV: "ENODEV", ENOSYS: "ENOSYS",
        ]
        return "\(names[code] ?? "errno \(code)") (\(String(cString: strerror(code))))"
    }
}
