#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Where x86-64 Linux keeps its direct map and `struct page` array, which the fault program
/// needs to walk page tables (refaults) and the folio sources to turn a folio into a physical
/// address. Without memory-layout randomization these are constants; with it, the kernel keeps
/// them in `page_offset_base` and `vmemmap_base`, whose addresses `/proc/kallsyms` gives (the
/// BPF program then reads their values).
struct KernelLayout: Equatable {
    var pageTableLevels: UInt32
    var pageOffset: UInt64
    var pageOffsetSymbol: UInt64
    var vmemmapBase: UInt64
    var vmemmapSymbol: UInt64

    /// This kernel's layout: five levels when the CPU offers LA57 (the kernel then uses it),
    /// the symbols when kallsyms lists them with real addresses.
    static func current() -> KernelLayout {
        let fiveLevels = cpuHasLA57()
        let symbols = kallsyms(["page_offset_base", "vmemmap_base"])
        return KernelLayout(
            pageTableLevels: fiveLevels ? 5 : 4,
            pageOffset: fiveLevels ? 0xff11_0000_0000_0000 : 0xffff_8880_0000_0000,
            pageOffsetSymbol: symbols["page_offset_base"] ?? 0,
            vmemmapBase: fiveLevels ? 0xffd4_0000_0000_0000 : 0xffff_ea00_0000_0000,
            vmemmapSymbol: symbols["vmemmap_base"] ?? 0)
    }

    private static func cpuHasLA57() -> Bool {
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") { return text.split(separator: " ").contains { $0 == "la57" || $0 == "la57\n" } }
        }
        return false
    }

    /// Addresses of the named data symbols; absent or zeroed (kptr_restrict) ones are left out.
    private static func kallsyms(_ names: Set<String>) -> [String: UInt64] {
        guard let file = fopen("/proc/kallsyms", "r") else { return [:] }
        defer { fclose(file) }
        var found: [String: UInt64] = [:]
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            // "ffffffff82a1c2d8 D page_offset_base": only lines whose name might match are decoded.
            guard strstr(line, "_base") != nil else { continue }
            let text = String(cString: line)
            let fields = text.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let name = fields[2].hasSuffix("\n") ? fields[2].dropLast() : fields[2]
            guard names.contains(String(name)), let address = UInt64(fields[0], radix: 16), address != 0 else { continue }
            found[String(name)] = address
            if found.count == names.count { break }
        }
        return found
    }
}
