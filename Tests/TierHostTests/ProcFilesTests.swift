import CTierShims
import Testing
import TierCore

@testable import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

@Suite struct ProcFilesTests {
    @Test func mapsSmapsAndPagemapOfAChild() throws {
        guard rootAvailable("maps/smaps/pagemap of a child") else { return }
        let child = try MemoryChild(pages: 40)
        let vma = try #require(try ProcMaps.read(pid: child.pid).first { $0.start == child.base })
        #expect(vma.end == child.base + 40 * 4096)
        #expect(vma.permissions == "rw-p")
        #expect(vma.isAnonymous && !vma.isSpecial && vma.isWritable)

        let entry = try #require(try Smaps.read(pid: child.pid).first { $0.mapping.start == child.base })
        #expect(entry.size == 40 * 4096)
        #expect(entry.rss == 40 * 4096)
        #expect(entry.anonymous == 40 * 4096)
        #expect(entry.referenced == 40 * 4096)
        #expect(entry.swap == 0)
        // clear_refs clears the referenced bits; reading the pages sets them again.
        try Smaps.clearReferenced(pid: child.pid)
        #expect(try Smaps.read(pid: child.pid).first { $0.mapping.start == child.base }?.referenced == 0)

        let pagemap = try PageMap(pid: child.pid)
        #expect(try pagemap.counts(child.range(0, 40)) == PageCounts(pages: 40, present: 40, swapped: 0))
        // One page either side is outside the child's mapping (or another mapping), not ours: the
        // range itself is exact.
        let entries = try pagemap.entries(start: child.base, pages: 40)
        #expect(entries.count == 40 && entries.allSatisfy { $0.present && $0.exclusive && !$0.swapped })
    }

    @Test func mapsErrorsAreLocated() {
        let text = "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon\nzz-00453000 rw-p 00000000 00:00 0\n"
        #expect(throws: SystemCallError("parse test-maps", errno: 0, detail: "line 2: expected a hex range 'start-end', found 'zz-00453000'")) {
            _ = try ProcMaps.parse(text, file: "test-maps")
        }
        let good = try? ProcMaps.parse("7f00-8f00 rw-s 00001000 00:05 42 /dev/shm/a file\n", file: "m")
        #expect(good == [MemoryMapping(start: 0x7f00, end: 0x8f00, permissions: "rw-s", offset: 0x1000, device: "00:05", inode: 42, path: "/dev/shm/a file")])
    }

    @Test func smapsParse() throws {
        let text = """
            7f0000000000-7f0000010000 rw-p 00000000 00:00 0 
            Size:                 64 kB
            Rss:                  12 kB
            Referenced:            8 kB
            Anonymous:            12 kB
            Swap:                 52 kB
            THPeligible:           0
            VmFlags: rd wr mr mw me ac nh
            7f0000010000-7f0000011000 r--p 00000000 08:01 99 /lib/x.so
            Rss:                   4 kB
            """
        let e = try Smaps.parse(text, file: "s")
        #expect(e.count == 2)
        #expect(e[0].size == 65536 && e[0].rss == 12288 && e[0].referenced == 8192 && e[0].anonymous == 12288 && e[0].swap == 53248)
        #expect(e[0].fields["THPeligible"] == 0)
        #expect(e[1].mapping.path == "/lib/x.so" && e[1].rss == 4096)
        #expect(throws: SystemCallError("parse s", errno: 0, detail: "line 2: expected 'Rss: N kB', found 'Rss: many kB'")) {
            _ = try Smaps.parse("7f00-8f00 rw-p 00000000 00:00 0\nRss: many kB\n", file: "s")
        }
        #expect(throws: SystemCallError("parse s", errno: 0, detail: "line 1: a field before the first mapping line")) {
            _ = try Smaps.parse("Rss: 4 kB\n", file: "s")
        }
    }

    @Test func meminfoAndPressure() throws {
        let m = try MemoryInfo.parse("MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    500 kB\nSwapTotal: 64 kB\nSwapFree: 60 kB\nHugePages_Total: 0\n", file: "mi")
        #expect(m == MemoryInfo(total: 1_024_000, free: 204_800, available: 512_000, swapTotal: 65536, swapFree: 61440))
        #expect(throws: SystemCallError("parse mi", errno: 0, detail: "after line 2: no MemAvailable line before the end of the file")) {
            _ = try MemoryInfo.parse("MemTotal: 1 kB\nMemFree: 1 kB\n", file: "mi")
        }
        #expect(throws: SystemCallError("parse mi", errno: 0, detail: "line 1: expected a number after 'MemTotal:', found 'MemTotal: lots'")) {
            _ = try MemoryInfo.parse("MemTotal: lots\n", file: "mi")
        }
        let live = try MemoryInfo.read()
        #expect(live.total > 0 && live.available <= live.total && live.free <= live.total)

        let p = try MemoryPressure.parse("some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=99\n", file: "psi")
        #expect(p == MemoryPressure(someAvg10: 1.5, someAvg60: 0.25, someAvg300: 0, someTotal: 1234, fullAvg10: 0.5))
        #expect(throws: SystemCallError("parse psi", errno: 0, detail: "line 1: expected a 'some' or 'full' line, found 'avg10=1'")) {
            _ = try MemoryPressure.parse("avg10=1\n", file: "psi")
        }
        // This kernel has PSI; a missing file means none, not an error.
        #expect(try MemoryPressure.read(path: "/proc/pressure/no-such-file") == nil)
        if HostFile.exists("/proc/pressure/memory") { #expect(try MemoryPressure.read() != nil) }
    }

    @Test func swapsParse() throws {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/zram1                              partition\t262140\t\t8\t\t100\n"
        #expect(try SwapAreas.parse(text, file: "sw") == [SwapArea(path: "/dev/zram1", type: "partition", sizeBytes: 262_140 * 1024, usedBytes: 8192, priority: 100)])
        #expect(throws: SystemCallError("parse sw", errno: 0, detail: "line 2: expected 'path type size used priority', found '/dev/x partition big'")) {
            _ = try SwapAreas.parse("header\n/dev/x partition big\n", file: "sw")
        }
    }

    @Test func cgroupReclaimAndMovePagesReportWhatThisHostLacks() throws {
        // These VMs keep the memory controller on cgroup v1: memory.reclaim is unavailable, said why.
        switch CgroupReclaim.availability(cgroup: "/sys/fs/cgroup") {
        case .available(let path):
            #expect(path.hasSuffix("/memory.reclaim"))
        case .unavailable(let reason):
            #expect(!reason.isEmpty)
            #expect(throws: SystemCallError("memory.reclaim /sys/fs/cgroup", errno: EOPNOTSUPP, detail: reason)) {
                try CgroupReclaim.reclaim(cgroup: "/sys/fs/cgroup", bytes: 4096)
            }
        }
        guard rootAvailable("move_pages to a missing node") else { return }
        let child = try MemoryChild(pages: 4)
        let pages = (0..<4).map { child.base + UInt64($0 * 4096) }
        #expect(try PageMigration.query(pid: child.pid, addresses: pages) == [0, 0, 0, 0])
        let nodes = PageMigration.onlineNodes()
        if !nodes.contains(1) {
            #expect(throws: SystemCallError("move_pages pid \(child.pid) to node 1", errno: ENODEV,
                                            detail: "node 1 is not online (online nodes: \(nodes.map(String.init).joined(separator: ",")))")) {
                _ = try PageMigration.move(pid: child.pid, addresses: pages, to: 1)
            }
        }
        // Moving to the node the pages are on succeeds and leaves them there.
        #expect(try PageMigration.move(pid: child.pid, addresses: pages, to: 0) == [0, 0, 0, 0])
    }
}

