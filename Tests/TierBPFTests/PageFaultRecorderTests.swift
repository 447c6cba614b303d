import CTierShims
import Testing

@testable import TierBPF

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Whether BPF tests can run; prints the SKIPPED line when not.
func bpfAvailable(_ test: String) -> Bool {
    guard geteuid() == 0 else {
        print("SKIPPED \(test): needs root to load BPF programs")
        return false
    }
    return true
}

/// A forked child that touches known pages when told to (see `ctiershims_fork_toucher`).
struct Toucher: ~Copyable {
    var handle = ctiershims_toucher()
    let kinds: [UInt8]

    init(_ pattern: String) throws {
        // '-' marks a page that is mapped but not touched.
        kinds = pattern.utf8.map { $0 == UInt8(ascii: "-") ? 0 : $0 }
        let failure = kinds.withUnsafeBufferPointer { ctiershims_fork_toucher($0.baseAddress, $0.count, &handle) }
        if failure != 0 { throw BPFError("fork toucher", errno: failure) }
    }

    var pid: Int32 { handle.pid }

    /// Touches the pages; returns the base address.
    mutating func run() -> UInt64 { ctiershims_toucher_run(&handle) }

    /// Lets the child exit and returns its wait status.
    mutating func finish() -> Int32 { ctiershims_toucher_finish(&handle) }

    deinit {
        var handle = handle
        if handle.gate_fd >= 0 { _ = ctiershims_toucher_finish(&handle) }
    }
}

/// A pattern of `count` pages cycling through `kinds`.
func pattern(_ kinds: String, count: Int) -> String {
    let cycle = Array(kinds)
    return String((0..<count).map { cycle[$0 % cycle.count] })
}

func kind(of touch: Character) -> PageAccessKind {
    switch touch {
    case "w": .write
    case "x": .execute
    default: .read
    }
}

@Suite(.serialized)
struct PageFaultRecorderTests {
    static let pages = 96

    @Test func streamRecordsExactlyOneFirstTouchPerPageWithItsKind() async throws {
        guard bpfAvailable("stream recording") else { return }
        let layout = pattern("rwxrrww", count: Self.pages)
        let recorder = try PageFaultRecorder(options: .init(mode: .stream, ringBufferBytes: 1 << 20))
        var target = try Toucher(layout)
        var other = try Toucher(layout)
        try recorder.addTarget(pid: target.pid)
        try recorder.attach()
        let otherBase = other.run()
        let base = target.run()
        recorder.detach()
        #expect(base != 0 && otherBase != 0)
        #expect(target.finish() == 0)
        #expect(other.finish() == 0)

        var inRange: [UInt64: [PageFault]] = [:]
        var total = 0
        var foreign = 0
        for await batch in recorder.faults! {
            for index in batch.indices {
                let fault = batch.fault(at: index)
                total += 1
                if fault.pid != target.pid { foreign += 1; continue }
                if fault.address >= base && fault.address < base + UInt64(Self.pages) * 4096 {
                    inRange[(fault.address - base) / 4096, default: []].append(fault)
                }
            }
        }
        let counters = try recorder.counters()
        #expect(foreign == 0)
        #expect(counters.lost == 0)
        #expect(counters.matched == UInt64(total))
        #expect(recorder.delivered.malformed == 0)
        #expect(inRange.count == Self.pages)
        #expect(inRange.values.map(\.count).reduce(0, +) == Self.pages)
        for (page, touch) in layout.enumerated() {
            let faults = inRange[UInt64(page)] ?? []
            #expect(faults.count == 1, "page \(page)")
            #expect(faults.first?.kind == kind(of: touch), "page \(page) touched as \(touch)")
            #expect(faults.first?.tid == target.pid)
        }
        let writes = layout.filter { $0 == "w" }.count
        let execs = layout.filter { $0 == "x" }.count
        #expect(inRange.values.filter { $0[0].kind == .write }.count == writes)
        #expect(inRange.values.filter { $0[0].kind == .execute }.count == execs)
        #expect(inRange.values.filter { $0[0].kind == .read }.count == Self.pages - writes - execs)
    }

