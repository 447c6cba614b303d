/// Storage formats of weight tensors, numbered as in GGML/GGUF.
public enum WeightType: UInt32, Sendable {
    case f32 = 0
    case f16 = 1
    case q4_1 = 3
    case q8_0 = 8

    /// Bytes of one block of 32 values in the file (4 for f32, 2 for f16: per value).
    var fileBlockBytes: Int {
        switch self {
        case .f32: return 128
        case .f16: return 64
        case .q4_1: return 20
        case .q8_0: return 34
        }
    }
}

/// One tensor as stored in a model file: its type, its GGUF dimensions (`shape[0]` is the
/// contiguous one) and its raw bytes, which need to stay valid only while the model loads.
public struct WeightTensor {
    public var name: String
    public var type: WeightType
    public var shape: [Int]
    public var data: UnsafeRawPointer

    public init(name: String, type: WeightType, shape: [Int], data: UnsafeRawPointer) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
    }

    /// Number of values.
    public var count: Int { shape.reduce(1, *) }
}

/// A 64-byte aligned allocation released with its owner.
final class AlignedBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int, alignment: Int = 64) {
        self.byteCount = max(byteCount, 64)
        base = .allocate(byteCount: self.byteCount, alignment: alignment)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: self.byteCount)
    }

    deinit { base.deallocate() }
}

/// A weight matrix of `rows` × `cols` in a 32-value block format, repacked so that the quant
/// bytes of consecutive blocks are contiguous (16 bytes per Q4_1 block, 32 per Q8_0 block) and
/// the scales (and Q4_1 minimums) sit in arrays of their own.
///
/// Within a Q4_1 block, byte `j` holds value `j` in its low nibble and value `j + 16` in its high
/// nibble, as in GGML.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: WeightType
    public let rows: Int
    public let cols: Int
    let blocksPerRow: Int
    let quants: UnsafeRawPointer
    let scales: UnsafePointer<Float16>
    let mins: UnsafePointer<Float16>
    private let owner: AlignedBuffer

    /// Bytes of quants per block.
    var quantBytes: Int { type == .q4_1 ? 16 : 32 }

    /// Repacks `parts` (each `[cols, rows_i]` in GGUF order, all of one type) stacked by rows.
    public init(stacking parts: [WeightTensor]) throws(InferError) {
        guard let first = parts.first else { throw .shape(tensor: "", expected: "at least one tensor", found: []) }
        let type = first.type
        guard type == .q4_1 || type == .q8_0 else {
            throw .unsupportedType(tensor: first.name, type: type.rawValue, expected: "Q4_1 or Q8_0")
        }
        let cols = first.shape[0]
        // The Q4_1 kernel takes blocks two at a time.
        let multiple = type == .q4_1 ? 64 : 32
        guard cols % multiple == 0 else {
            throw .shape(tensor: first.name, expected: "columns a multiple of \(multiple)", found: first.shape)
        }
        var rows = 0
        for part in parts {
            guard part.type == type else {
                throw .unsupportedType(tensor: part.name, type: part.type.rawValue, expected: "the type of \(first.name)")
            }
            guard part.shape.count == 2, part.shape[0] == cols else {
                throw .shape(tensor: part.name, expected: "[\(cols), rows]", found: part.shape)
            }
            rows += part.shape[1]
        }
        self.type = type
        self.rows = rows
        self.cols = cols
        blocksPerRow = cols / 32
        let blocks = rows * blocksPerRow
        let quantBytes = type == .q4_1 ? 16 : 32
        let quantsSize = (blocks * quantBytes + 63) & ~63
        let scalesSize = (blocks * 2 + 63) & ~63
        owner = AlignedBuffer(byteCount: quantsSize + 2 * scalesSize)
        let q = owner.base
        let d = (owner.base + quantsSize).bindMemory(to: Float16.self, capacity: blocks)
        let m = (owner.base + quantsSize + scalesSize).bindMemory(to: Float16.self, capacity: blocks)
        var block = 0
        for part in parts {
            let src = part.data
            let count = part.shape[1] * blocksPerRow
            for i in 0..<count {
                let b = src + i * type.fileBlockBytes
                d[block] = b.loadUnaligned(as: Float16.self)
                if type == .q4_1 {
                    m[block] = b.loadUnaligned(fromByteOffset: 2, as: Float16.self)
                    (q + block * 16).copyMemory(from: b + 4, byteCount: 16)
                } else {
                    (q + block * 32).copyMemory(from: b + 2, byteCount: 32)
                }
                block += 1
            }
        }
        quants = UnsafeRawPointer(q)
        scales = UnsafePointer(d)
        mins = UnsafePointer(m)
    }

    /// Writes row `row` as f32 values into `out` (`cols` values).
    public func dequantizeRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocksPerRow {
            let block = row * blocksPerRow + b
            let d = Float(scales[block])
            let o = out + b * 32
            if type == .q4_1 {
                let m = Float(mins[block])
                let q = quants + block * 16
                for j in 0..<16 {
                    let byte = q.load(fromByteOffset: j, as: UInt8.self)
                    o[j] = Float(byte & 15) * d + m
                    o[j + 16] = Float(byte >> 4) * d + m
                }
            } else {
                let q = (quants + block * 32).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { o[j] = Float(q[j]) * d }
            }
        }
    }
}

/// Converts an F32 or F16 tensor to an owned f32 vector.
func floatVector(_ tensor: WeightTensor, count: Int) throws(InferError) -> [Float] {
    guard tensor.count == count else {
        throw .shape(tensor: tensor.name, expected: "\(count) values", found: tensor.shape)
    }
    switch tensor.type {
    case .f32:
        return Array(UnsafeBufferPointer(start: tensor.data.assumingMemoryBound(to: Float.self), count: count))
    case .f16:
        let h = tensor.data.assumingMemoryBound(to: Float16.self)
        return (0..<count).map { Float(h[$0]) }
    default:
        throw .unsupportedType(tensor: tensor.name, type: tensor.type.rawValue, expected: "F32 or F16")
    }
}
