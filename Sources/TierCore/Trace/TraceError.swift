/// A located error in trace input: which file, where in it, and what was expected.
public struct TraceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where in the file the problem is.
    public enum Location: Sendable, Equatable {
        /// A binary record (0-based) and its byte offset.
        case record(index: Int64, offset: Int64)
        /// A byte offset in a binary file's header.
        case header(offset: Int64)
        /// A text line (1-based).
        case line(Int64)
        /// The file as a whole.
        case file
    }

    public var path: String
    public var location: Location
    public var message: String

    public init(path: String, location: Location, message: String) {
        self.path = path
        self.location = location
        self.message = message
    }

    public var description: String {
        switch location {
        case .record(let index, let offset):
            return "\(path): record \(index) (byte offset \(offset)): \(message)"
        case .header(let offset):
            return "\(path): header byte offset \(offset): \(message)"
        case .line(let line):
            return "\(path):\(line): \(message)"
        case .file:
            return "\(path): \(message)"
        }
    }
}