    @Test func aggregateCountsEveryFaultPerPage() async throws {
        guard bpfAvailable("aggregate recording") else { return }
        // '-' pages are mapped but never touched; 'b' pages fault twice (read, then write).
        let layout = pattern("rbw-xb", count: Self.pages)
        let recorder = try PageFaultRecorder(options: .init(mode: .aggregate, maxPages: 4096))
        #expect(recorder.faults == nil)
        var target = try Toucher(layout)
        var other = try Toucher(layout)
        try recorder.addTarget(pid: target.pid)
        try recorder.attach()
        let otherBase = other.run()
        let base = target.run()
        recorder.detach()
        #expect(base != 0 && otherBase != 0)
        #expect(target.finish() == 0)
        #expect(other.finish() == 0)

        let pages = try recorder.pageStatistics()
        let counters = try recorder.counters()
        #expect(pages.keys.allSatisfy { $0.pid == target.pid })
        #expect(counters.pagesDropped == 0)
        #expect(counters.matched == pages.values.map(\.count).reduce(0, +))
        let firstPage = base >> 12
        for (page, touch) in layout.enumerated() {
            let stats = pages[PageKey(pid: target.pid, page: firstPage + UInt64(page))]
            switch touch {
            case "-":
                #expect(stats == nil, "page \(page) was never touched")
            case "b":
                #expect(stats?.count == 2 && stats?.reads == 1 && stats?.writes == 1, "page \(page)")
                #expect((stats?.errorBits ?? 0) & UInt16(TK_PF_PROT.rawValue) != 0, "the write found the zero page present")
            case "w":
                #expect(stats?.count == 1 && stats?.writes == 1 && stats?.reads == 0, "page \(page)")
            case "x":
                #expect(stats?.count == 1 && stats?.executes == 1, "page \(page)")
                #expect((stats?.errorBits ?? 0) & UInt16(TK_PF_INSTR.rawValue) != 0)
            default:
                #expect(stats?.count == 1 && stats?.reads == 1 && stats?.writes == 0, "page \(page)")
            }
            if let stats { #expect(stats.firstNanoseconds <= stats.lastNanoseconds && stats.firstNanoseconds > 0) }
        }
        let inRange = pages.keys.filter { $0.page >= firstPage && $0.page < firstPage + UInt64(Self.pages) }
        #expect(inRange.count == layout.filter { $0 != "-" }.count)

        try recorder.clearPageStatistics()
        #expect(try recorder.pageStatistics().isEmpty)
    }

    @Test func childrenOfTargetsAreFollowedFromTheirFirstFault() async throws {
        guard bpfAvailable("follow forks") else { return }
        let recorder = try PageFaultRecorder(options: .init(mode: .aggregate, followForks: true, maxPages: 1 << 16))
        var bystander = try Toucher(pattern("w", count: 8))  // forked before: not followed
        try recorder.addTarget(pid: getpid())
        try recorder.attach()
        var child = try Toucher(pattern("rw", count: 40))
        // The fork program set the child's bit in the shared target bitmap; the bystander has none.
        #expect(recorder.isTarget(pid: child.pid) && !recorder.isTarget(pid: bystander.pid))
        let base = child.run()
        _ = bystander.run()
        recorder.detach()
        try recorder.removeTarget(pid: child.pid)
        #expect(!recorder.isTarget(pid: child.pid) && recorder.isTarget(pid: getpid()))
        #expect(throws: BPFError.self) { try recorder.addTarget(pid: -1) }
        #expect(child.finish() == 0)
        #expect(bystander.finish() == 0)

        let pages = try recorder.pageStatistics()
        #expect(pages.keys.allSatisfy { $0.pid != bystander.pid })
        let firstPage = base >> 12
        let inRange = pages.filter { $0.key.pid == child.pid && $0.key.page >= firstPage && $0.key.page < firstPage + 40 }
        #expect(inRange.count == 40)
        #expect(inRange.values.map(\.count).reduce(0, +) == 40)
        #expect(inRange.values.map(\.writes).reduce(0, +) == 20)
    }

    @Test func cgroupFilterRecordsOnlyTasksInTheCgroup() async throws {
        guard bpfAvailable("cgroup filter") else { return }
        guard let root = CgroupV2.mountPoints().first else {
            Issue.record("no cgroup2 mount point in /proc/self/mountinfo")
            return
        }
        let directory = "\(root)/tierkit-test-\(getpid())"
        #expect(mkdir(directory, 0o755) == 0 || errno == EEXIST)
        defer { rmdir(directory) }
        let cgroup = try CgroupV2(path: directory)
        #expect(cgroup.level == 1)

        let layout = pattern("rw", count: 32)
        var target = try Toucher(layout)
        var other = try Toucher(layout)
        let procs = open("\(directory)/cgroup.procs", O_WRONLY)
        #expect(procs >= 0)
        let text = Array("\(target.pid)\n".utf8)
        #expect(write(procs, text, text.count) == text.count)
        close(procs)

        let recorder = try PageFaultRecorder(options: .init(mode: .aggregate, filterByPID: false, cgroup: cgroup))
        try recorder.attach()
        _ = other.run()
        let base = target.run()
        recorder.detach()
        #expect(target.finish() == 0)
        #expect(other.finish() == 0)

        let pages = try recorder.pageStatistics()
        #expect(!pages.isEmpty)
        #expect(pages.keys.allSatisfy { $0.pid == target.pid })
        let firstPage = base >> 12
        let inRange = pages.filter { $0.key.page >= firstPage && $0.key.page < firstPage + 32 }
        #expect(inRange.count == 32)
        #expect(inRange.values.allSatisfy { $0.count == 1 })
    }
}
