import Foundation
import TierInfer

/// The real model: `$TIERKIT_MODEL` (tools/test sets it through tools/fetch-model), else the
/// default cache location. nil when neither exists; callers print SKIPPED and return.
enum ModelFixture {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static var path: String? {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let p = env["TIERKIT_MODEL"], !p.isEmpty { candidates.append(p) }
        let dir = env["TIERKIT_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tierkit/models").path
        candidates.append(dir + "/" + fileName)
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    static func skip(_ what: String) {
        print("\(what): SKIPPED - model not found; run tools/fetch-model or set TIERKIT_MODEL")
    }

    /// The model opened once for the whole suite: nil when absent, an error when it fails to open.
    private static let opened: Result<GGUFFile, GGUFError>? = path.map { p in
        do throws(GGUFError) { return .success(try GGUFFile(path: p)) } catch { return .failure(error) }
    }

    /// The tokenizer built once for the whole suite.
    private static let built: Result<Tokenizer, GGUFError>? = opened.map { r in
        r.flatMap { f in
            do throws(GGUFError) { return .success(try Tokenizer(gguf: f)) } catch { return .failure(error) }
        }
    }

    /// The model, nil when it is absent; throws when it is present but does not open.
    static func file() throws -> GGUFFile? { try opened?.get() }

    /// The model's tokenizer, nil when the model is absent; throws when it cannot be built.
    static func tokenizer() throws -> Tokenizer? { try built?.get() }
}

/// The shared goldens beside the checkout (`../shared/models`), or `$TIERKIT_GOLDEN_DIR`.
enum Goldens {
    static var directory: String? {
        if let d = ProcessInfo.processInfo.environment["TIERKIT_GOLDEN_DIR"], !d.isEmpty { return d }
        // Tests/TierInferTests/Support.swift -> repository root -> ../shared/models
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [root.appendingPathComponent("../shared/models").standardized.path,
                          root.appendingPathComponent("../../shared/models").standardized.path]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/smollm2-135m-tokenizer.golden.json") }
    }

    static func load(_ name: String) -> Any? {
        guard let dir = directory, let data = FileManager.default.contents(atPath: dir + "/" + name) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }
}

/// A scratch directory per test, removed afterwards.
final class Scratch {
    let dir: String
    init() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tierkit-infer-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let p = path(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
}

/// FNV-1a, 64-bit: a checksum of tensor bytes that a few lines of Python reproduce.
func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// The description of the GGUFError `body` throws; nil when it succeeds.
func ggufErrorText(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as GGUFError {
        return error.description
    } catch {
        return "not a GGUFError: \(error)"
    }
}

/// Writes GGUF files by hand, remembering where named fields were put so tests can corrupt them.
struct GGUFBuilder {
    var bytes: [UInt8] = []
    var marks: [String: Int] = [:]

    mutating func mark(_ name: String) { marks[name] = bytes.count }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func str(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: Array(s.utf8))
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
    mutating func put32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }
    mutating func put64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    /// A small valid file: six metadata values of assorted types (a string array and a nested array
    /// among them) and two tensors, F32 [4] and Q8_0 [32, 2].
    static func tiny() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.u32(GGUFFile.magic)
        b.u32(3)
        b.mark("tensorCount"); b.u64(2)
        b.mark("kvCount"); b.u64(6)
        b.mark("key0"); b.str("general.architecture"); b.u32(8); b.str("llama")
        b.str("test.values"); b.u32(9); b.u32(2); b.mark("valuesCount"); b.u64(3); for v: UInt16 in [1, 2, 3] { withUnsafeBytes(of: v.littleEndian) { b.bytes.append(contentsOf: $0) } }
        b.str("test.names"); b.u32(9); b.u32(8); b.u64(2); b.str("a"); b.mark("namesSecond"); b.str("bc")
        b.str("test.nested"); b.u32(9); b.u32(9); b.u64(2)
        b.u32(1); b.u64(2); b.u8(1); b.u8(2)
        b.u32(1); b.u64(1); b.u8(0xFD)
        b.str("test.flag"); b.mark("flagType"); b.u32(7); b.u8(1)
        b.str("test.f"); b.u32(12); withUnsafeBytes(of: (2.5).bitPattern.littleEndian) { b.bytes.append(contentsOf: $0) }
        b.mark("tensor0"); b.str("a"); b.u32(1); b.u64(4); b.mark("tensor0Type"); b.u32(0); b.mark("tensor0Offset"); b.u64(0)
        b.mark("tensor1"); b.str("b"); b.mark("tensor1Dims"); b.u32(2); b.u64(32); b.u64(2); b.mark("tensor1Type"); b.u32(8); b.u64(32)
        b.pad(to: 32)
        b.mark("data")
        for v: Float in [1, 2, 3, 4] { b.f32(v) }
        b.pad(to: 32)
        for i in 0..<68 { b.u8(UInt8(i)) }
        return b
    }
}
