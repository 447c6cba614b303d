/// A Fenwick (binary indexed) tree of `Int64` weights over positions `0..<count`:
/// point updates and prefix sums in O(log n), in one flat array.
public struct FenwickTree: Sendable {
    /// `tree[i]` (1-based) holds the sum of positions `i - lowbit(i) ..< i`.
    @usableFromInline var tree: [Int64]

    /// A tree of `count` positions, all zero.
    public init(count: Int) {
        tree = [Int64](repeating: 0, count: count + 1)
    }

    /// Builds a tree from per-position weights in O(n) (no per-element updates).
    public init<C: Collection>(weights: C) where C.Element == Int64 {
        tree = [0]
        tree.append(contentsOf: weights)
        let n = tree.count - 1
        tree.withUnsafeMutableBufferPointer { t in
            var i = 1
            while i <= n {
                let j = i + (i & -i)
                if j <= n { t[j] &+= t[i] }
                i += 1
            }
        }
    }

    /// Number of positions.
    @inlinable public var count: Int { tree.count - 1 }

    /// Adds `delta` at `position`.
    @inlinable
    public mutating func add(_ position: Int, _ delta: Int64) {
        let n = tree.count - 1
        tree.withUnsafeMutableBufferPointer { t in
            var i = position + 1
            while i <= n {
                t[i] &+= delta
                i += i & -i
            }
        }
    }

    /// Sum of positions `0...position` (0 for a negative position).
    @inlinable
    public func prefixSum(through position: Int) -> Int64 {
        tree.withUnsafeBufferPointer { t in
            var i = position + 1
            var s: Int64 = 0
            while i > 0 {
                s &+= t[i]
                i &= i - 1
            }
            return s
        }
    }
}
