/// The type tag of a GGUF metadata value (`enum gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    /// Bytes per value for fixed-size types; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value of this type can take: used to bound counts read from the file
    /// before anything is allocated for them.
    var minimumSize: Int {
        switch self {
        case .string: return 8  // the length alone
        case .array: return 12  // element type and count
        default: return fixedSize!
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}

/// One metadata value. Scalars and strings are decoded; arrays stay in the mapping and are read on demand.
public enum GGUFValue: Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The value as an integer, for any integer type whose value fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as a floating-point number, for float types.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return nil
        }
    }

    /// A short rendering for listings: arrays show their type and length only.
    public var summary: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return v.count > 60 ? "\"\(v.prefix(57))...\"" : "\"\(v)\""
        case .array(let a): return "[\(a.elementType) × \(a.count)]"
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        }
    }
}

/// A metadata array, validated when the file was opened and read in place from the mapping.
public struct GGUFArray: Sendable {
    /// The type of every element.
    public let elementType: GGUFValueType
    /// Number of elements.
    public let count: Int
    /// File offset of the first element.
    public let offset: Int
    /// Bytes the elements take in the file.
    public let byteCount: Int
    let mapping: GGUFMapping

    /// The raw element bytes (little-endian values, or length-prefixed strings).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping.base + offset, count: byteCount)
    }

    /// Calls `body` with the UTF-8 bytes of each string, in order, without copying them.
    /// Does nothing unless the elements are strings.
    public func forEachStringBytes<E: Error>(_ body: (Int, UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        guard elementType == .string else { return }
        var p = offset
        for i in 0..<count {
            // Lengths were checked against the array's extent when the file was opened.
            let n = Int(UInt64(littleEndian: mapping.base.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
            try body(i, UnsafeRawBufferPointer(start: mapping.base + p + 8, count: n))
            p += 8 + n
        }
    }

    /// The elements as strings (invalid UTF-8 is repaired with U+FFFD); nil unless they are strings.
    public func strings() -> [String]? {
        guard elementType == .string else { return nil }
        var out: [String] = []
        out.reserveCapacity(count)
        forEachStringBytes { (_, b) in out.append(String(decoding: b, as: UTF8.self)) }
        return out
    }

    /// The elements as integers; nil unless they are of an integer type and every value fits in `Int`.
    public func integers() -> [Int]? {
        guard let size = elementType.fixedSize, elementType != .float32, elementType != .float64, elementType != .bool else { return nil }
        var out: [Int] = []
        out.reserveCapacity(count)
        let base = mapping.base + offset
        for i in 0..<count {
            let o = i * size
            let v: Int?
            switch elementType {
            case .uint8: v = Int(base.load(fromByteOffset: o, as: UInt8.self))
            case .int8: v = Int(base.load(fromByteOffset: o, as: Int8.self))
            case .uint16: v = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            case .int16: v = Int(Int16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case .uint32: v = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            case .int32: v = Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            case .uint64: v = Int(exactly: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
            case .int64: v = Int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: Int64.self)))
            default: v = nil
            }
            guard let v else { return nil }
            out.append(v)
        }
        return out
    }

    /// The elements as floating-point numbers; nil unless they are float32 or float64.
    public func doubles() -> [Double]? {
        guard elementType == .float32 || elementType == .float64 else { return nil }
        let base = mapping.base + offset
        return (0..<count).map { i in
            elementType == .float32
                ? Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                : Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
        }
    }

    /// Every element decoded as a value (nested arrays included). Allocates one value per element:
    /// for inspection, not for large arrays on a hot path.
    public func elements() -> [GGUFValue] {
        var cursor = GGUFCursor(mapping: mapping, offset: offset)
        var out: [GGUFValue] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            // The array was fully validated on open, so decoding it again cannot fail.
            guard let v = try? cursor.value(type: elementType, depth: 1) else { break }
            out.append(v)
        }
        return out
    }
}
