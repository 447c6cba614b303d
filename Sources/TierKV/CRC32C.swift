import CTierIO

/// CRC32C (Castagnoli), the checksum stored with every block on the SSD tier.
///
/// Uses the SSE4.2 `crc32` instruction when the CPU has it (about 20 GB/s here, far above the
/// device), a slicing-by-8 table otherwise.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 starts a new one).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return ctierio_crc32c(crc, base, bytes.count)
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The table-driven checksum, whatever the CPU (tests compare both paths).
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return ctierio_crc32c_portable(crc, base, bytes.count)
    }

    /// True when the hardware instruction is used.
    public static var isHardwareAccelerated: Bool { ctierio_crc32c_hardware() != 0 }
}
