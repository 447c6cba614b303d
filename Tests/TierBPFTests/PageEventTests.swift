import CTierShims
import Foundation
import Testing

@testable import TierBPF
import TierCore
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A zram swap device of the test's own (TierHost's `ZramSwap`: `hot_add`, swap header,
/// swapon); `remove()` swaps it off and hands it back. Devices it did not create are never touched.
final class ZramSwap {
    private let swap: TierHost.ZramSwap
    private var removed = false

    init(bytes: Int) throws {
        swap = try TierHost.ZramSwap.create(size: Int64(bytes), priority: 32000)
    }

    /// Disables the swap (its pages come back in) and removes the device; idempotent.
    func remove() {
        guard !removed else { return }
        removed = true
        for _ in 0..<50 {
            if (try? swap.destroy()) != nil { return }
            usleep(20_000)  // the device can stay busy for a moment after swapoff
        }
        print("warning: could not remove \(swap.devicePath)")
    }

    deinit { remove() }
}

func writeSysfs(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BPFError("open \(path)", errno: errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw BPFError("write '\(text)' to \(path)", errno: errno) }
}

extension Toucher {
    /// MADV_PAGEOUT of the child's range in the child; the pages pagemap then shows swapped.
    mutating func pageOut() -> UInt64 { ctiershims_toucher_command(&handle, CChar(CTIERSHIMS_TOUCHER_PAGE_OUT)) }
    /// Touches the pages again as at first.
    mutating func retouch() -> UInt64 { ctiershims_toucher_command(&handle, CChar(CTIERSHIMS_TOUCHER_RETOUCH)) }
}

/// Collects every fault and event a recorder streamed (after `detach()`).
func collect(_ recorder: PageFaultRecorder) async -> (faults: [PageFault], events: [PageEvent]) {
    var faults: [PageFault] = []
    var events: [PageEvent] = []
    if let stream = recorder.faults {
        for await batch in stream { for index in batch.indices { faults.append(batch.fault(at: index)) } }
    }
    if let stream = recorder.pageEvents {
        for await batch in stream { for index in batch.indices { events.append(batch.event(at: index)) } }
    }
    return (faults, events)
}

@Suite(.serialized)
struct PageEventTests {
    static let pages = 64

    @Test func pageOutAndRetouchGiveExactlyOneRefaultPerPage() async throws {
        guard bpfAvailable("refaults") else { return }
        let swap = try ZramSwap(bytes: 64 << 20)
        defer { swap.remove() }
        let layout = String(repeating: "w", count: Self.pages)
        var target = try Toucher(layout)
        var other = try Toucher(layout)
        let stream = try PageFaultRecorder(options: .init(
            mode: .stream, ringBufferBytes: 1 << 20,
            sources: [.faults, .refaults, .reclaim, .writeback], pageEventRingBufferBytes: 1 << 20))
        let aggregate = try PageFaultRecorder(options: .init(mode: .aggregate, maxPages: 4096, sources: [.faults, .refaults]))
        for recorder in [stream, aggregate] { try recorder.addTarget(pid: target.pid) }
        try stream.attach()
        try aggregate.attach()

        let base = target.run()
        let otherBase = other.run()
        // MADV_PAGEOUT skips a page it cannot isolate or lock at that moment (still in a per-CPU
        // LRU batch, or held by concurrent work such as the host's kdamond sampling it); ask
        // again, after a pause, until all are out.
        var swapped: UInt64 = 0
        for attempt in 0..<40 where swapped != UInt64(Self.pages) {
            if attempt > 0 { usleep(50_000) }
            swapped = target.pageOut()
        }
        _ = other.pageOut()  // a bystander's pageout and refaults must be filtered out
        #expect(target.retouch() == base)
        #expect(other.retouch() == otherBase)
        stream.detach()
        aggregate.detach()
        #expect(target.finish() == 0)
        #expect(other.finish() == 0)
        #expect(base != 0 && otherBase != 0)
        #expect(swapped == UInt64(Self.pages), "pagemap shows \(swapped) of \(Self.pages) pages swapped out")

        let (faults, events) = await collect(stream)
        let counters = try stream.counters()
        #expect(counters.totalLost == 0)
        #expect(faults.allSatisfy { $0.pid == target.pid })
        let end = base + UInt64(Self.pages) * 4096
        let inRange = faults.filter { $0.address >= base && $0.address < end }
        let refaults = inRange.filter(\.refault)
        #expect(inRange.count == 2 * Self.pages, "one first touch and one refault per page")
        #expect(refaults.count == Self.pages)
        #expect(Set(refaults.map { $0.address >> 12 }).count == Self.pages)
        #expect(refaults.allSatisfy { $0.kind == .write && $0.timeNanoseconds > 0 })
        #expect(faults.filter(\.refault).count == Self.pages, "no refault outside the range")

        // Reclaim and write-out of the target's pages, in its own context (MADV_PAGEOUT).
        let own = events.filter { $0.pid == target.pid }
        let reclaimed = own.filter { $0.kind == .reclaim }.map { UInt64($0.count) }.reduce(0, +)
        let written = own.filter { $0.kind == .writeback }
        #expect(reclaimed == UInt64(Self.pages))
        #expect(written.map { UInt64($0.count) }.reduce(0, +) == UInt64(Self.pages))
        #expect(written.allSatisfy { $0.flags.contains(.anonymous) && $0.address != 0 })
        #expect(Set(written.map(\.address)).count == written.count, "distinct physical pages")

        // Aggregate mode: two faults per page, one of them a refault.
        let firstPage = base >> 12
        let statistics = try aggregate.pageStatistics()
        #expect(statistics.keys.allSatisfy { $0.pid == target.pid })
        for page in 0..<UInt64(Self.pages) {
            let stats = statistics[PageKey(pid: target.pid, page: firstPage + page)]
            #expect(stats?.count == 2 && stats?.refaults == 1 && stats?.writes == 2, "page \(page)")
        }
        #expect(statistics.values.map { UInt64($0.refaults) }.reduce(0, +) == UInt64(Self.pages))
        #expect(try aggregate.counters().totalLost == 0)
    }

