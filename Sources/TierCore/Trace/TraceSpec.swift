/// The trace formats TierKit reads.
public enum TraceFormat: String, Sendable, CaseIterable {
    /// libCacheSim's oracleGeneral binary.
    case oracleGeneral = "oracleGeneral"
    /// Comma-separated values with named or numbered columns.
    case csv
    /// Plain text, one object id per line.
    case text = "txt"
}

/// Something that consumes a request stream of any concrete source type.
/// ``TraceSpec/visit(_:)`` opens the trace and calls `visit` with the concrete
/// reader, so the visitor's loop is specialised per format.
public protocol RequestSourceVisitor {
    associatedtype Output
    mutating func visit<S: RequestSource>(_ source: inout S) throws(TraceError) -> Output
}

/// A trace file, its format and how to read it.
public struct TraceSpec: Sendable {
    public var path: String
    public var format: TraceFormat
    /// Every size reads as 1 (libCacheSim's `ignore_obj_size`).
    public var objectMode: Bool

    public init(path: String, format: TraceFormat, objectMode: Bool = false) {
        self.path = path
        self.format = format
        self.objectMode = objectMode
    }

    /// Opens the trace and hands the concrete reader to `visitor`.
    @inlinable
    public func visit<V: RequestSourceVisitor>(_ visitor: inout V) throws(TraceError) -> V.Output {
        switch format {
        case .oracleGeneral:
            var source = try OracleGeneralReader(path: path, objectMode: objectMode)
            return try visitor.visit(&source)
        case .csv, .text:
            throw TraceError(path: path, location: .file, message: "\(format.rawValue) traces are not readable yet")
        }
    }
}
