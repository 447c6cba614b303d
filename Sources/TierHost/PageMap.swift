#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One 64-bit entry of /proc/pid/pagemap (Documentation/admin-guide/mm/pagemap.rst).
public struct PageMapEntry: Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bit 63: the page is in memory.
    public var present: Bool { rawValue & (1 << 63) != 0 }
    /// Bit 62: the page is in swap.
    public var swapped: Bool { rawValue & (1 << 62) != 0 }
    /// Bit 61: a file page or shared anonymous page.
    public var fileOrSharedAnonymous: Bool { rawValue & (1 << 61) != 0 }
    /// Bit 56: mapped by this process only.
    public var exclusive: Bool { rawValue & (1 << 56) != 0 }
    /// Bit 55: soft-dirty.
    public var softDirty: Bool { rawValue & (1 << 55) != 0 }
    /// Bits 0-54 when present: the page frame number (0 without CAP_SYS_ADMIN).
    public var frame: UInt64? { present ? rawValue & ((1 << 55) - 1) : nil }
    /// Bits 0-4 when swapped: the swap type (index into /proc/swaps).
    public var swapType: Int? { swapped ? Int(rawValue & 0x1F) : nil }
    /// Bits 5-54 when swapped: the offset in the swap area.
    public var swapOffset: UInt64? { swapped ? (rawValue >> 5) & ((1 << 50) - 1) : nil }
}

/// Page counts of a range: present, swapped, and neither (never touched, or dropped).
public struct PageCounts: Sendable, Equatable, CustomStringConvertible {
    public var pages: Int = 0
    public var present: Int = 0
    public var swapped: Int = 0
    public init(pages: Int = 0, present: Int = 0, swapped: Int = 0) {
        self.pages = pages
        self.present = present
        self.swapped = swapped
    }
    public var description: String { "\(pages) pages: \(present) present, \(swapped) swapped" }
    public static func + (a: PageCounts, b: PageCounts) -> PageCounts {
        PageCounts(pages: a.pages + b.pages, present: a.present + b.present, swapped: a.swapped + b.swapped)
    }
}

/// A process's /proc/pid/pagemap, open for reading: per-page present/swapped bits.
public final class PageMap: Sendable {
    public let pid: Int32
    private let fd: Int32
    private let path: String

    /// Opens /proc/<pid>/pagemap (reading another process's needs ptrace access: root here).
    public init(pid: Int32) throws(SystemCallError) {
        self.pid = pid
        path = "/proc/\(pid)/pagemap"
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError.fromErrno("open \(path)") }
    }

    deinit { close(fd) }

    /// The entries of `pages` pages from `start` (rounded down to a page).
    public func entries(start: UInt64, pages: Int) throws(SystemCallError) -> [PageMapEntry] {
        let pageSize = UInt64(hostPageSize)
        var out = [UInt64](repeating: 0, count: pages)
        let first = start / pageSize
        var done = 0
        while done < pages {
            let n = out.withUnsafeMutableBytes { buf in
                pread(fd, buf.baseAddress! + done * 8, (pages - done) * 8, off_t(Int64((first + UInt64(done)) * 8)))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError.fromErrno("read \(path)", detail: "pages at 0x\(String((first + UInt64(done)) * pageSize, radix: 16))")
            }
            if n == 0 { break }
            guard n % 8 == 0 else { throw SystemCallError("read \(path)", errno: 0, detail: "read \(n) bytes, not a multiple of 8") }
            done += n / 8
        }
        return out.prefix(done).map { PageMapEntry(rawValue: $0) }
    }

    /// Present and swapped counts over `range`, read in chunks of 64 Ki pages.
    public func counts(_ range: AddressRange) throws(SystemCallError) -> PageCounts {
        let pageSize = UInt64(hostPageSize)
        var page = range.start / pageSize
        let end = (range.end + pageSize - 1) / pageSize
        var c = PageCounts()
        while page < end {
            let n = Int(min(end - page, 65536))
            let chunk = try entries(start: page * pageSize, pages: n)
            for e in chunk {
                if e.present { c.present += 1 } else if e.swapped { c.swapped += 1 }
            }
            c.pages += chunk.count
            if chunk.count < n { break }
            page += UInt64(n)
        }
        return c
    }
}