@Suite(.serialized) struct SwapSetupTests {
    @Test func setupStatusTeardownRoundTrip() throws {
        guard rootAvailable("zram swap setup/status/teardown") else { return }
        var template = Array("/tmp/tierkit-swap-test-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        let managed = ManagedSwap(stateDirectory: dir)
        defer {
            _ = try? managed.teardown()
            rmdir(dir)
        }
        let (device, created) = try managed.setup(size: 32 << 20, priority: 5)
        #expect(created)
        let (same, createdAgain) = try managed.setup(size: 32 << 20, priority: 5)
        #expect(!createdAgain && same == device)
        let status = try managed.status()
        #expect(status.managed.count == 1)
        let area = try #require(status.managed[0].area)
        // /proc/swaps leaves out the header page.
        #expect(area.sizeBytes == (32 << 20) - 4096)
        #expect(area.priority == 5 && area.path == device.devicePath)
        #expect(status.areas.contains(area))
        #expect(status.managed[0].stat != nil)
        #expect(managed.recordedDevices() == [ZramSwap(index: device.index, sizeBytes: 32 << 20)])

        #expect(try managed.teardown() == [device])
        #expect(!device.isActive)
        #expect(!HostFile.exists(device.sysfsPath))
        #expect(try managed.teardown() == [])
        #expect(try managed.status().managed.isEmpty)
    }
}

@Suite struct WorkloadTests {
    @Test func layoutNamesExactRangesAndEveryPageIsWritten() throws {
        let w = try Workload(spec: WorkloadSpec(shape: .hotcold, size: 1 << 20, hotFraction: 0.25, duration: 1_500_000_000))
        let l = w.layout
        #expect(l.pid == getpid() && l.pageSize == 4096)
        #expect(l.region.length == 1 << 20)
        #expect(l.hot == [AddressRange(start: l.region.start, length: 64 * 4096)])
        #expect(l.cold == [AddressRange(start: l.region.start + 64 * 4096, length: 192 * 4096)])
        #expect(l.phaseHot.isEmpty)
        let pagemap = try PageMap(pid: getpid())
        #expect(try pagemap.counts(l.region) == PageCounts(pages: 256, present: 256, swapped: 0))
        var samples: [WorkloadSample] = []
        let total = w.run { samples.append($0); return true }
        // 1.5 s: one full second, then the half second to the end.
        #expect(samples.map(\.second) == [1, 2])
        #expect(samples.allSatisfy { $0.operations > 0 && $0.phase == 0 })
        #expect(total == samples.reduce(0) { $0 + $1.operations })
    }

    @Test func phasesMoveTheHotSet() throws {
        let w = try Workload(spec: WorkloadSpec(shape: .phases, size: 1 << 20, hotFraction: 0.25, duration: 2_200_000_000, phaseDuration: 1_000_000_000))
        let l = w.layout
        #expect(l.phaseHot == (0..<4).map { AddressRange(start: l.region.start + UInt64($0 * 64 * 4096), length: 64 * 4096) })
        var phases: [Int] = []
        w.run { phases.append($0.phase); return true }
        #expect(phases.count == 3)
        #expect(phases.first == 0 || phases.first == 1)
        #expect(phases.last == 2)
    }

    @Test func refusesNonsense() {
        #expect(throws: SystemCallError("workload", errno: EINVAL, detail: "hot share 0.0 is not in (0, 1]")) {
            _ = try Workload(spec: WorkloadSpec(shape: .zipf, size: 1 << 20, hotFraction: 0))
        }
    }
}
