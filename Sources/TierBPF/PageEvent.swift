import CTierShims
import TierCore

/// The event sources a recorder can enable, each a BPF program loaded only when chosen.
public struct PageEventSources: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// User page faults (`tp_btf/page_fault_user`).
    public static let faults = PageEventSources(rawValue: 1 << 16)
    /// Refault detection on faults: the PTE is looked up for a swap entry (needs `faults`).
    public static let refaults = PageEventSources(rawValue: 1 << 17)
    /// Pages freed by reclaim (`mm_vmscan_lru_shrink_inactive`, `mm_vmscan_reclaim_pages`).
    public static let reclaim = PageEventSources(rawValue: UInt32(TK_SOURCE_RECLAIM.rawValue))
    /// Folios written out by reclaim (`mm_vmscan_write_folio`).
    public static let writeback = PageEventSources(rawValue: UInt32(TK_SOURCE_WRITEBACK.rawValue))
    /// Page-cache insertions and deletions (`mm_filemap_add_to_page_cache`, `..._delete_from_...`).
    public static let filemap = PageEventSources(rawValue: UInt32(TK_SOURCE_FILEMAP.rawValue))
    /// LRU insertions (`mm_lru_insertion`).
    public static let lru = PageEventSources(rawValue: UInt32(TK_SOURCE_LRU.rawValue))
    /// Page migrations (`mm_migrate_pages`).
    public static let migrate = PageEventSources(rawValue: UInt32(TK_SOURCE_MIGRATE.rawValue))
    /// DAMON's aggregated regions of any running kdamond (`damon_aggregated`), read passively.
    public static let damon = PageEventSources(rawValue: UInt32(TK_SOURCE_DAMON.rawValue))

    /// Every source by its command-line name, in the order they are listed.
    public static let named: [(name: String, source: PageEventSources)] = [
        ("faults", .faults), ("refaults", .refaults), ("reclaim", .reclaim), ("writeback", .writeback),
        ("filemap", .filemap), ("lru", .lru), ("migrate", .migrate), ("damon", .damon),
    ]

    /// The sources that produce `PageEvent`s (everything but faults and refaults).
    public static let pageEventSources: PageEventSources = [.reclaim, .writeback, .filemap, .lru, .migrate, .damon]

    /// The BPF programs of each source.
    static let programs: [(source: PageEventSources, programs: [String])] = [
        (.faults, ["tk_page_fault_user"]),
        (.reclaim, ["tk_vmscan_shrink_inactive", "tk_vmscan_reclaim_pages"]),
        (.writeback, ["tk_vmscan_write_folio"]),
        (.filemap, ["tk_filemap_add", "tk_filemap_delete"]),
        (.lru, ["tk_lru_insertion"]),
        (.migrate, ["tk_migrate_pages"]),
        (.damon, ["tk_damon_aggregated"]),
    ]

    /// Parses `faults,reclaim,...`; nil names the first unknown source.
    public static func parse(_ list: String) -> (PageEventSources, unknown: String?) {
        var sources: PageEventSources = []
        for part in list.split(separator: ",") {
            let name = part.trimmingCharacters(in: " ")
            guard let entry = named.first(where: { $0.name == name }) else { return (sources, name) }
            sources.insert(entry.source)
        }
        return (sources, nil)
    }

    /// The names of the sources in this set, comma-separated (the `.tkt` header's `sources`).
    public var names: [String] { Self.named.filter { contains($0.source) }.map(\.name) }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

/// One event of a source other than faults. The meaning of `address`, `value`, `count` and
/// `aux` depends on `kind` (README, ".tkt kinds"):
///
/// | kind | address | value | count | aux |
/// | --- | --- | --- | --- | --- |
/// | reclaim | 0 | pages scanned | pages reclaimed | NUMA node |
/// | writeback | physical address | inode (file) or 0 | pages | 0 |
/// | page-cache insert/delete | file offset | inode | pages | device |
/// | LRU insert | physical address | folio flags | pages | LRU list |
/// | migrate | 0 | pages failed | pages migrated | reason |
/// | DAMON region | region start | region end | accesses | target index |
public struct PageEvent: Sendable, Equatable {
    public var kind: PageEventKind
    /// `CLOCK_MONOTONIC` nanoseconds.
    public var timeNanoseconds: UInt64
    public var address: UInt64
    public var value: UInt64
    /// The task in whose context it happened (for reclaim, possibly kswapd; for DAMON, the kdamond).
    public var pid: Int32
    public var tid: Int32
    public var count: UInt32
    public var aux: UInt32
    /// DAMON: the region's age in aggregation intervals; migrate: the migrate mode.
    public var aux2: UInt32
    public var flags: PageEventFlags

    init(_ event: tk_page_event) {
        kind = PageEventKind(rawValue: event.kind) ?? .access
        timeNanoseconds = event.time_ns
        address = event.address
        value = event.value
        pid = Int32(bitPattern: event.pid)
        tid = Int32(bitPattern: event.tid)
        count = event.count
        aux = event.aux
        aux2 = event.aux2
        flags = PageEventFlags(rawValue: event.flags)
    }

    /// The `.tkt` record: the fields that fit, as the README's kinds table says. DAMON regions
    /// keep their length in pages in `tid`.
    public func record(relativeTo start: UInt64) -> PageTraceRecord {
        let time = timeNanoseconds >= start ? timeNanoseconds - start : 0
        switch kind {
        case .damonRegion:
            return PageTraceRecord(
                time: time, address: address, pid: UInt32(bitPattern: pid),
                tid: UInt32(clamping: (value &- address) >> 12), kind: kind, flags: flags, count: count)
        default:
            return PageTraceRecord(
                time: time, address: address, pid: UInt32(bitPattern: pid), tid: UInt32(bitPattern: tid),
                kind: kind, flags: flags, count: count)
        }
    }
}

extension RecordBatch where Record == tk_page_event {
    /// The record at `position` as a `PageEvent`.
    public func event(at position: Int) -> PageEvent { PageEvent(self[position]) }
}
