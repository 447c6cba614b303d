/// Accesses binned by address and time, over an address space compressed to the
/// regions a trace touched (as damo's heatmaps are): the data behind
/// `tierkit report heatmap`.
///
/// Only access records count (weighted by their count). The address axis is the
/// touched regions laid end to end: pages are grouped into chunks of
/// `chunkPages`, runs of touched chunks form regions, and when there are more
/// than `maxRegions` runs the smallest gaps between them are closed (kept inside a
/// region) so that only the largest gaps are cut out. Bins divide the compressed
/// axis and the time span evenly: address bin = offset × addressBins / total pages,
/// time bin = (time − first) × timeBins / (last − first + 1), in exact integer
/// arithmetic. Two passes over the file; memory grows with touched chunks only.
public struct PageAccessHeatmap: Sendable, Equatable {
    /// A stretch of the address space kept on the compressed axis.
    public struct Region: Sendable, Equatable {
        /// First page number.
        public var startPage: UInt64
        /// Length in pages.
        public var pages: UInt64
        /// Position of its first page on the compressed axis, in pages.
        public var offset: UInt64

        public init(startPage: UInt64, pages: UInt64, offset: UInt64) {
            self.startPage = startPage
            self.pages = pages
            self.offset = offset
        }
    }

    public var pageSize: UInt32
    public var regions: [Region]
    /// Pages on the compressed axis (the regions' total length).
    public var compressedPages: UInt64
    /// Time of the first and last access, nanoseconds since the trace's start.
    public var timeStart: UInt64
    public var timeEnd: UInt64
    public var timeBins: Int
    public var addressBins: Int
    /// Access counts, `counts[addressBin * timeBins + timeBin]`; address bin 0 holds the lowest addresses.
    public var counts: [UInt64]
    /// Accesses counted (the sum of `counts`).
    public var accesses: UInt64

    /// The count in one cell.
    public func count(addressBin: Int, timeBin: Int) -> UInt64 { counts[addressBin * timeBins + timeBin] }

    /// The time bin of `time` (within `timeStart...timeEnd`).
    public func timeBin(_ time: UInt64) -> Int {
        let last = timeEnd - timeStart
        // A span of 2^64 ns does not fit a UInt64: divide by 2^64 by taking the high word.
        if last == .max { return Int((time - timeStart).multipliedFullWidth(by: UInt64(timeBins)).high) }
        return Self.scale(time - timeStart, timeBins, last + 1)
    }

    /// The address bin of page number `page`, nil when it is in no region.
    public func addressBin(page: UInt64) -> Int? {
        guard let offset = compressedOffset(page: page) else { return nil }
        return Self.scale(offset, addressBins, compressedPages)
    }

