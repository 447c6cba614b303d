import CTierShims
import Testing
import TierCore

@testable import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

@Suite(.serialized) struct ProcessHandleTests {
    @Test func refusesInitItselfAndKernelThreads() {
        #expect(throws: SystemCallError("target pid 1", errno: EPERM, detail: "refused: pid 1 (init) is never a target")) {
            _ = try ProcessHandle(pid: 1)
        }
        #expect(throws: SystemCallError("target pid \(getpid())", errno: EPERM, detail: "refused: TierKit never acts on itself")) {
            _ = try ProcessHandle(pid: getpid())
        }
        // pid 2 is kthreadd on Linux.
        #expect(throws: SystemCallError("target pid 2", errno: EPERM, detail: "refused: pid 2 is a kernel thread")) {
            _ = try ProcessHandle(pid: 2)
        }
        do {
            _ = try ProcessHandle(pid: 0x3FFF_FFFF)
            Issue.record("a pid with no process was accepted")
        } catch {
            #expect(error.errno == ESRCH)
        }
    }

    @Test func pageoutMovesExactlyTheRangeAndWillneedBringsItBack() throws {
        guard rootAvailable("pageout/willneed round trip") else { return }
        try withOwnSwap { swap in
            var child = try MemoryChild(pages: 64)
            let process = try ProcessHandle(pid: child.pid)
            let pagemap = try PageMap(pid: child.pid)
            #expect(try pagemap.counts(child.range(0, 64)) == PageCounts(pages: 64, present: 64, swapped: 0))

            // Page out pages 16..<48, in two ranges so the batch holds more than one iovec.
            let out = try process.adviseVerified([child.range(16, 16), child.range(32, 16)], .pageout, pageMap: pagemap)
            #expect(out.result.requestedBytes == 32 * 4096)
            #expect(out.result.advisedBytes == 32 * 4096)
            #expect(out.result.failures.isEmpty)
            #expect(out.pagesMoved == 32)
            #expect(out.pagesNotMoved == 0)
            #expect(try pagemap.counts(child.range(16, 32)) == PageCounts(pages: 32, present: 0, swapped: 32))
            #expect(try pagemap.counts(child.range(0, 16)) + pagemap.counts(child.range(48, 16)) == PageCounts(pages: 32, present: 32, swapped: 0))
            #expect(child.residentPages() == 32)
            // Every swapped page carries the swap type of a swap area, ours included.
            let entries = try pagemap.entries(start: child.range(16, 1).start, pages: 32)
            #expect(entries.allSatisfy { $0.swapped && !$0.present && $0.swapType != nil })
            #expect(try swap.area() != nil)

            // smaps of the child's mapping agrees.
            let vma = try #require(try Smaps.read(pid: child.pid).first { $0.mapping.start == child.base })
            #expect(vma.mapping.end == child.base + 64 * 4096)
            #expect(vma.swap == 32 * 4096)
            #expect(vma.rss == 32 * 4096)

            // WILLNEED on half of them reads those into the swap cache: resident for mincore,
            // and touching them costs no major fault; the other 16 still fault from zram.
            let back = try process.advise([child.range(16, 16)], .willneed)
            #expect(back.advisedBytes == 16 * 4096)
            #expect(child.residentPages() == 48)
            #expect(child.touchAll() == 16)
            #expect(try pagemap.counts(child.range(0, 64)) == PageCounts(pages: 64, present: 64, swapped: 0))
        }
    }

    @Test func failedRangesAreReportedAndTheRestStillGo() throws {
        guard rootAvailable("process_madvise partial failure") else { return }
        try withOwnSwap { _ in
            let child = try MemoryChild(pages: 16)
            let process = try ProcessHandle(pid: child.pid)
            let pagemap = try PageMap(pid: child.pid)
            // An unmapped range between two good ones: the kernel refuses it (ENOMEM); both
            // good ranges are advised.
            let unmapped = AddressRange(start: 0x1000, length: 4096)
            let r = try process.advise([child.range(0, 4), unmapped, child.range(8, 4)], .pageout)
            #expect(r.requestedBytes == 9 * 4096)
            #expect(r.advisedBytes == 8 * 4096)
            #expect(r.failures == [AdviseFailure(range: unmapped, errno: ENOMEM)])
            #expect(try pagemap.counts(child.range(0, 16)) == PageCounts(pages: 16, present: 8, swapped: 8))
            // Advising pages already in swap is accepted by the kernel and moves nothing: the
            // verification shows it.
            let again = try process.adviseVerified([child.range(0, 4)], .pageout, pageMap: pagemap)
            #expect(again.result.advisedBytes == 4 * 4096)
            #expect(again.pagesMoved == 0)
            #expect(again.before == PageCounts(pages: 4, present: 0, swapped: 4))
        }
    }

    @Test func moreRangesThanOneCallTakes() throws {
        guard rootAvailable("process_madvise batches") else { return }
        try withOwnSwap { _ in
            let child = try MemoryChild(pages: 2100)
            let process = try ProcessHandle(pid: child.pid)
            // 1050 one-page ranges, every other page: two calls of up to 1024 iovecs.
            let ranges = (0..<1050).map { child.range(2 * $0, 1) }
            let r = try process.advise(ranges, .pageout)
            #expect(r.calls == 2)
            #expect(r.advisedBytes == 1050 * 4096)
            let pagemap = try PageMap(pid: child.pid)
            #expect(try pagemap.counts(child.range(0, 2100)) == PageCounts(pages: 2100, present: 1050, swapped: 1050))
        }
    }

    @Test func anExitedProcessIsReported() throws {
        guard rootAvailable("pidfd of an exited process") else { return }
        var child = try MemoryChild(pages: 1)
        let process = try ProcessHandle(pid: child.pid)
        let pid = child.pid
        _ = ctiershims_memory_child_finish(&child.handle)
        #expect(process.hasExited)
        do {
            _ = try process.advise([AddressRange(start: 0x10000, length: 4096)], .pageout)
            Issue.record("advising an exited process succeeded")
        } catch {
            #expect(error.errno == ESRCH)
            #expect(error.operation == "process_madvise(MADV_PAGEOUT) pid \(pid)")
        }
    }
}
