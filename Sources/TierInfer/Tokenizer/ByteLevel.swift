/// GPT-2's byte-level alphabet: every byte is shown as one printable Unicode scalar, so that
/// vocabularies and merges can be stored as text. Printable Latin-1 bytes stand for themselves;
/// the others (controls, space, DEL, NBSP, soft hyphen) take U+0100 onwards, in byte order.
enum ByteLevel {
    /// The scalar standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each scalar below U+0144 stands for (-1: none).
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// UTF-8 of the scalar standing for `byte` (one or two bytes).
    static func encodedUTF8(of byte: UInt8) -> [UInt8] {
        Array(String(Character(Unicode.Scalar(scalarForByte[Int(byte)])!)).utf8)
    }
}
