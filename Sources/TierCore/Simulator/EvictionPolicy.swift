/// An object the cache gave up.
public struct Victim: Sendable, Equatable {
    public var id: UInt64
    public var size: Int64
    @inlinable public init(id: UInt64, size: Int64) {
        self.id = id
        self.size = size
    }
}

/// An eviction policy: the plug-in point of the cache simulator, the daemon and the KV tier.
///
/// The shape follows libCacheSim's `cache_t`: ``lookup(_:)`` is `find(update=true)`,
/// ``insert(_:)`` adds a missed object, ``evict(_:)`` removes one. The default
/// ``access(_:admission:)`` is libCacheSim's `cache_get_base`; a policy whose
/// libCacheSim counterpart overrides `get` overrides it too.
///
/// Policies are generic parameters of ``CacheSimulator`` (no existential call per
/// request), so implement them as structs or final classes.
public protocol EvictionPolicy: SendableMetatype {
    /// The command-line name (`lru`, `s3fifo`, ...).
    static var name: String { get }
    /// Parameter keys this policy understands, with their meaning.
    static var parameterHelp: [(key: String, help: String)] { get }

    /// Creates an empty cache of `capacity` bytes (or objects, in object mode).
    init(capacity: Int64, parameters: inout PolicyParameters) throws(PolicyError)

    /// Capacity in bytes (or objects).
    var capacity: Int64 { get }
    /// Bytes (or objects) held now.
    var occupied: Int64 { get }
    /// Objects held now.
    var objectCount: Int { get }
    /// Name with its effective parameters, e.g. `s3fifo(small=0.1,threshold=2)`.
    var label: String { get }

    /// True if the object is cached; on a hit the policy updates its state.
    mutating func lookup(_ request: Request) -> Bool
    /// Whether the policy can take this object at all (beyond admission).
    func canInsert(_ request: Request) -> Bool
    /// Adds a missed object. Called only when there is room for it.
    mutating func insert(_ request: Request)
    /// Removes exactly one cached object and returns it; `request` is the one being inserted.
    mutating func evict(_ request: Request) -> Victim
    /// Removes `id` if cached; returns whether it was.
    mutating func remove(_ id: UInt64) -> Bool

    /// One request, end to end; true on a hit. `onEvict` sees every victim.
    mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool
}

extension EvictionPolicy {
    public static var parameterHelp: [(key: String, help: String)] { [] }

    public var label: String { Self.name }

    @inlinable
    public func canInsert(_ request: Request) -> Bool { request.size <= capacity }

    /// libCacheSim's `cache_get_base`: a hit, or admit, make room and insert.
    @inlinable
    public mutating func access<A: AdmissionPolicy>(_ request: Request, admission: inout A, onEvict: (Victim) -> Void) -> Bool {
        if lookup(request) { return true }
        guard admission.admit(request), canInsert(request) else { return false }
        while occupied + request.size > capacity {
            onEvict(evict(request))
        }
        insert(request)
        return false
    }

    /// One request with no admission filter.
    @inlinable
    public mutating func access(_ request: Request) -> Bool {
        var always = AdmitAll()
        return access(request, admission: &always, onEvict: { _ in })
    }
}
