/// Where a tensor is in a GGUF file and how it is laid out.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// Extents in ggml order: `dimensions[0]` is the contiguous one (the length of a row).
    public let dimensions: [Int]
    /// Product of the dimensions.
    public let elementCount: Int
    /// Absolute file offset of the first byte of data.
    public let offset: Int
    /// Bytes of data.
    public let byteCount: Int

    /// Values per row (the first dimension).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Number of rows: the product of every dimension but the first.
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
    /// Bytes per row.
    public var rowByteCount: Int { rowLength / type.blockSize * type.blockBytes }
}

/// A tensor of an open GGUF file: its layout and its bytes in the mapping.
///
/// The tensor keeps the mapping alive, so `data` stays valid for as long as this value exists.
public struct GGUFTensor: Sendable {
    public let info: GGUFTensorInfo
    public let mapping: GGUFMapping

    public var name: String { info.name }
    public var type: GGMLType { info.type }
    public var dimensions: [Int] { info.dimensions }
    public var elementCount: Int { info.elementCount }
    public var byteCount: Int { info.byteCount }

    /// First byte of the tensor's data (read-only, in the mapping).
    public var data: UnsafeRawPointer { mapping.base + info.offset }
    /// The tensor's data as a buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: info.byteCount) }
}
