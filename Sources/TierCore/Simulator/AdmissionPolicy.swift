/// An admission policy: decides whether a missed object enters the cache.
public protocol AdmissionPolicy: SendableMetatype {
    /// The command-line name (`always`, `prob`, `size`, `secondhit`).
    static var name: String { get }
    init(parameters: inout PolicyParameters) throws(PolicyError)
    /// Name with its effective parameters.
    var label: String { get }
    /// Called for each miss that could be inserted; true admits it.
    mutating func admit(_ request: Request) -> Bool
}

extension AdmissionPolicy {
    public var label: String { Self.name }
}
