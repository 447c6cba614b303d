/// Reads little-endian GGUF fields from a mapping, checking every length against the file's end
/// before it is used, so corrupt counts produce a located error instead of a crash or a huge allocation.
struct GGUFCursor {
    /// Nested arrays deeper than this are refused: each level costs only 12 bytes in the file,
    /// so without a limit a small file could exhaust the stack.
    static let maxArrayDepth = 8

    let mapping: GGUFMapping
    var offset: Int

    init(mapping: GGUFMapping, offset: Int) {
        self.mapping = mapping
        self.offset = offset
    }

    var remaining: Int { mapping.size - offset }

    func error(_ message: String, at offset: Int) -> GGUFError {
        GGUFError(path: mapping.path, location: .offset(offset), message: message)
    }

    @inline(__always)
    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        if count > remaining {
            throw error("truncated: expected \(what()) (\(count) bytes), but the file ends at byte \(mapping.size)", at: offset)
        }
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt32 {
        try need(4, what())
        let v = UInt32(littleEndian: mapping.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        return v
    }

    mutating func u64(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt64 {
        try need(8, what())
        let v = UInt64(littleEndian: mapping.base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return v
    }

    /// Reads a length-prefixed string and gives the byte range of its contents.
    mutating func stringRange(_ what: @autoclosure () -> String) throws(GGUFError) -> Range<Int> {
        let start = offset
        let length = try u64("the length of \(what())")
        guard length <= UInt64(remaining) else {
            throw error("truncated string: \(what()) declares \(length) bytes, but only \(remaining) remain in the file", at: start)
        }
        let range = offset..<(offset + Int(length))
        offset += Int(length)
        return range
    }

    mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let range = try stringRange(what())
        return String(decoding: UnsafeRawBufferPointer(start: mapping.base + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// Reads one value of `type`; arrays are validated throughout but left in place.
    mutating func value(type: GGUFValueType, depth: Int) throws(GGUFError) -> GGUFValue {
        let base = mapping.base
        if let size = type.fixedSize {
            try need(size, "a \(type) value")
            defer { offset += size }
            switch type {
            case .uint8: return .uint8(base.load(fromByteOffset: offset, as: UInt8.self))
            case .int8: return .int8(base.load(fromByteOffset: offset, as: Int8.self))
            case .bool: return .bool(base.load(fromByteOffset: offset, as: UInt8.self) != 0)
            case .uint16: return .uint16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            case .int16: return .int16(Int16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
            case .uint32: return .uint32(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            case .int32: return .int32(Int32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
            case .float32: return .float32(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
            case .uint64: return .uint64(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            case .int64: return .int64(Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
            case .float64: return .float64(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
            case .string, .array: break
            }
        }
        if type == .string {
            return .string(try string("a string value"))
        }
        return .array(try array(depth: depth))
    }

    private mutating func array(depth: Int) throws(GGUFError) -> GGUFArray {
        let start = offset
        let rawType = try u32("an array element type")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw error("unknown array element type \(rawType), expected 0...12", at: start)
        }
        if elementType == .array && depth + 1 >= Self.maxArrayDepth {
            throw error("arrays nested more than \(Self.maxArrayDepth) deep", at: start)
        }
        let countOffset = offset
        let declared = try u64("an array length")
        // Bound the count by what the rest of the file could hold before trusting it.
        let fit = remaining / elementType.minimumSize
        guard declared <= UInt64(fit) else {
            throw error("array count \(declared) too large for the file: at most \(fit) \(elementType) elements fit in the remaining \(remaining) bytes", at: countOffset)
        }
        let count = Int(declared)
        let first = offset
        if let size = elementType.fixedSize {
            offset += count * size
        } else if elementType == .string {
            for i in 0..<count {
                let elementStart = offset
                guard remaining >= 8 else {
                    throw error("truncated: string \(i) of \(count) in the array has no length, the file ends at byte \(mapping.size)", at: elementStart)
                }
                let length = UInt64(littleEndian: mapping.base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                guard length <= UInt64(remaining - 8) else {
                    throw error("truncated string: string \(i) of \(count) in the array declares \(length) bytes, but only \(remaining - 8) remain in the file", at: elementStart)
                }
                offset += 8 + Int(length)
            }
        } else {
            for _ in 0..<count {
                _ = try array(depth: depth + 1)
            }
        }
        return GGUFArray(elementType: elementType, count: count, offset: first, byteCount: offset - first, mapping: mapping)
    }
}
