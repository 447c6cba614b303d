import CLibBPF

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A map of a `BPFObject`. Keys and values are plain C layouts (`BitwiseCopyable`), checked
/// against the map's declared sizes on every call, so a mismatched Swift type fails with
/// `EINVAL` rather than reading past a buffer.
public struct BPFMap {
    let object: BPFObject
    let handle: OpaquePointer
    public let name: String

    init(object: BPFObject, handle: OpaquePointer, name: String) {
        self.object = object
        self.handle = handle
        self.name = name
    }

    public var keySize: Int { Int(bpf_map__key_size(handle)) }
    public var valueSize: Int { Int(bpf_map__value_size(handle)) }
    public var maxEntries: Int { Int(bpf_map__max_entries(handle)) }
    /// The kernel's file descriptor for the map (valid once loaded).
    public var fileDescriptor: Int32 { bpf_map__fd(handle) }
    /// Whether values are per CPU (one slot per possible CPU).
    public var isPerCPU: Bool {
        switch bpf_map__type(handle) {
        case BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH: true
        default: false
        }
    }

    /// Sets the capacity (for a ring buffer: its size in bytes, a power of two multiple of the
    /// page size). Only before the object is loaded.
    public func setMaxEntries(_ entries: Int) throws(BPFError) {
        guard let count = UInt32(exactly: entries), count > 0 else {
            throw BPFError("resize map \(name)", errno: EINVAL, detail: "\(entries) entries")
        }
        try BPFError.check(bpf_map__set_max_entries(handle, count), "resize map \(name)")
    }

    private func checkSizes<Key, Value>(_: Key.Type, _: Value.Type) throws(BPFError) {
        guard MemoryLayout<Key>.size == keySize, MemoryLayout<Value>.size == valueSize else {
            throw BPFError(
                "access map \(name)", errno: EINVAL,
                detail: "map has \(keySize)-byte keys and \(valueSize)-byte values; "
                    + "Swift types have \(MemoryLayout<Key>.size) and \(MemoryLayout<Value>.size)")
        }
    }

    /// The value stored under `key`, or nil when there is none.
    public func lookup<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        _ key: Key, as _: Value.Type = Value.self
    ) throws(BPFError) -> Value? {
        try checkSizes(Key.self, Value.self)
        var key = key
        let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        defer { value.deallocate() }
        let result = bpf_map__lookup_elem(handle, &key, keySize, value, valueSize, 0)
        if result == -ENOENT { return nil }
        try BPFError.check(result, "look up in map \(name)")
        return value.pointee
    }

    /// Every CPU's value stored under `key` of a per-CPU map, one per possible CPU.
    public func lookupPerCPU<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        _ key: Key, as _: Value.Type = Value.self
    ) throws(BPFError) -> [Value] {
        try checkSizes(Key.self, Value.self)
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFError("count possible CPUs", errno: -Int32(cpus)) }
        // The kernel rounds each per-CPU slot up to 8 bytes.
        let stride = (valueSize + 7) & ~7
        var key = key
        var raw = [UInt8](repeating: 0, count: stride * cpus)
        let result = raw.withUnsafeMutableBytes { bytes in
            bpf_map__lookup_elem(handle, &key, keySize, bytes.baseAddress, bytes.count, 0)
        }
        try BPFError.check(result, "look up in per-CPU map \(name)")
        return raw.withUnsafeBytes { bytes in
            (0..<cpus).map { bytes.loadUnaligned(fromByteOffset: $0 * stride, as: Value.self) }
        }
    }

    /// How an update treats an existing or missing key.
    public enum UpdateMode: UInt64, Sendable {
        /// Create or replace.
        case any = 0
        /// Create only; fails with `EEXIST` when the key exists.
        case noExist = 1
        /// Replace only; fails with `ENOENT` when the key is missing.
        case exist = 2
    }

    /// Stores `value` under `key`.
    public func update<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        _ key: Key, _ value: Value, mode: UpdateMode = .any
    ) throws(BPFError) {
        try checkSizes(Key.self, Value.self)
        var key = key
        var value = value
        try BPFError.check(
            bpf_map__update_elem(handle, &key, keySize, &value, valueSize, mode.rawValue),
            "update map \(name)")
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    public func delete<Key: BitwiseCopyable>(_ key: Key) throws(BPFError) -> Bool {
        guard MemoryLayout<Key>.size == keySize else {
            throw BPFError("delete from map \(name)", errno: EINVAL, detail: "key size \(MemoryLayout<Key>.size), map's \(keySize)")
        }
        var key = key
        let result = bpf_map__delete_elem(handle, &key, keySize, 0)
        if result == -ENOENT { return false }
        try BPFError.check(result, "delete from map \(name)")
        return true
    }

    /// Calls `body` with every key and value. Entries added or removed meanwhile (the BPF side
    /// keeps running) may or may not be visited; each present key is visited at most once per
    /// pass only when nothing is deleted during it.
    public func forEach<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        keyType _: Key.Type = Key.self, valueType _: Value.Type = Value.self,
        _ body: (Key, Value) throws -> Void
    ) throws {
        try checkSizes(Key.self, Value.self)
        let current = UnsafeMutablePointer<Key>.allocate(capacity: 1)
        let next = UnsafeMutablePointer<Key>.allocate(capacity: 1)
        let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        defer {
            current.deallocate()
            next.deallocate()
            value.deallocate()
        }
        var previous: UnsafeMutablePointer<Key>? = nil
        while true {
            let step = bpf_map__get_next_key(handle, previous, next, keySize)
            if step == -ENOENT { return }
            try BPFError.check(step, "iterate map \(name)")
            current.update(from: next, count: 1)
            previous = current
            let found = bpf_map__lookup_elem(handle, current, keySize, value, valueSize, 0)
            if found == -ENOENT { continue }  // deleted between the two calls
            try BPFError.check(found, "look up in map \(name)")
            try body(current.pointee, value.pointee)
        }
    }
}
