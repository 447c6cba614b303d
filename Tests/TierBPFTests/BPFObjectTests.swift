import CLibBPF
import CTierShims
import Testing
import TierCore

@testable import TierBPF

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

struct Base64Tests {
    func decode(_ text: String) -> [UInt8]? {
        Array(text.utf8).withUnsafeBufferPointer { Base64.decode($0) }
    }

    @Test func decodesRFC4648Vectors() {
        #expect(decode("") == [])
        #expect(decode("Zg==") == Array("f".utf8))
        #expect(decode("Zm8=") == Array("fo".utf8))
        #expect(decode("Zm9v") == Array("foo".utf8))
        #expect(decode("Zm9vYmFy") == Array("foobar".utf8))
        #expect(decode("/+8A") == [0xff, 0xef, 0x00])
    }

    @Test func rejectsMalformedText() {
        #expect(decode("Zm9") == nil)
        #expect(decode("Zm=v") == nil)
        #expect(decode("Z===") == nil)
        #expect(decode("Zm9*") == nil)
    }

    @Test func embeddedObjectsAreELF() {
        for object in [EmbeddedBPFObjects.pageFaults, EmbeddedBPFObjects.probes] {
            let bytes = EmbeddedBPFObjects.bytes(object)
            #expect(bytes.count > 1000)
            #expect(Array(bytes.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46])  // "\u{7f}ELF"
            #expect(bytes[5] == 1)  // little-endian
        }
    }
}

struct SharedLayoutTests {
    @Test func structsHaveTheSizesTheBPFSideUses() {
        #expect(MemoryLayout<tk_fault_event>.size == 32)
        #expect(MemoryLayout<tk_page_key>.size == 16)
        #expect(MemoryLayout<tk_page_stats>.size == 40)
        #expect(MemoryLayout<tk_page_group>.size == 40 * Int(TK_GROUP_PAGES))
        #expect(MemoryLayout<tk_config>.size == 88)
        #expect(MemoryLayout<tk_page_event>.size == 48)
    }
}

@Suite(.serialized)
struct BPFObjectTests {
    func openPageFaults() throws -> BPFObject {
        try BPFObject(elf: EmbeddedBPFObjects.bytes(EmbeddedBPFObjects.pageFaults), name: "page_faults")
    }

    @Test func readOnlyGlobalsAreCheckedByNameAndSize() throws {
        let object = try openPageFaults()
        #expect(object.programNames == [
            "tk_page_fault_user", "tk_process_fork", "tk_vmscan_shrink_inactive", "tk_vmscan_reclaim_pages",
            "tk_vmscan_write_folio", "tk_filemap_add", "tk_filemap_delete", "tk_lru_insertion", "tk_migrate_pages",
            "tk_damon_aggregated",
        ])
        #expect(throws: BPFError("find read-only global no_such_thing", errno: ENOENT, detail: "not in page_faults.rodata")) {
            try object.setReadOnlyGlobal("no_such_thing", to: UInt32(1))
        }
        do {
            try object.setReadOnlyGlobal("tk_config", to: UInt32(1))
            Issue.record("a 4-byte value was accepted for a \(MemoryLayout<tk_config>.size)-byte global")
        } catch {
            #expect(error.errno == EINVAL)
        }
        var config = tk_config()
        config.mode = 1
        config.filter_pids = 1
        config.page_shift = 12
        try object.setReadOnlyGlobal("tk_config", to: config)
        #expect(throws: BPFError("find map nope", errno: ENOENT, detail: "not in object page_faults")) {
            _ = try object.map("nope")
        }
    }

    @Test func mapsUpdateLookUpIterateAndDelete() throws {
        guard bpfAvailable("map access") else { return }
        let object = try openPageFaults()
        try object.map("events").setMaxEntries(4096)
        try object.map("pages").setMaxEntries(16)
        try object.load()
        let pages = try object.map("pages")
        #expect(pages.keySize == MemoryLayout<tk_page_key>.size && pages.valueSize == MemoryLayout<tk_page_group>.size)
        #expect(pages.maxEntries == 16)
        func key(_ page: UInt64) -> tk_page_key { tk_page_key(pid: 7, reserved: 0, page: page) }
        func stats(_ count: UInt32) -> tk_page_group { var g = tk_page_group(); g.pages.0.count = count; return g }
        #expect(try pages.lookup(key(7), as: tk_page_group.self) == nil)
        for page in [UInt64(7), 11, 13] { try pages.update(key(page), stats(UInt32(page))) }
        #expect(try pages.lookup(key(11), as: tk_page_group.self)?.pages.0.count == 11)
        do {
            try pages.update(key(7), stats(0), mode: .noExist)
            Issue.record("noExist replaced an existing key")
        } catch {
            #expect(error.errno == EEXIST)
        }
        var seen: [UInt64: UInt32] = [:]
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_group.self) { seen[$0.page] = $1.pages.0.count }
        #expect(seen == [7: 7, 11: 11, 13: 13])
        #expect(try pages.delete(key(11)))
        #expect(try !pages.delete(key(11)))
        seen = [:]
        try pages.forEach(keyType: tk_page_key.self, valueType: tk_page_group.self) { seen[$0.page] = $1.pages.0.count }
        #expect(seen == [7: 7, 13: 13])
        do {
            _ = try pages.lookup(UInt64(7), as: tk_page_group.self)
            Issue.record("an 8-byte key was accepted for a 16-byte map")
        } catch {
            #expect(error.errno == EINVAL)
        }

        let counters = try object.map("counters")
        #expect(counters.isPerCPU)
        let perCPU = try counters.lookupPerCPU(UInt32(0), as: UInt64.self)
        #expect(perCPU.count == Int(libbpf_num_possible_cpus()))
        #expect(perCPU.allSatisfy { $0 == 0 })
    }
}

