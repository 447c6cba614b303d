import Foundation
import TierInfer

/// The real model (`$TIERKIT_MODEL`, else the default cache location), loaded once; nil when
/// absent (tests print SKIPPED and return).
enum KVModel {
    static let path: String? = {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let p = env["TIERKIT_MODEL"], !p.isEmpty { candidates.append(p) }
        let dir = env["TIERKIT_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tierkit/models").path
        candidates.append(dir + "/SmolLM2-135M-Instruct.Q4_1.gguf")
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }()

    static let model: LlamaModel? = {
        guard let path, let file = try? GGUFFile(path: path) else { return nil }
        return try? LlamaModel(gguf: file)
    }()

    static func require(_ test: String) -> LlamaModel? {
        if model == nil { print("\(test): SKIPPED - model not found; run tools/fetch-model or set TIERKIT_MODEL") }
        return model
    }
}

/// A directory on the disk (O_DIRECT needs a real file system), removed by `cleanup`.
struct ScratchDirectory {
    let path: String

    init() throws {
        // /var/tmp is disk-backed on Debian even where /tmp is a tmpfs.
        path = "/var/tmp/tierkit-kv-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Token ids that make a plausible prompt: `count` ids from `seed`, all in the vocabulary.
func syntheticPrompt(_ count: Int, seed: Int) -> [Int32] {
    (0..<count).map { Int32(200 + (($0 + 1) * 7919 + seed * 104_729) % 20_000) }
}
