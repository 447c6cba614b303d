/// A located error in a GGUF file: which file, where in it, and what was expected.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where in the file the problem is.
    public enum Location: Sendable, Equatable {
        /// A byte offset in the file.
        case offset(Int)
        /// A metadata key (missing, or of the wrong type).
        case key(String)
        /// A tensor, by name.
        case tensor(String)
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
        case .offset(let offset):
            return "\(path): byte offset \(offset): \(message)"
        case .key(let key):
            return "\(path): metadata key '\(key)': \(message)"
        case .tensor(let name):
            return "\(path): tensor '\(name)': \(message)"
        case .file:
            return "\(path): \(message)"
        }
    }
}
