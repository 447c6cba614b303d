/// A GGUF model file (versions 2 and 3), mapped into memory and fully validated on open.
///
/// Layout (little-endian): magic `GGUF`, version, tensor count, metadata count; the metadata
/// key/value pairs; the tensor infos (name, dimensions, type, offset); padding to the alignment;
/// the tensor data. Every count and length is checked against the file size before use, and every
/// tensor's bytes are checked to lie inside the file, so later reads through `GGUFTensor.data`
/// need no checks.
public final class GGUFFile: Sendable {
    /// "GGUF" read as a little-endian UInt32.
    public static let magic: UInt32 = 0x4655_4747
    /// Magic, version and the two counts.
    public static let minimumHeaderSize = 24
    /// The data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// ggml's GGML_MAX_DIMS.
    public static let maxDimensions = 4

    public let mapping: GGUFMapping
    public let version: UInt32
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    private let tensorIndex: [String: Int]
    /// Alignment of the data section and of every tensor in it.
    public let alignment: Int
    /// File offset where the data section begins.
    public let dataOffset: Int

    public var path: String { mapping.path }
    public var fileSize: Int { mapping.size }

    /// Opens and validates the GGUF file at `path`.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapping: GGUFMapping(path: path))
    }

    /// Validates an already mapped file.
    public init(mapping: GGUFMapping) throws(GGUFError) {
        self.mapping = mapping
        var c = GGUFCursor(mapping: mapping, offset: 0)

        let magic = try c.u32("the magic \"GGUF\"")
        guard magic == Self.magic else {
            let b = (0..<4).map { i in hex2(UInt8(truncatingIfNeeded: magic >> (8 * i))) }.joined(separator: " ")
            throw c.error("bad magic \(b), expected \"GGUF\" (47 47 55 46)", at: 0)
        }
        let version = try c.u32("the version")
        guard version == 2 || version == 3 else {
            throw c.error("unsupported GGUF version \(version), expected 2 or 3", at: 4)
        }
        self.version = version
        let tensorCount64 = try c.u64("the tensor count")
        let kvCount64 = try c.u64("the metadata count")
        // Smallest possible entries: a key/value is an empty key, a type and one byte; a tensor
        // info is an empty name, a dimension count, a type and an offset.
        let kvFit = c.remaining / 13
        guard kvCount64 <= UInt64(kvFit) else {
            throw c.error("metadata count \(kvCount64) too large for the file: at most \(kvFit) entries fit in the remaining \(c.remaining) bytes", at: 16)
        }
        let tensorFit = c.remaining / 24
        guard tensorCount64 <= UInt64(tensorFit) else {
            throw c.error("tensor count \(tensorCount64) too large for the file: at most \(tensorFit) tensor infos fit in the remaining \(c.remaining) bytes", at: 8)
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount64))
        metadata.reserveCapacity(Int(kvCount64))
        for i in 0..<Int(kvCount64) {
            let start = c.offset
            let key = try c.string("metadata key \(i)")
            let typeOffset = c.offset
            let rawType = try c.u32("the value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw c.error("unknown value type \(rawType) for metadata key '\(key)', expected 0...12", at: typeOffset)
            }
            let value = try c.value(type: type, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw c.error("duplicate metadata key '\(key)'", at: start)
            }
            keys.append(key)
        }
        self.metadataKeys = keys
        self.metadata = metadata

        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0 else {
                throw GGUFError(path: mapping.path, location: .key("general.alignment"),
                                message: "expected a uint32 power of two, found \(value.type) \(value.summary)")
            }
            alignment = Int(a)
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        var infoOffsets: [Int] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(Int(tensorCount64))
        infoOffsets.reserveCapacity(Int(tensorCount64))
        index.reserveCapacity(Int(tensorCount64))
        for i in 0..<Int(tensorCount64) {
            let start = c.offset
            let name = try c.string("the name of tensor \(i)")
            let dimsOffset = c.offset
            let n = try c.u32("the dimension count of tensor '\(name)'")
            guard n <= UInt32(Self.maxDimensions) else {
                throw c.error("tensor '\(name)' has \(n) dimensions, expected at most \(Self.maxDimensions)", at: dimsOffset)
            }
            var dims: [Int] = []
            dims.reserveCapacity(Int(n))
            var elements = 1
            for d in 0..<Int(n) {
                let dimOffset = c.offset
                let raw = try c.u64("dimension \(d) of tensor '\(name)'")
                guard raw <= UInt64(Int.max) else {
                    throw c.error("tensor '\(name)' dimension \(d) is \(raw), out of range", at: dimOffset)
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow else {
                    throw c.error("tensor '\(name)' has too many elements (the product of its dimensions overflows)", at: dimOffset)
                }
                elements = product
                dims.append(Int(raw))
            }
            let typeOffset = c.offset
            let rawType = try c.u32("the type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw c.error("tensor '\(name)' has unknown or unsupported type \(rawType)", at: typeOffset)
            }
            let rowLength = dims.first ?? 1
            guard rowLength % type.blockSize == 0 else {
                throw c.error("tensor '\(name)' of type \(type) has rows of \(rowLength) values, expected a multiple of the block size \(type.blockSize)", at: dimsOffset)
            }
            let (bytes, bytesOverflow) = (elements / type.blockSize).multipliedReportingOverflow(by: type.blockBytes)
            guard !bytesOverflow else {
                throw c.error("tensor '\(name)' is too large (its byte size overflows)", at: dimsOffset)
            }
            let relOffsetAt = c.offset
            let rel = try c.u64("the data offset of tensor '\(name)'")
            guard rel % UInt64(alignment) == 0 else {
                throw c.error("tensor '\(name)' data offset \(rel) is not a multiple of the alignment \(alignment)", at: relOffsetAt)
            }
            guard index.updateValue(i, forKey: name) == nil else {
                throw c.error("duplicate tensor name '\(name)'", at: start)
            }
            // The absolute offset is fixed below, once the data section's start is known.
            infos.append(GGUFTensorInfo(name: name, type: type, dimensions: dims, elementCount: elements,
                                        offset: rel <= UInt64(Int.max) ? Int(rel) : Int.max, byteCount: bytes))
            infoOffsets.append(relOffsetAt)
        }

        let end = c.offset
        let dataOffset = (end + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        // Every tensor's bytes must lie inside the file.
        for i in infos.indices {
            let info = infos[i]
            let (start, o1) = dataOffset.addingReportingOverflow(info.offset)
            let (stop, o2) = start.addingReportingOverflow(info.byteCount)
            guard !o1, !o2, stop <= mapping.size else {
                let range = o1 || o2 ? "beyond any file" : "[\(start), \(stop))"
                throw c.error("tensor out of bounds: '\(info.name)' (\(info.type), \(info.dimensions)) data \(range) exceeds the file size \(mapping.size)", at: infoOffsets[i])
            }
            infos[i] = GGUFTensorInfo(name: info.name, type: info.type, dimensions: info.dimensions,
                                      elementCount: info.elementCount, offset: start, byteCount: info.byteCount)
        }
        self.tensorInfos = infos
        self.tensorIndex = index
    }

    // MARK: Tensors

    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> GGUFTensor? {
        guard let i = tensorIndex[name] else { return nil }
        return GGUFTensor(info: tensorInfos[i], mapping: mapping)
    }

    /// The tensor called `name`; throws a located error when it is absent.
    public func requireTensor(_ name: String) throws(GGUFError) -> GGUFTensor {
        guard let t = tensor(named: name) else {
            throw GGUFError(path: path, location: .tensor(name), message: "missing")
        }
        return t
    }

    // MARK: Metadata

    /// The value stored under `key`, or nil.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    private func mismatch(_ key: String, _ value: GGUFValue, expected: String) -> GGUFError {
        GGUFError(path: path, location: .key(key), message: "expected \(expected), found \(value.type) \(value.summary)")
    }

    private func missing(_ key: String, expected: String) -> GGUFError {
        GGUFError(path: path, location: .key(key), message: "missing (expected \(expected))")
    }

    /// The string under `key`; nil when absent, an error when of another type.
    public func string(_ key: String) throws(GGUFError) -> String? {
        guard let v = metadata[key] else { return nil }
        guard case .string(let s) = v else { throw mismatch(key, v, expected: "a string") }
        return s
    }

    /// The integer under `key` (any integer type); nil when absent, an error when of another type.
    public func int(_ key: String) throws(GGUFError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else { throw mismatch(key, v, expected: "an integer") }
        return i
    }

    /// The number under `key` (float or integer types); nil when absent, an error when of another type.
    public func double(_ key: String) throws(GGUFError) -> Double? {
        guard let v = metadata[key] else { return nil }
        if let d = v.doubleValue { return d }
        if let i = v.intValue { return Double(i) }
        throw mismatch(key, v, expected: "a number")
    }

    /// The boolean under `key`; nil when absent, an error when of another type.
    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard case .bool(let b) = v else { throw mismatch(key, v, expected: "a bool") }
        return b
    }

    /// The array under `key`, optionally required to hold `elementType`; nil when absent.
    public func array(_ key: String, of elementType: GGUFValueType? = nil) throws(GGUFError) -> GGUFArray? {
        guard let v = metadata[key] else { return nil }
        guard case .array(let a) = v, elementType == nil || a.elementType == elementType else {
            throw mismatch(key, v, expected: elementType.map { "an array of \($0)" } ?? "an array")
        }
        return a
    }

    /// The string under `key`; an error when absent or of another type.
    public func requireString(_ key: String) throws(GGUFError) -> String {
        guard let s = try string(key) else { throw missing(key, expected: "a string") }
        return s
    }

    /// The integer under `key`; an error when absent or of another type.
    public func requireInt(_ key: String) throws(GGUFError) -> Int {
        guard let i = try int(key) else { throw missing(key, expected: "an integer") }
        return i
    }

    /// The number under `key`; an error when absent or of another type.
    public func requireDouble(_ key: String) throws(GGUFError) -> Double {
        guard let d = try double(key) else { throw missing(key, expected: "a number") }
        return d
    }

    /// The array under `key`; an error when absent or of another type.
    public func requireArray(_ key: String, of elementType: GGUFValueType? = nil) throws(GGUFError) -> GGUFArray {
        guard let a = try array(key, of: elementType) else {
            throw missing(key, expected: elementType.map { "an array of \($0)" } ?? "an array")
        }
        return a
    }
}

private func hex2(_ b: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