    @Test func readingAFreshFileInsertsEachPageOnceAndDroppingDeletesIt() async throws {
        guard bpfAvailable("filemap") else { return }
        let pages = 48
        // A file on a disk file system (not tmpfs), written, synced and dropped from the cache.
        let path = "/var/tmp/tierkit-filemap-\(getpid()).bin"
        defer { unlink(path) }
        let fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let data = [UInt8](repeating: 7, count: pages * 4096)
        #expect(write(fd, data, data.count) == data.count)
        #expect(fsync(fd) == 0)
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        #expect(residentPages(fd: fd, pages: pages) == 0, "the file's cache was dropped")
        let major = ((info.st_dev >> 8) & 0xfff) | ((info.st_dev >> 32) & ~0xfff)
        let minor = (info.st_dev & 0xff) | ((info.st_dev >> 12) & ~0xff)
        let kernelDevice = UInt32(truncatingIfNeeded: major << 20 | minor)

        let recorder = try PageFaultRecorder(options: .init(
            mode: .stream, sources: [.filemap], pageEventRingBufferBytes: 1 << 20, kernelThreads: false))
        var reader = try spawnHeldForTest(["dd", "if=\(path)", "of=/dev/null", "bs=65536", "status=none"])
        try recorder.addTarget(pid: reader.pid)
        try recorder.addTarget(pid: getpid())  // the deletions below happen in this process
        try recorder.attach()
        #expect(ctiershims_release_gated(&reader) == 0)
        var status: Int32 = 0
        #expect(waitpid(reader.pid, &status, 0) == reader.pid && status == 0)
        #expect(residentPages(fd: fd, pages: pages) == pages)
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        recorder.detach()

        let (_, events) = await collect(recorder)
        #expect(try recorder.counters().eventsLost == 0)
        let ofFile = events.filter { $0.value == UInt64(info.st_ino) && $0.aux == kernelDevice }
        let inserts = ofFile.filter { $0.kind == .pageCacheInsert }
        let deletes = ofFile.filter { $0.kind == .pageCacheDelete }
        #expect(inserts.allSatisfy { $0.pid == reader.pid && $0.flags.contains(.file) })
        #expect(inserts.map { Int($0.count) }.reduce(0, +) == pages)
        var covered = Set<UInt64>()
        for insert in inserts { for page in 0..<UInt64(insert.count) { covered.insert(insert.address / 4096 + page) } }
        #expect(covered == Set(0..<UInt64(pages)), "every page of the file inserted once")
        #expect(deletes.allSatisfy { $0.pid == getpid() })
        #expect(deletes.map { Int($0.count) }.reduce(0, +) == pages)
    }

