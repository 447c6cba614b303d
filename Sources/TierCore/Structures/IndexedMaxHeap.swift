/// A binary max-heap of slot handles (`Int32`, e.g. ``NodePool`` indexes) keyed by
/// a `Double`, with each handle's position tracked so its key can change.
///
/// It reproduces libCacheSim's `pqueue` step for step (1-based array, strict `<`
/// comparisons, the same sift-up/sift-down and removal rules), because policies
/// such as Belady break ties among equal keys by wherever the heap happens to
/// hold them: a different but valid heap would evict different objects.
public final class IndexedMaxHeap {
    /// Heap array, 1-based; `heap[0]` is unused.
    @usableFromInline var heap: UnsafeMutablePointer<Int32>
    @usableFromInline var heapCapacity: Int
    /// Number of used heap slots including the unused slot 0 (pqueue's `size`).
    @usableFromInline var end: Int = 1
    /// Key and heap position of each handle.
    @usableFromInline var keys: UnsafeMutablePointer<Double>
    @usableFromInline var positions: UnsafeMutablePointer<Int>
    @usableFromInline var handleCapacity: Int

    public init(capacity: Int = 1024) {
        heapCapacity = max(capacity, 16) + 1
        handleCapacity = max(capacity, 16)
        heap = .allocate(capacity: heapCapacity)
        keys = .allocate(capacity: handleCapacity)
        positions = .allocate(capacity: handleCapacity)
        keys.initialize(repeating: 0, count: handleCapacity)
        positions.initialize(repeating: 0, count: handleCapacity)
    }

    deinit {
        heap.deallocate()
        keys.deallocate()
        positions.deallocate()
    }

    /// Number of handles in the heap.
    @inlinable public var count: Int { end - 1 }
    @inlinable public var isEmpty: Bool { end == 1 }

    /// The handle with the largest key, or nil when empty.
    @inlinable public var top: Int32? { end == 1 ? nil : heap[1] }

    /// The key `handle` was last given.
    @inlinable public func key(_ handle: Int32) -> Double { keys[Int(handle)] }

    /// Adds `handle` (not already present) with `key`.
    @inlinable
    public func insert(_ handle: Int32, key: Double) {
        if Int(handle) >= handleCapacity { growHandles(Int(handle)) }
        if end >= heapCapacity { growHeap() }
        keys[Int(handle)] = key
        let i = end
        end += 1
        heap[i] = handle
        siftUp(i)
    }

    /// Removes and returns the handle with the largest key.
    @inlinable
    public func pop() -> Int32? {
        guard end > 1 else { return nil }
        let head = heap[1]
        end -= 1
        heap[1] = heap[end]
        siftDown(1)
        return head
    }

    /// Gives `handle` a new key and restores heap order.
    @inlinable
    public func update(_ handle: Int32, key: Double) {
        let old = keys[Int(handle)]
        keys[Int(handle)] = key
        let p = positions[Int(handle)]
        if old < key { siftUp(p) } else { siftDown(p) }
    }

    /// Removes `handle`, which must be in the heap.
    @inlinable
    public func remove(_ handle: Int32) {
        let p = positions[Int(handle)]
        end -= 1
        heap[p] = heap[end]
        if keys[Int(handle)] < keys[Int(heap[p])] { siftUp(p) } else { siftDown(p) }
    }

    @inlinable
    func siftUp(_ start: Int) {
        var i = start
        let moving = heap[i]
        let key = keys[Int(moving)]
        var parent = i >> 1
        while i > 1 && keys[Int(heap[parent])] < key {
            heap[i] = heap[parent]
            positions[Int(heap[i])] = i
            i = parent
            parent = i >> 1
        }
        heap[i] = moving
        positions[Int(moving)] = i
    }

    /// pqueue's `maxchild`: the larger child (left on ties), or 0 when none.
    @inlinable
    func largerChild(_ i: Int) -> Int {
        var c = i << 1
        if c >= end { return 0 }
        if c + 1 < end && keys[Int(heap[c])] < keys[Int(heap[c + 1])] { c += 1 }
        return c
    }

    @inlinable
    func siftDown(_ start: Int) {
        var i = start
        let moving = heap[i]
        let key = keys[Int(moving)]
        while true {
            let c = largerChild(i)
            if c == 0 || !(key < keys[Int(heap[c])]) { break }
            heap[i] = heap[c]
            positions[Int(heap[i])] = i
            i = c
        }
        heap[i] = moving
        positions[Int(moving)] = i
    }

    @usableFromInline
    func growHeap() {
        let n = heapCapacity * 2
        let h = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        h.initialize(from: heap, count: end)
        heap.deallocate()
        heap = h
        heapCapacity = n
    }

    @usableFromInline
    func growHandles(_ needed: Int) {
        var n = handleCapacity * 2
        while n <= needed { n *= 2 }
        let k = UnsafeMutablePointer<Double>.allocate(capacity: n)
        k.initialize(from: keys, count: handleCapacity)
        (k + handleCapacity).initialize(repeating: 0, count: n - handleCapacity)
        keys.deallocate()
        keys = k
        let p = UnsafeMutablePointer<Int>.allocate(capacity: n)
        p.initialize(from: positions, count: handleCapacity)
        (p + handleCapacity).initialize(repeating: 0, count: n - handleCapacity)
        positions.deallocate()
        positions = p
        handleCapacity = n
    }

    /// Bytes held by the heap's buffers.
    public var memoryBytes: Int {
        heapCapacity * MemoryLayout<Int32>.stride + handleCapacity * (MemoryLayout<Double>.stride + MemoryLayout<Int>.stride)
    }
}
