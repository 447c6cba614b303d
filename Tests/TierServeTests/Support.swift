import Foundation
import Logging
import TierInfer
import TierKV
import TierServe
#if canImport(Glibc)
import Glibc
#endif

/// The real model and the shared goldens, located as the TierInfer tests do.
enum Fixture {
    static var modelPath: String? {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let p = env["TIERKIT_MODEL"], !p.isEmpty { candidates.append(p) }
        let dir = env["TIERKIT_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tierkit/models").path
        candidates.append(dir + "/SmolLM2-135M-Instruct.Q4_1.gguf")
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Model, tokenizer and chat template, loaded once.
    static let loaded: (LlamaModel, Tokenizer, ChatTemplate?)? = {
        guard let path = modelPath, let file = try? GGUFFile(path: path),
              let model = try? LlamaModel(gguf: file), let tokenizer = try? Tokenizer(gguf: file) else { return nil }
        return (model, tokenizer, try? ChatTemplate(gguf: file))
    }()

    static func skip(_ what: String) {
        print("\(what): SKIPPED - model not found; run tools/fetch-model or set TIERKIT_MODEL")
    }

    /// `../shared/models/smollm2-135m-q4_1.golden.json` beside the checkout (or `$TIERKIT_GOLDEN_DIR`).
    static func golden() -> [String: Any]? {
        let env = ProcessInfo.processInfo.environment
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var dirs = [root.appendingPathComponent("../shared/models").standardized.path,
                    root.appendingPathComponent("../../shared/models").standardized.path]
        if let d = env["TIERKIT_GOLDEN_DIR"], !d.isEmpty { dirs.insert(d, at: 0) }
        for d in dirs {
            if let data = FileManager.default.contents(atPath: d + "/smollm2-135m-q4_1.golden.json") {
                return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            }
        }
        return nil
    }
}

/// Starts an engine (`kvBlocks` blocks, with the KV tier `tier` makes) and a server on an
/// ephemeral loopback port, runs `body` with the port, and stops both, whatever `body` does;
/// nil without the model.
@discardableResult
func withServer<T: Sendable>(
    parallel: Int = 2, kvBlocks: Int? = nil, preemptive: Bool = false, tier: (PagedKVCache) throws -> (any KVBlockTier)? = { _ in nil },
    _ body: @Sendable (Int) async throws -> T
) async throws -> T? {
    guard let (model, tokenizer, template) = Fixture.loaded else { return nil }
    let engine = try InferenceEngine(
        model: model, tokenizer: tokenizer, chatTemplate: template,
        configuration: EngineConfiguration(threads: 2, maxSequences: parallel, contextLength: 256, maxBatchTokens: 64, kvBlocks: kvBlocks, preemptive: preemptive),
        tier: tier)
    defer { engine.shutdown() }
    let server = OpenAIServer(engine: engine, modelID: "smollm2-test")
    var logger = Logger(label: "tierkit.serve.test")
    // Cancelling the server task at the end logs the open connections' cancellation as errors.
    logger.logLevel = .critical
    let (ports, portSink) = AsyncStream<Int>.makeStream()
    let app = server.application(host: "127.0.0.1", port: 0, logger: logger) { port in
        portSink.yield(port)
        portSink.finish()
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.run() }
        defer { group.cancelAll() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HTTPTestError("the server did not start") }
        return try await body(port)
    }
}

struct HTTPTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An HTTP/1.1 exchange over a plain loopback socket: status and body (de-chunked).
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    /// The `data:` payloads of a server-sent event stream, in order.
    var events: [String] {
        body.components(separatedBy: "\n\n").compactMap { block in
            block.hasPrefix("data: ") ? String(block.dropFirst(6)) : nil
        }
    }
}

/// Sends one request on its own connection (off the cooperative pool: the socket calls block).
func http(_ method: String, _ path: String, port: Int, body: String? = nil) async throws -> HTTPReply {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try blockingHTTP(method, path, port: port, body: body) })
        }
    }
}

private func blockingHTTP(_ method: String, _ path: String, port: Int, body: String?) throws -> HTTPReply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HTTPTestError("socket: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 120, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw HTTPTestError("connect to port \(port): errno \(errno)") }
    let payload = Array((body ?? "").utf8)
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    if body != nil { request += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
    let bytes = Array((request + "\r\n").utf8) + payload
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw HTTPTestError("send: errno \(errno)") }
        sent += n
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n >= 0 else { throw HTTPTestError("recv: errno \(errno)") }
        if n == 0 { break }
        received.append(contentsOf: buffer[0..<n])
    }
    guard let split = received.indices.first(where: { received[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else {
        throw HTTPTestError("no HTTP header in \(received.count) bytes")
    }
    let head = String(decoding: received[..<split], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HTTPTestError("bad status line \(head[0])") }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var content = Array(received[(split + 4)...])
    if headers["transfer-encoding"]?.lowercased() == "chunked" { content = try dechunk(content) }
    return HTTPReply(status: status, headers: headers, body: String(decoding: content, as: UTF8.self))
}

private func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        guard let lineEnd = bytes[i...].indices.first(where: { bytes[$0] == 13 }) else { throw HTTPTestError("bad chunk at \(i)") }
        let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";")[0]
        guard let size = Int(sizeText, radix: 16) else { throw HTTPTestError("bad chunk size \(sizeText)") }
        if size == 0 { break }
        let start = lineEnd + 2
        out.append(contentsOf: bytes[start..<(start + size)])
        i = start + size + 2
    }
    return out
}