    /// The page's position on the compressed axis.
    public func compressedOffset(page: UInt64) -> UInt64? {
        var lo = 0, hi = regions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if regions[mid].startPage <= page { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = regions[lo - 1]
        guard page - r.startPage < r.pages else { return nil }
        return r.offset + (page - r.startPage)
    }

    /// The first page on the compressed axis at or after position `offset`
    /// (the page an address bin starts at is `page(atOffset: bin × total / bins)`, rounded up).
    public func page(atOffset offset: UInt64) -> UInt64 {
        for r in regions.reversed() where r.offset <= offset { return r.startPage + (offset - r.offset) }
        return regions.first?.startPage ?? 0
    }

    /// `value × bins / total`, exact in 128 bits.
    static func scale(_ value: UInt64, _ bins: Int, _ total: UInt64) -> Int {
        let product = value.multipliedFullWidth(by: UInt64(bins))
        return Int(total.dividingFullWidth((product.high, product.low)).quotient)
    }

    /// Bins the access records of the trace at `path`, of process `pid` when given.
    public static func compute(path: String, pid: UInt32? = nil, timeBins: Int = 100, addressBins: Int = 64,
                               chunkPages: UInt64 = 16, maxRegions: Int = 16) throws(TraceError) -> PageAccessHeatmap {
        precondition(timeBins > 0 && addressBins > 0 && chunkPages > 0 && maxRegions > 0)
        var reader = try PageTraceReader(path: path)
        let shift = reader.header.pageShift
        var chunks = Set<UInt64>()
        var first = UInt64.max, last: UInt64 = 0
        while let r = try reader.next() {
            guard r.kind.isAccess, pid == nil || r.pid == pid else { continue }
            chunks.insert((r.address >> UInt64(shift)) / chunkPages)
            first = min(first, r.time)
            last = max(last, r.time)
        }
        var map = PageAccessHeatmap(pageSize: reader.header.pageSize, regions: [], compressedPages: 0,
                                    timeStart: 0, timeEnd: 0, timeBins: 0, addressBins: 0, counts: [], accesses: 0)
        guard !chunks.isEmpty else { return map }
        map.regions = regions(chunks: chunks.sorted(), chunkPages: chunkPages, maxRegions: maxRegions)
        map.compressedPages = map.regions.last.map { $0.offset + $0.pages } ?? 0
        map.timeStart = first
        map.timeEnd = last
        map.timeBins = last - first >= UInt64(timeBins - 1) ? timeBins : Int(last - first + 1)
        map.addressBins = Int(min(UInt64(addressBins), map.compressedPages))
        map.counts = [UInt64](repeating: 0, count: map.timeBins * map.addressBins)

        // The second pass reads as many records as the first: a file still being
        // appended to gives the same picture from both.
        let records = reader.recordIndex
        var again = try PageTraceReader(path: path)
        while again.recordIndex < records, let r = try again.next() {
            guard r.kind.isAccess, pid == nil || r.pid == pid,
                  r.time >= first && r.time <= last,
                  let a = map.addressBin(page: r.address >> UInt64(shift)) else { continue }
            map.counts[a * map.timeBins + map.timeBin(r.time)] &+= UInt64(r.count)
            map.accesses &+= UInt64(r.count)
        }
        return map
    }

    /// Regions from sorted touched chunk numbers: runs of consecutive chunks, with
    /// all but the `maxRegions - 1` largest gaps closed (ties keep the lower address's gap).
    public static func regions(chunks: [UInt64], chunkPages: UInt64, maxRegions: Int) -> [Region] {
        var runs: [(start: UInt64, end: UInt64)] = []
        for c in chunks {
            if let lastRun = runs.last, lastRun.end == c {
                runs[runs.count - 1].end = c + 1
            } else {
                runs.append((c, c + 1))
            }
        }
        guard !runs.isEmpty else { return [] }
        var cuts = Set<Int>()  // gap i lies between run i and run i + 1
        if runs.count > maxRegions {
            let gaps = (0..<runs.count - 1).map { (index: $0, size: runs[$0 + 1].start - runs[$0].end) }
            let kept = gaps.sorted { $0.size != $1.size ? $0.size > $1.size : $0.index < $1.index }.prefix(maxRegions - 1)
            cuts = Set(kept.map(\.index))
        } else {
            cuts = Set(0..<max(0, runs.count - 1))
        }
        var out: [Region] = []
        var start = runs[0].start
        var offset: UInt64 = 0
        for i in 0..<runs.count where i == runs.count - 1 || cuts.contains(i) {
            let pages = (runs[i].end - start) * chunkPages
            out.append(Region(startPage: start * chunkPages, pages: pages, offset: offset))
            offset += pages
            if i + 1 < runs.count { start = runs[i + 1].start }
        }
        return out
    }
}

/// Working-set size over time: distinct pages accessed in each interval, the data
/// behind `tierkit report wss`.
///
/// Interval `i` covers `[i × interval, (i + 1) × interval)` nanoseconds since the
/// trace's start. A page counts once per interval it is accessed in (access
/// records only; pages identified by pid and page number). The count is exact when
/// records are in time order, as a recorder writes them; a record out of order by
/// more than an interval can count its page twice in one interval. Memory: an id
/// table of 24-48 bytes per distinct page, and 16 bytes per interval.
public struct WorkingSetSeries: Sendable, Equatable {
    public var interval: UInt64
    public var pageSize: UInt32
    /// Distinct pages accessed per interval.
    public var pages: [Int64]
    /// Access events per interval (sum of counts).
    public var accesses: [Int64]

    /// Most intervals a series may have, so a tiny interval fails early.
    public static let maxIntervals = 1 << 24

    /// Bytes accessed in interval `i`.
    public func bytes(_ i: Int) -> Int64 { pages[i] * Int64(pageSize) }

    /// Reads the trace at `path` once.
    public static func compute(path: String, interval: UInt64, pid: UInt32? = nil) throws(TraceError) -> WorkingSetSeries {
        precondition(interval > 0)
        var reader = try PageTraceReader(path: path)
        let shift = reader.header.pageShift
        let ids = PageRequestOptions(idMode: .pidPage)
        var s = WorkingSetSeries(interval: interval, pageSize: reader.header.pageSize, pages: [], accesses: [])
        let lastInterval = IdTable(expected: 1 << 14)
        while true {
            let index = reader.recordIndex, offset = reader.headerLength + index * Int64(PageTraceFormat.recordSize)
            guard let r = try reader.next() else { break }
            guard r.kind.isAccess, pid == nil || r.pid == pid else { continue }
            let bin64 = r.time / interval
            guard bin64 < UInt64(maxIntervals) else {
                throw TraceError(path: path, location: .record(index: index, offset: offset),
                                 message: "time \(r.time) ns is interval \(bin64) of \(interval) ns; at most \(maxIntervals) intervals: use a longer interval")
            }
            let bin = Int(bin64)
            if bin >= s.pages.count {
                s.pages += [Int64](repeating: 0, count: bin + 1 - s.pages.count)
                s.accesses += [Int64](repeating: 0, count: bin + 1 - s.accesses.count)
            }
            s.accesses[bin] &+= Int64(r.count)
            let id = ids.id(pid: r.pid, address: r.address, pageShift: shift)
            if lastInterval.find(id) != Int32(bin) {
                lastInterval.set(id, Int32(bin))
                s.pages[bin] += 1
            }
        }
        return s
    }
}