    @Test func damonRegionsOfARunningKdamondAreReadPassively() async throws {
        guard bpfAvailable("damon") else { return }
        let admin = "/sys/kernel/mm/damon/admin/kdamonds"
        guard let count = try? readSmallFile("\(admin)/nr_kdamonds").trimmingCharacters(in: .whitespacesAndNewlines),
              let kdamonds = Int(count) else {
            print("DAMON: no sysfs interface (\(admin)): DAMON is not built into this kernel, nothing to read")
            return
        }
        if kdamonds == 0 {
            // No kdamond exists, so nothing of anyone else's is discarded: start one of our own.
            try await ownKdamondReportsRegionsOfItsTarget(admin: admin)
            return
        }
        // Kdamonds exist: only a running one is read; rewriting nr_kdamonds would discard (or,
        // while one runs, is refused for) kdamonds this test did not start.
        var running: [(pid: Int32, aggregationMicroseconds: Int)] = []
        for index in 0..<kdamonds {
            let directory = "\(admin)/\(index)"
            guard (try? readSmallFile("\(directory)/state"))?.hasPrefix("on") == true,
                  let pid = Int32((try? readSmallFile("\(directory)/pid"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""),
                  let aggregation = Int((try? readSmallFile("\(directory)/contexts/0/monitoring_attrs/intervals/aggr_us"))?
                      .trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            else { continue }
            running.append((pid, aggregation))
        }
        guard let kdamond = running.min(by: { $0.aggregationMicroseconds < $1.aggregationMicroseconds }) else {
            print("DAMON: built in, but no kdamond runs and this test starts none beside kdamonds it did not create; the damon source attaches (below) but has nothing to read")
            let recorder = try PageFaultRecorder(options: .init(mode: .stream, sources: [.damon], pageEventRingBufferBytes: 1 << 16))
            try recorder.attach()
            recorder.detach()
            return
        }
        guard kdamond.aggregationMicroseconds <= 6_000_000 else {
            print("DAMON: the running kdamond aggregates every \(kdamond.aggregationMicroseconds) µs, too slow for a test")
            return
        }
        let recorder = try PageFaultRecorder(options: .init(mode: .stream, sources: [.damon], pageEventRingBufferBytes: 4 << 20))
        try recorder.attach()
        // Two aggregation intervals hold at least one complete aggregation.
        try await Task.sleep(for: .microseconds(2 * kdamond.aggregationMicroseconds + 200_000))
        recorder.detach()
        let (_, events) = await collect(recorder)
        let regions = events.filter { $0.pid == kdamond.pid }
        #expect(!regions.isEmpty, "kdamond \(kdamond.pid) reported its regions")
        #expect(regions.allSatisfy { $0.kind == .damonRegion && $0.address < $0.value && $0.address % 4096 == 0 })
        #expect(try recorder.counters().eventsLost == 0)
        let record = regions.first?.record(relativeTo: 0)
        #expect(record?.tid == UInt32(((regions.first?.value ?? 0) - (regions.first?.address ?? 0)) >> 12))
    }

    /// Starts a kdamond of the test's own (vaddr, monitoring a forked child, 5 ms sampling,
    /// 100 ms aggregation) through DAMON's sysfs interface
    /// (Documentation/admin-guide/mm/damon/usage.rst), checks that its `damon_region` events
    /// arrive and lie inside the child's address space, then turns it off and sets
    /// `nr_kdamonds` back to 0. Only called when `nr_kdamonds` was 0.
    private func ownKdamondReportsRegionsOfItsTarget(admin: String) async throws {
        var child = try Toucher(String(repeating: "w", count: 64))
        _ = child.run()
        // DAMON's vaddr regions start from the target's mappings (three big regions around
        // the two largest gaps), so every region lies between the lowest mapping's start and
        // the highest mapping's end.
        let maps = try readSmallFile("/proc/\(child.pid)/maps").split(separator: "\n").compactMap { line -> (UInt64, UInt64)? in
            let bounds = line.prefix { $0 != " " }.split(separator: "-")
            guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16) else { return nil }
            return (start, end)
        }
        let lowest = try #require(maps.map(\.0).min())
        let highest = try #require(maps.map(\.1).max())

        let kdamond = "\(admin)/0"
        let context = "\(kdamond)/contexts/0"
        try writeSysfs("\(admin)/nr_kdamonds", "1")
        defer {
            // Off first (nr_kdamonds is refused while a kdamond runs); the thread stops
            // asynchronously, so nr_kdamonds 0 is retried while it reports busy.
            _ = try? writeSysfs("\(kdamond)/state", "off")
            for _ in 0..<100 {
                if (try? writeSysfs("\(admin)/nr_kdamonds", "0")) != nil { break }
                usleep(20_000)
            }
        }
        try writeSysfs("\(kdamond)/contexts/nr_contexts", "1")
        try writeSysfs("\(context)/operations", "vaddr")
        try writeSysfs("\(context)/monitoring_attrs/intervals/sample_us", "5000")
        try writeSysfs("\(context)/monitoring_attrs/intervals/aggr_us", "100000")
        try writeSysfs("\(context)/monitoring_attrs/intervals/update_us", "1000000")
        try writeSysfs("\(context)/targets/nr_targets", "1")
        try writeSysfs("\(context)/targets/0/pid_target", "\(child.pid)")

        let recorder = try PageFaultRecorder(options: .init(mode: .stream, sources: [.damon], pageEventRingBufferBytes: 4 << 20))
        try recorder.attach()
        try writeSysfs("\(kdamond)/state", "on")
        let pid = try #require(Int32(try readSmallFile("\(kdamond)/pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(pid > 0, "the kdamond started")
        // Five aggregation intervals hold several complete aggregations.
        try await Task.sleep(for: .milliseconds(500))
        recorder.detach()
        let (_, events) = await collect(recorder)
        let regions = events.filter { $0.pid == pid }
        print("DAMON: own kdamond \(pid) monitoring child \(child.pid): \(regions.count) regions")
        #expect(!regions.isEmpty, "kdamond \(pid) reported the child's regions")
        #expect(regions.allSatisfy {
            $0.kind == .damonRegion && $0.address < $0.value && $0.address % 4096 == 0 && $0.address >= lowest && $0.value <= highest
        }, "regions lie inside the child's mappings [\(String(lowest, radix: 16)), \(String(highest, radix: 16)))")
        #expect(try recorder.counters().eventsLost == 0)
        #expect(child.finish() == 0)
    }
}

