import Foundation
import Testing
import TierCore
import TierInfer

struct GGUFTests {
    // MARK: a hand-made file

    @Test("a small hand-written file: every value type, string and nested arrays, two tensors")
    func tinyFile() throws {
        let tmp = Scratch()
        let b = GGUFBuilder.tiny()
        let f = try GGUFFile(path: tmp.write("tiny.gguf", bytes: b.bytes))
        #expect(f.version == 3)
        #expect(f.metadataKeys == ["general.architecture", "test.values", "test.names", "test.nested", "test.flag", "test.f"])
        #expect(try f.requireString("general.architecture") == "llama")
        #expect(try f.requireArray("test.values", of: .uint16).integers() == [1, 2, 3])
        #expect(try f.requireArray("test.names", of: .string).strings() == ["a", "bc"])
        let nested = try f.requireArray("test.nested", of: .array).elements()
        #expect(nested.count == 2)
        if case .array(let inner) = nested[1] { #expect(inner.integers() == [-3]) } else { Issue.record("not an array") }
        if case .array(let inner) = nested[0] { #expect(inner.integers() == [1, 2]) } else { Issue.record("not an array") }
        #expect(try f.bool("test.flag") == true)
        #expect(try f.requireDouble("test.f") == 2.5)
        #expect(try f.int("absent") == nil)
        #expect(f.alignment == 32)
        #expect(f.dataOffset == b.marks["data"]!)
        #expect(f.dataOffset % 32 == 0)

        let a = try f.requireTensor("a")
        #expect(a.type == .f32 && a.dimensions == [4] && a.byteCount == 16 && a.info.offset == f.dataOffset)
        #expect((0..<4).map { a.data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } == [1, 2, 3, 4])
        let t = try f.requireTensor("b")
        #expect(t.type == .q8_0 && t.dimensions == [32, 2] && t.elementCount == 64 && t.byteCount == 68)
        #expect(t.info.rowCount == 2 && t.info.rowByteCount == 34)
        #expect(t.info.offset == f.dataOffset + 32)
        #expect(Array(t.bytes) == (0..<68).map { UInt8($0) })
        #expect(f.tensor(named: "c") == nil)

        // Typed accessors name the key and what they found.
        #expect(ggufErrorText { _ = try f.requireInt("general.architecture") }?.hasSuffix("metadata key 'general.architecture': expected an integer, found string \"llama\"") == true)
        #expect(ggufErrorText { _ = try f.requireString("general.name") }?.hasSuffix("metadata key 'general.name': missing (expected a string)") == true)
        #expect(ggufErrorText { _ = try f.requireArray("test.names", of: .int32) }?.contains("expected an array of int32, found array [string × 2]") == true)
        #expect(ggufErrorText { _ = try f.requireTensor("output.weight") }?.hasSuffix("tensor 'output.weight': missing") == true)
    }

    @Test("malformed files give a GGUFError naming the file, the byte offset and what was expected")
    func malformed() throws {
        let tmp = Scratch()
        let base = GGUFBuilder.tiny()
        let m = base.marks
        var cases: [(String, (inout GGUFBuilder) -> Void, String)] = [
            ("magic", { $0.bytes[0] = 0x47; $0.bytes[1] = 0x47; $0.bytes[2] = 0x4D; $0.bytes[3] = 0x4C },
             "byte offset 0: bad magic 47 47 4d 4c, expected \"GGUF\" (47 47 55 46)"),
            ("version", { $0.put32(4, at: 4) }, "byte offset 4: unsupported GGUF version 4, expected 2 or 3"),
            ("string", { $0.put64(1000, at: m["key0"]!) },
             "byte offset \(m["key0"]!): truncated string: metadata key 0 declares 1000 bytes, but only \(base.bytes.count - m["key0"]! - 8) remain in the file"),
            ("tensors", { $0.put64(1 << 40, at: m["tensorCount"]!) }, "byte offset 8: tensor count 1099511627776 too large for the file"),
            ("kvs", { $0.put64(.max, at: m["kvCount"]!) }, "byte offset 16: metadata count 18446744073709551615 too large for the file"),
            ("array", { $0.put64(1 << 50, at: m["valuesCount"]!) }, "byte offset \(m["valuesCount"]!): array count 1125899906842624 too large for the file"),
            ("element", { $0.put64(1 << 20, at: m["namesSecond"]!) }, "byte offset \(m["namesSecond"]!): truncated string: string 1 of 2 in the array declares 1048576 bytes"),
            ("valueType", { $0.put32(99, at: m["flagType"]!) }, "byte offset \(m["flagType"]!): unknown value type 99 for metadata key 'test.flag', expected 0...12"),
            ("tensorType", { $0.put32(16, at: m["tensor0Type"]!) }, "byte offset \(m["tensor0Type"]!): tensor 'a' has unknown or unsupported type 16"),
            ("blockSize", { $0.put32(8, at: m["tensor0Type"]!) }, "tensor 'a' of type Q8_0 has rows of 4 values, expected a multiple of the block size 32"),
            ("bounds", { $0.put64(4096, at: m["tensor0Offset"]!) },
             "byte offset \(m["tensor0Offset"]!): tensor out of bounds: 'a' (F32, [4]) data [\(m["data"]! + 4096), \(m["data"]! + 4112)) exceeds the file size \(base.bytes.count)"),
            ("misaligned", { $0.put64(4, at: m["tensor0Offset"]!) }, "tensor 'a' data offset 4 is not a multiple of the alignment 32"),
            ("dims", { $0.put32(5, at: m["tensor1Dims"]!) }, "byte offset \(m["tensor1Dims"]!): tensor 'b' has 5 dimensions, expected at most 4"),
            ("short", { $0.bytes.removeLast(10) }, "tensor out of bounds: 'b' (Q8_0, [32, 2])"),
            ("header", { $0.bytes.removeLast($0.bytes.count - 10) }, "byte offset 0: file is 10 bytes, expected at least 24 (the GGUF header)"),
        ]
        // Cut inside the tensor infos: the name of the second tensor is incomplete.
        cases.append(("cut", { $0.bytes.removeLast($0.bytes.count - m["tensor1"]! - 8) },
                      "byte offset \(m["tensor1"]!): truncated string: the name of tensor 1 declares 1 bytes, but only 0 remain in the file"))
        for (name, mutate, expected) in cases {
            var b = base
            mutate(&b)
            let path = tmp.write("\(name).gguf", bytes: b.bytes)
            let text = ggufErrorText { _ = try GGUFFile(path: path) }
            #expect(text?.hasPrefix(path + ": ") == true, "\(name): \(text ?? "opened")")
            #expect(text?.contains(expected) == true, "\(name): \(text ?? "opened")")
        }
        let missing = tmp.path("absent.gguf")
        #expect(ggufErrorText { _ = try GGUFFile(path: missing) } == "\(missing): cannot open: No such file or directory")
        #expect(ggufErrorText { _ = try GGUFFile(path: tmp.dir) } == "\(tmp.dir): not a regular file")
    }

    // MARK: the real model

    @Test("SmolLM2-135M-Instruct Q4_1: metadata, 272 tensors, types, data offsets and a checksum")
    func realModel() throws {
        guard let f = try ModelFixture.file() else { return ModelFixture.skip("GGUF real model") }
        #expect(f.version == 3)
        #expect(f.fileSize == 98_362_432)
        #expect(f.metadataKeys.count == 33)
        #expect(f.tensorInfos.count == 272)
        #expect(f.alignment == 32)
        #expect(f.dataOffset == 1_785_664)
        #expect(try f.requireString("general.architecture") == "llama")
        #expect(try f.requireInt("llama.block_count") == 30)
        #expect(try f.requireInt("llama.embedding_length") == 576)
        #expect(try f.requireInt("llama.feed_forward_length") == 1536)
        #expect(try f.requireInt("llama.attention.head_count") == 9)
        #expect(try f.requireInt("llama.attention.head_count_kv") == 3)
        #expect(try f.requireInt("llama.context_length") == 8192)
        #expect(try f.requireInt("llama.rope.dimension_count") == 64)
        #expect(try f.requireDouble("llama.rope.freq_base") == 100_000)
        #expect(try f.requireDouble("llama.attention.layer_norm_rms_epsilon") == Double(Float(1e-5)))
        #expect(try f.requireInt("llama.vocab_size") == 49152)
        #expect(try f.requireString("tokenizer.ggml.model") == "gpt2")
        #expect(try f.requireString("tokenizer.ggml.pre") == "smollm")
        #expect(try f.bool("tokenizer.ggml.add_bos_token") == false)
        #expect(try f.requireInt("tokenizer.ggml.bos_token_id") == 1)
        #expect(try f.requireInt("tokenizer.ggml.eos_token_id") == 2)
        let tokens = try f.requireArray("tokenizer.ggml.tokens", of: .string)
        #expect(tokens.count == 49152)
        let merges = try f.requireArray("tokenizer.ggml.merges", of: .string)
        #expect(merges.count == 48900)
        #expect(Array(merges.strings()!.prefix(3)) == ["Ġ t", "Ġ a", "i n"])
        #expect(try f.requireArray("tokenizer.ggml.token_type", of: .int32).count == 49152)
        #expect(try f.requireArray("general.languages", of: .string).strings() == ["en"])

        var byType: [GGMLType: Int] = [:]
        for t in f.tensorInfos { byType[t.type, default: 0] += 1 }
        #expect(byType == [.q4_1: 210, .f32: 61, .q8_0: 1])
        let embd = try f.requireTensor("token_embd.weight")
        #expect(embd.type == .q8_0 && embd.dimensions == [576, 49152])
        #expect(embd.byteCount == 576 / 32 * 34 * 49152)
        #expect(embd.info.offset == f.dataOffset)
        #expect(f.tensor(named: "output.weight") == nil)
        let q = try f.requireTensor("blk.0.attn_q.weight")
        #expect(q.type == .q4_1 && q.dimensions == [576, 576] && q.byteCount == 207_360)
        #expect(fnv1a64(q.bytes) == 0xaadb_c77c_88f4_1a2d)
        let norm = try f.requireTensor("output_norm.weight")
        #expect(norm.type == .f32 && norm.dimensions == [576])
        #expect(fnv1a64(norm.bytes) == 0xea81_4bed_6299_e304)
        #expect(norm.info.offset + norm.byteCount == f.fileSize)
        let params = f.tensorInfos.reduce(0) { $0 + $1.elementCount }
        #expect(params == 134_515_008)
    }

    // MARK: fuzz

    @Test("truncated and byte-flipped headers of the real model throw a GGUFError or open, never crash")
    func fuzzHeader() throws {
        guard let path = ModelFixture.path, let model = try ModelFixture.file() else { return ModelFixture.skip("GGUF fuzz") }
        let tmp = Scratch()
        // The header (metadata and tensor infos) is the first 1.8 MB; the copy keeps the first
        // 2 MB and is extended sparsely to the full size, so unmutated tensor data is in bounds.
        let keep = 2 << 20
        guard let handle = FileHandle(forReadingAtPath: path), let prefix = try handle.read(upToCount: keep) else {
            Issue.record("cannot read \(path)"); return
        }
        try handle.close()
        let base = [UInt8](prefix)
        let headerEnd = model.dataOffset
        var rng = Xoshiro256StarStar(seed: 135)
        let cases = ProcessInfo.processInfo.environment["TIERKIT_FUZZ_CASES"].flatMap { Int($0) } ?? 160
        var opened = 0, refused = 0
        let copy = tmp.path("copy.gguf")
        for i in 0..<cases {
            var bytes = base
            var fullSize = model.fileSize
            switch i % 4 {
            case 0: // truncate anywhere in the header
                let cut = Int(rng.next(below: UInt64(headerEnd)))
                bytes = Array(bytes.prefix(cut))
                fullSize = cut
            case 1: // flip bits in the first 4 KiB: magic, counts, the first keys
                for _ in 0..<(1 + rng.next(below: 3)) {
                    bytes[Int(rng.next(below: 4096))] ^= UInt8(1 << rng.next(below: 8))
                }
            case 2: // flip bits in the tensor infos at the end of the header
                for _ in 0..<(1 + rng.next(below: 3)) {
                    bytes[headerEnd - 1 - Int(rng.next(below: 20_000))] ^= UInt8(1 << rng.next(below: 8))
                }
            default: // overwrite a byte anywhere in the header, often in a length's high bytes
                for _ in 0..<(1 + rng.next(below: 4)) {
                    bytes[Int(rng.next(below: UInt64(headerEnd)))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            _ = FileManager.default.createFile(atPath: copy, contents: Data(bytes))
            if fullSize > bytes.count { truncate(copy, off_t(fullSize)) }
            do {
                let f = try GGUFFile(path: copy)
                opened += 1
                for t in f.tensorInfos {
                    #expect(t.offset >= f.dataOffset && t.offset + t.byteCount <= f.fileSize)
                }
                // Some opened copies also build a tokenizer from their (possibly damaged) vocabulary.
                if opened % 8 == 1 {
                    do {
                        let tok = try Tokenizer(gguf: f)
                        let ids = tok.encode("Hello, world! 123 <|im_start|>user\n")
                        #expect(ids.allSatisfy { tok.isValid($0) })
                        _ = tok.decode(ids)
                    } catch {
                        #expect(error.description.hasPrefix(copy + ": "))
                    }
                }
            } catch {
                refused += 1
                #expect(error.description.hasPrefix(copy + ": "))
            }
        }
        #expect(opened + refused == cases)
        #expect(refused > 0)
    }
}
