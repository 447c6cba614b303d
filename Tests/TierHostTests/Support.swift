import CTierShims
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Whether a root-only test can run; prints the SKIPPED line when not.
func rootAvailable(_ test: String) -> Bool {
    guard geteuid() == 0 else {
        print("SKIPPED \(test): needs root (process_madvise on another process, zram, swapon)")
        return false
    }
    return true
}

/// A forked child holding known pages (see `ctiershims_fork_memory_child`); reaped when released.
struct MemoryChild: ~Copyable {
    var handle = ctiershims_memory_child()
    let pages: Int

    init(pages: Int) throws {
        self.pages = pages
        let failure = ctiershims_fork_memory_child(pages, &handle)
        if failure != 0 { throw SystemCallError("fork memory child", errno: failure) }
    }

    var pid: Int32 { handle.pid }
    var base: UInt64 { handle.base }

    /// Pages `first..<first+count` as a range.
    func range(_ first: Int, _ count: Int) -> AddressRange {
        AddressRange(start: base + UInt64(first * 4096), length: UInt64(count * 4096))
    }

    /// Pages resident in memory or the swap cache, as the child's mincore sees them.
    mutating func residentPages() -> Int64 { ctiershims_memory_child_ask(&handle, CChar(UInt8(ascii: "m"))) }
    /// Reads every page; returns the major faults that took.
    mutating func touchAll() -> Int64 { ctiershims_memory_child_ask(&handle, CChar(UInt8(ascii: "t"))) }

    deinit {
        var h = handle
        _ = ctiershims_memory_child_finish(&h)
    }
}

/// Runs `body` with a zram swap device of this test's own, removed afterwards even on failure.
func withOwnSwap<R>(size: Int64 = 64 << 20, _ body: (ZramSwap) throws -> R) throws -> R {
    let swap = try ZramSwap.create(size: size, priority: 32000)
    defer {
        do { try swap.destroy() } catch { print("zram teardown of \(swap.devicePath) failed: \(error)") }
    }
    return try body(swap)
}
