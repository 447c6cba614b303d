import Logging
import Prometheus
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Serves the Prometheus text exposition of a registry over HTTP/1.0 (`GET /metrics`).
///
/// A scrape is one small request every few seconds, so one thread answering one connection at
/// a time is enough; it avoids an event-loop dependency for a single endpoint.
public final class MetricsServer: Sendable {
    public let address: SocketAddress
    private let listener: SocketListener
    private let registry: PrometheusCollectorRegistry

    /// Binds `address` and starts serving `registry`.
    public init(address: SocketAddress, registry: PrometheusCollectorRegistry, logger: Logger) throws(SystemCallError) {
        self.address = address
        self.registry = registry
        listener = SocketListener(fd: try SocketListener.tcpListener(address), name: "tierkitd-metrics")
        listener.start { [self] fd in serve(fd) }
        logger.info("serving metrics", metadata: ["address": "\(address)"])
    }

    public func stop() { listener.stop() }

    /// The response to one HTTP request `head` (request line and headers).
    static func response(to head: String, registry: PrometheusCollectorRegistry) -> [UInt8] {
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        func reply(_ status: String, _ type: String, _ body: [UInt8]) -> [UInt8] {
            let header = "HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            return Array(header.utf8) + body
        }
        guard parts.count >= 2 else { return reply("400 Bad Request", "text/plain", Array("bad request\n".utf8)) }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            return reply("405 Method Not Allowed", "text/plain", Array("only GET\n".utf8))
        }
        let target = parts[1].split(separator: "?").first.map(String.init) ?? ""
        guard target == "/metrics" || target == "/" else {
            return reply("404 Not Found", "text/plain", Array("metrics are at /metrics\n".utf8))
        }
        var body: [UInt8] = []
        registry.emit(into: &body)
        return reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", parts[0] == "HEAD" ? [] : body)
    }

    private func serve(_ fd: Int32) {
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while head.count < 16 << 10 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                head.append(contentsOf: chunk[0..<n])
                if head.count >= 4, head.indices.dropLast(3).contains(where: { Array(head[$0..<$0 + 4]) == end }) { break }
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        guard !head.isEmpty else { return }
        _ = LineConnection.writeAll(fd, Self.response(to: String(decoding: head, as: UTF8.self), registry: registry))
    }
}