/// Pages of the file resident in the page cache (mincore over a mapping).
func residentPages(fd: Int32, pages: Int) -> Int {
    guard let map = mmap(nil, pages * 4096, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return -1 }
    defer { munmap(map, pages * 4096) }
    var vector = [UInt8](repeating: 0, count: pages)
    guard mincore(map, pages * 4096, &vector) == 0 else { return -1 }
    return vector.filter { $0 & 1 != 0 }.count
}

func spawnHeldForTest(_ command: [String]) throws -> ctiershims_gated_child {
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var child = ctiershims_gated_child()
    let failure = ctiershims_spawn_gated(&argv, &child)
    guard failure == 0 else { throw BPFError("fork \(command[0])", errno: failure) }
    return child
}

struct PageEventSinkTests {
    @Test func refaultsAndEventsBecomeTheirRecords() throws {
        let path = "/tmp/tierkit-event-sink-\(getpid()).tkt"
        defer { unlink(path) }
        let header = TKTPageFaultSink.header(
            targets: [.pid(5)], mode: .events, kernelRelease: "test", startMonotonicNs: 1_000, startRealtimeNs: 7,
            sources: [.faults, .refaults, .reclaim, .damon])
        var sink = try TKTPageFaultSink(path: path, header: header)
        try sink.write(PageFault(timeNanoseconds: 1_500, address: 0x7f00_0000_1234, pid: 5, tid: 6, kind: .write,
                                 errorCode: 6, refault: true))
        var reclaim = tk_page_event()
        reclaim.time_ns = 2_000
        reclaim.pid = 5
        reclaim.tid = 6
        reclaim.kind = UInt8(TK_EVENT_RECLAIM.rawValue)
        reclaim.count = 64
        reclaim.value = 70
        try sink.write(event: PageEvent(reclaim))
        var region = tk_page_event()
        region.time_ns = 3_000
        region.pid = 81
        region.tid = 81
        region.kind = UInt8(TK_EVENT_DAMON_REGION.rawValue)
        region.address = 0x10_0000
        region.value = 0x18_0000
        region.count = 0
        try sink.write(event: PageEvent(region))
        try sink.finish()

        var reader = try PageTraceReader(path: path)
        #expect(reader.header.sources == ["faults", "refaults", "reclaim", "damon"])
        #expect(try reader.next() == PageTraceRecord(time: 500, address: 0x7f00_0000_1000, pid: 5, tid: 6, kind: .writeFault, flags: .anonymous))
        #expect(try reader.next() == PageTraceRecord(time: 500, address: 0x7f00_0000_1000, pid: 5, tid: 6, kind: .refault, flags: .anonymous))
        #expect(try reader.next() == PageTraceRecord(time: 1_000, address: 0, pid: 5, tid: 6, kind: .reclaim, count: 64))
        #expect(try reader.next() == PageTraceRecord(time: 2_000, address: 0x10_0000, pid: 81, tid: 128, kind: .damonRegion, count: 0))
        #expect(try reader.next() == nil)
    }

    @Test func sourcesParseByNameAndRefuseUnknownOnes() {
        #expect(PageEventSources.parse("faults,refaults").0 == [.faults, .refaults])
        #expect(PageEventSources.parse("filemap, damon").0 == [.filemap, .damon])
        #expect(PageEventSources.parse("faults,swap").unknown == "swap")
        #expect(PageEventSources([.lru, .faults]).names == ["faults", "lru"])
    }
}
