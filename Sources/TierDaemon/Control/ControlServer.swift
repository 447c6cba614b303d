import Foundation
import Logging
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Answers control requests; the daemon implements it.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest) -> ControlResponse
}

/// The control socket: a unix socket with mode 0600 that serves only uid 0 peers.
///
/// Two locks on one door: the file mode keeps other users from connecting at all, and the
/// peer's credentials (`SO_PEERCRED`, recorded by the kernel at connect time) are checked
/// again on every connection, so a socket whose mode was loosened by hand still refuses them.
public final class ControlServer: Sendable {
    public let path: String
    private let listener: SocketListener
    private let handler: any ControlHandler
    private let logger: Logger

    /// Creates the socket at `path` (replacing one a dead daemon left) and starts serving.
    public init(path: String, handler: any ControlHandler, logger: Logger) throws(SystemCallError) {
        self.path = path
        self.handler = handler
        self.logger = logger
        listener = SocketListener(fd: try SocketListener.unixListener(path: path), name: "tierkitd-control")
        listener.start { [self] fd in serve(fd) }
    }

    /// Stops serving and removes the socket file.
    public func stop() {
        listener.stop()
        unlink(path)
    }

    /// The refusal a peer that is not root reads before EOF.
    static func refusal(uid: UInt32) -> ControlResponse {
        .failure("permission denied: the control socket serves only root (uid 0); this peer is uid \(uid)")
    }

    private func serve(_ fd: Int32) {
        guard let peer = SocketListener.peerCredentials(fd) else {
            logger.warning("control connection without peer credentials refused")
            return
        }
        guard peer.uid == 0 else {
            logger.warning("control connection refused", metadata: ["peer_uid": "\(peer.uid)", "peer_pid": "\(peer.pid)"])
            _ = LineConnection.writeAll(fd, Array((ControlCoding.encode(Self.refusal(uid: peer.uid)) + "\n").utf8))
            // Let the peer finish writing its request before the close, so it reads the
            // refusal rather than a broken pipe; it gets a fifth of a second.
            shutdown(fd, Int32(SHUT_WR))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var sink = [UInt8](repeating: 0, count: 4096)
            while poll(&poller, 1, 200) > 0 {
                let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n <= 0 { break }
            }
            return
        }
        var connection = LineConnection(fd: fd)
        while let line = connection.readLine() {
            if line.trimmingSpaces().isEmpty { continue }
            let response = respond(to: line, peer: peer)
            guard LineConnection.writeAll(fd, Array((ControlCoding.encode(response) + "\n").utf8)) else { return }
        }
    }

    private func respond(to line: String, peer: PeerCredentials) -> ControlResponse {
        let request: ControlRequest
        do {
            request = try ControlCoding.decode(ControlRequest.self, from: line)
        } catch {
            // Name an unknown command plainly rather than as a decoding failure.
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let command = object["command"] as? String, ControlCommand(rawValue: command) == nil {
                let known = ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure("unknown command '\(command)' (known: \(known))")
            }
            return .failure("bad request: \(ControlCoding.describe(error))")
        }
        logger.debug("control request", metadata: ["command": "\(request.command.rawValue)", "peer_pid": "\(peer.pid)"])
        return handler.handle(request)
    }
}

/// The client side, for `tierkit ctl`.
public enum ControlClient {
    /// Sends `request` to the daemon at `socketPath` and returns its answer.
    public static func send(_ request: ControlRequest, socketPath: String) throws -> ControlResponse {
        let fd = try SocketListener.connectUnix(path: socketPath)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard LineConnection.writeAll(fd, Array((ControlCoding.encode(request) + "\n").utf8)) else {
            throw SystemCallError.fromErrno("send to \(socketPath)")
        }
        var connection = LineConnection(fd: fd)
        guard let line = connection.readLine() else {
            throw SystemCallError("read from \(socketPath)", errno: 0, detail: "the daemon closed the connection without answering")
        }
        return try ControlCoding.decode(ControlResponse.self, from: line)
    }
}