struct FeatureProbeTests {
    @Test func theRecorderNeedsAreAvailable() {
        guard bpfAvailable("feature probes") else { return }
        LibBPFLogging.route(to: nil)  // the expected failures need not reach stderr
        let results = BPFFeatures.probeAll()
        let byName = Dictionary(results.map { ($0.feature, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(results.count == 3 + BPFFeatures.tracepoints.count + BPFFeatures.attachProbes.count)
        #expect(byName["kernel BTF"]?.available == true)
        #expect(byName["ring buffer map"]?.available == true)
        #expect(byName["tp_btf (BTF tracepoint) page_fault_user"]?.available == true)
        #expect(byName["raw_tracepoint page_fault_user"]?.available == true)
        #expect(byName["tracepoint exceptions:page_fault_user"]?.available == true)
        #expect(byName["perf tracepoint attach exceptions:page_fault_user (needs tracefs)"] != nil)
        // fentry and kprobes depend on the kernel; the probe must say why when they fail.
        for name in ["fentry vfs_read", "kprobe vfs_read"] {
            let probe = byName[name]
            #expect(probe != nil)
            if let probe, !probe.available { #expect(probe.detail.contains("failed")) }
        }
    }
}

struct CSVSinkTests {
    @Test func writesOneLinePerFault() throws {
        let path = "/tmp/tierkit-csv-sink-\(getpid()).csv"
        defer { unlink(path) }
        var sink = try CSVPageFaultSink(path: path)
        try sink.write(PageFault(timeNanoseconds: 12, address: 0x7f00_0000_1000, pid: 5, tid: 6, kind: .write, errorCode: 6))
        try sink.write(PageFault(timeNanoseconds: 13, address: 0, pid: 5, tid: 7, kind: .execute, errorCode: 0x14))
        try sink.finish()
        let text = try readSmallFile(path)
        #expect(text == CSVPageFaultSink.header + "12,5,6,0x7f0000001000,write,6,1,0,0\n13,5,7,0x0,exec,20,1,0,0\n")
    }

    @Test func summaryCountsKindsAndDistinctPages() {
        var summary = PageFaultSummary()
        summary.add(PageFault(timeNanoseconds: 1, address: 0x1000, pid: 1, tid: 1, kind: .read, errorCode: 4))
        summary.add(PageFault(timeNanoseconds: 2, address: 0x1008, pid: 1, tid: 1, kind: .write, errorCode: 7))
        summary.add(PageFault(timeNanoseconds: 3, address: 0x1000, pid: 2, tid: 2, kind: .execute, errorCode: 0x14))
        #expect(summary.faults == 3)
        #expect(summary.byKind == [1, 1, 1])
        #expect(summary.protectionFaults == 1)
        #expect(summary.distinctPages == 2)
    }
}

struct TKTSinkTests {
    @Test func faultsAndPagesReadBackThroughPageTraceReader() throws {
        let path = "/tmp/tierkit-tkt-sink-\(getpid()).tkt"
        defer { unlink(path) }
        let header = TKTPageFaultSink.header(
            targets: [.pid(5)], mode: .events, kernelRelease: "test", startMonotonicNs: 1_000,
            startRealtimeNs: 7)
        var sink = try TKTPageFaultSink(path: path, header: header)
        try sink.write(PageFault(timeNanoseconds: 1_500, address: 0x7f00_0000_1234, pid: 5, tid: 6, kind: .write, errorCode: 6))
        try sink.write(PageFault(timeNanoseconds: 2_000, address: 0x2000, pid: 5, tid: 5, kind: .execute, errorCode: 0x14))
        try sink.write(PageKey(pid: 5, page: 3), PageFaultStatistics(
            tk_page_stats(count: 2, refaults: 0, first_ns: 1_100, last_ns: 1_900, reads: 1, writes: 1, execs: 0, error_bits: 7, reserved: 0)))
        try sink.finish()

        var reader = try PageTraceReader(path: path)
        #expect(reader.header.targets == [.pid(5)])
        #expect(reader.header.startMonotonicNs == 1_000)
        #expect(try reader.next() == PageTraceRecord(time: 500, address: 0x7f00_0000_1000, pid: 5, tid: 6, kind: .writeFault))
        #expect(try reader.next() == PageTraceRecord(time: 1_000, address: 0x2000, pid: 5, tid: 5, kind: .execFault))
        #expect(try reader.next() == PageTraceRecord(time: 900, address: 0x3000, pid: 5, tid: 0, kind: .writeFault, count: 2))
        #expect(try reader.next() == nil)
    }
}
