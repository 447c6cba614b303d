/// A node that can sit on one intrusive doubly linked list of a ``NodePool``.
public protocol ListNode {
    /// Index of the previous node (towards the head), or -1.
    var prev: Int32 { get set }
    /// Index of the next node (towards the tail), or -1.
    var next: Int32 { get set }
}

/// Head, tail and totals of one intrusive list in a ``NodePool``.
/// The head is the most recently inserted end (libCacheSim's `q_head`).
public struct ListHead: Sendable {
    public var head: Int32 = -1
    public var tail: Int32 = -1
    public var count: Int = 0
    public var bytes: Int64 = 0
    public init() {}
    @inlinable public var isEmpty: Bool { head < 0 }
}

/// A slab of nodes addressed by 32-bit indexes, with a free list and intrusive
/// list operations. Policies keep their per-object state here instead of in
/// class instances: no reference counting and no allocation per request.
public final class NodePool<Node: ListNode> {
    @usableFromInline var storage: UnsafeMutablePointer<Node>
    @usableFromInline var capacity: Int
    @usableFromInline var used: Int = 0
    @usableFromInline var freeHead: Int32 = -1
    /// Live nodes.
    public var live: Int { _live }
    @usableFromInline var _live: Int = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deinitialize(count: used)
        storage.deallocate()
    }

    /// Access to node `i` in place.
    @inlinable @inline(__always)
    public subscript(_ i: Int32) -> Node {
        _read { yield storage[Int(i)] }
        _modify { yield &storage[Int(i)] }
    }

    /// Stores `node` in a free slot and returns its index.
    @inlinable
    public func allocate(_ node: Node) -> Int32 {
        _live += 1
        if freeHead >= 0 {
            let i = freeHead
            freeHead = storage[Int(i)].next
            storage[Int(i)] = node
            return i
        }
        if used == capacity { grow() }
        (storage + used).initialize(to: node)
        used += 1
        return Int32(used - 1)
    }

    /// Returns slot `i` to the free list. The node must not be on any list.
    @inlinable
    public func free(_ i: Int32) {
        _live -= 1
        storage[Int(i)].next = freeHead
        freeHead = i
    }

    @usableFromInline
    func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<Node>.allocate(capacity: newCapacity)
        newStorage.moveInitialize(from: storage, count: used)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    /// Bytes held by the slab.
    public var memoryBytes: Int { capacity * MemoryLayout<Node>.stride }

    // MARK: Intrusive lists

    /// Inserts `i` at the head of `list`.
    @inlinable @inline(__always)
    public func pushHead(_ i: Int32, _ list: inout ListHead, size: Int64) {
        storage[Int(i)].prev = -1
        storage[Int(i)].next = list.head
        if list.head >= 0 { storage[Int(list.head)].prev = i } else { list.tail = i }
        list.head = i
        list.count += 1
        list.bytes += size
    }

    /// Inserts `i` at the tail of `list`.
    @inlinable @inline(__always)
    public func pushTail(_ i: Int32, _ list: inout ListHead, size: Int64) {
        storage[Int(i)].next = -1
        storage[Int(i)].prev = list.tail
        if list.tail >= 0 { storage[Int(list.tail)].next = i } else { list.head = i }
        list.tail = i
        list.count += 1
        list.bytes += size
    }

    /// Unlinks `i` from `list`.
    @inlinable @inline(__always)
    public func unlink(_ i: Int32, _ list: inout ListHead, size: Int64) {
        let p = storage[Int(i)].prev, n = storage[Int(i)].next
        if p >= 0 { storage[Int(p)].next = n } else { list.head = n }
        if n >= 0 { storage[Int(n)].prev = p } else { list.tail = p }
        storage[Int(i)].prev = -1
        storage[Int(i)].next = -1
        list.count -= 1
        list.bytes -= size
    }

    /// Moves `i`, already on `list`, to its head.
    @inlinable @inline(__always)
    public func moveToHead(_ i: Int32, _ list: inout ListHead) {
        guard list.head != i else { return }
        let p = storage[Int(i)].prev, n = storage[Int(i)].next
        storage[Int(p)].next = n
        if n >= 0 { storage[Int(n)].prev = p } else { list.tail = p }
        storage[Int(i)].prev = -1
        storage[Int(i)].next = list.head
        storage[Int(list.head)].prev = i
        list.head = i
    }
}

/// The plainest list node: an object id and its size.
public struct ObjectNode: ListNode, Sendable {
    public var prev: Int32 = -1
    public var next: Int32 = -1
    public var id: UInt64
    public var size: Int64
    @inlinable public init(id: UInt64, size: Int64) {
        self.id = id
        self.size = size
    }
}
