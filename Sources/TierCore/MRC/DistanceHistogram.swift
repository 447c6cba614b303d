/// A histogram of reuse distances: for each distinct distance, how many requests
/// had it and how many bytes they asked for.
///
/// Distances arrive unsorted and may all differ (byte distances), so new entries go
/// to an append buffer that is sorted and merged into the sorted, de-duplicated
/// part whenever it grows past that part's size (and at least 64 Ki entries). Memory
/// is O(distinct distances) and the merging costs O(log n) amortised per entry.
public struct DistanceHistogram<Weight: AdditiveArithmetic & Sendable>: Sendable {
    /// One distance and the weight of the requests that had it.
    public struct Entry: Sendable {
        public var distance: Int64
        public var count: Weight
        public var bytes: Weight
        @inlinable public init(distance: Int64, count: Weight, bytes: Weight) {
            self.distance = distance
            self.count = count
            self.bytes = bytes
        }
    }

    @usableFromInline var merged: [Entry] = []
    @usableFromInline var pending: [Entry] = []

    public init() {}

    /// Adds `count` requests totalling `bytes` at `distance`.
    @inlinable
    public mutating func add(distance: Int64, count: Weight, bytes: Weight) {
        pending.append(Entry(distance: distance, count: count, bytes: bytes))
        if pending.count >= Swift.max(merged.count, 1 << 16) { mergePending() }
    }

    /// The entries sorted by distance, one per distinct distance.
    @inlinable
    public mutating func sortedEntries() -> [Entry] {
        mergePending()
        return merged
    }

    @inlinable
    mutating func mergePending() {
        guard !pending.isEmpty else { return }
        pending.sort { $0.distance < $1.distance }
        var out: [Entry] = []
        out.reserveCapacity(merged.count + pending.count)
        var i = 0, j = 0
        while i < merged.count || j < pending.count {
            let e: Entry
            if j == pending.count || (i < merged.count && merged[i].distance <= pending[j].distance) {
                e = merged[i]; i += 1
            } else {
                e = pending[j]; j += 1
            }
            if let last = out.last, last.distance == e.distance {
                out[out.count - 1].count += e.count
                out[out.count - 1].bytes += e.bytes
            } else {
                out.append(e)
            }
        }
        merged = out
        pending.removeAll(keepingCapacity: true)
    }
}
