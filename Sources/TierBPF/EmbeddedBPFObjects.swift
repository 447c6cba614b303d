/// The BPF objects compiled from `bpf/*.bpf.c` at build time (by `BPFCompilerPlugin`), as
/// base64 strings: `pageFaults` for `page_faults.bpf.c`, `probes` for `probes.bpf.c`.
enum EmbeddedBPFObjects {
    /// Decodes an embedded object into the bytes libbpf opens.
    static func bytes(_ encoded: StaticString) -> [UInt8] {
        encoded.withUTF8Buffer { Base64.decode($0) } ?? []
    }
}

/// The standard base64 alphabet, decoded without Foundation (the objects are embedded as text).
enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// The decoded bytes, or nil when the text is not padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            var quad: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = text[index + offset]
                if byte == UInt8(ascii: "=") {
                    guard index + 4 == text.count, offset >= 2 else { return nil }
                    padding += 1
                    quad <<= 6
                    continue
                }
                guard padding == 0 else { return nil }
                let value = table[Int(byte)]
                guard value != 0xff else { return nil }
                quad = quad << 6 | UInt32(value)
            }
            output.append(UInt8(truncatingIfNeeded: quad >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: quad >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: quad)) }
            index += 4
        }
        return output
    }
}
