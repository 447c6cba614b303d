import Foundation
import Synchronization
import TierHost

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The credentials of the process at the other end of a unix socket, as the kernel recorded
/// them when it connected (`SO_PEERCRED`).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

/// A listening socket served on its own thread: accepts connections one at a time and hands
/// each to `serve`, which owns the descriptor until it returns (the listener closes it then).
///
/// The thread polls with a short timeout so that `stop()` ends it promptly without signals.
final class SocketListener: Sendable {
    let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<Bool>(false)
    private let name: String

    /// Takes ownership of `fd`, a socket on which `listen` has been called.
    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    /// Starts the thread.
    func start(serve: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while !stopping.load(ordering: .acquiring) {
                let ready = poll(&poller, 1, 200)
                guard ready > 0 else { continue }
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { continue }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                // A client that stops talking cannot hold the listener for long.
                var timeout = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                serve(connection)
                close(connection)
            }
            close(fd)
            finished.withLock { $0 = true }
        }
        thread.name = name
        thread.start()
    }

    /// Stops accepting and waits (up to a second) until the thread has closed the socket.
    func stop() {
        stopping.store(true, ordering: .releasing)
        for _ in 0..<100 {
            if finished.withLock({ $0 }) { return }
            usleep(10_000)
        }
    }

    /// Binds and listens on a unix socket at `path` with mode 0600.
    ///
    /// A socket file left by a daemon that died is replaced; one that a live daemon still
    /// answers on is an error, so two daemons never fight over one path.
    static func unixListener(path: String) throws(SystemCallError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemCallError("bind \(path)", errno: ENAMETOOLONG, detail: "a unix socket path has at most 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw SystemCallError("bind \(path)", errno: EEXIST, detail: "a file that is not a socket is in the way")
            }
            if let probe = try? connectUnix(path: path) {
                close(probe)
                throw SystemCallError("bind \(path)", errno: EADDRINUSE, detail: "another tierkitd answers on this socket")
            }
            unlink(path)
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError.fromErrno("socket(AF_UNIX)") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let error = SystemCallError.fromErrno("bind \(path)")
            close(fd)
            throw error
        }
        // Before listen: no one can connect while the mode is still the umask's.
        guard chmod(path, 0o600) == 0 else {
            let error = SystemCallError.fromErrno("chmod 0600 \(path)")
            close(fd)
            unlink(path)
            throw error
        }
        guard listen(fd, 16) == 0 else {
            let error = SystemCallError.fromErrno("listen \(path)")
            close(fd)
            unlink(path)
            throw error
        }
        return fd
    }

    /// Connects to the unix socket at `path`.
    static func connectUnix(path: String) throws(SystemCallError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemCallError("connect \(path)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError.fromErrno("socket(AF_UNIX)") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let error = SystemCallError.fromErrno("connect \(path)")
            close(fd)
            throw error
        }
        return fd
    }

    /// Binds and listens on a TCP address.
    static func tcpListener(_ address: SocketAddress) throws(SystemCallError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError.fromErrno("socket(AF_INET)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var inet = sockaddr_in()
        inet.sin_family = sa_family_t(AF_INET)
        inet.sin_port = address.port.bigEndian
        guard inet_pton(AF_INET, address.host, &inet.sin_addr) == 1 else {
            close(fd)
            throw SystemCallError("bind \(address)", errno: EINVAL, detail: "not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &inet) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = SystemCallError.fromErrno("bind/listen \(address)")
            close(fd)
            throw error
        }
        return fd
    }

    /// The kernel's record of who connected on `fd`.
    static func peerCredentials(_ fd: Int32) -> PeerCredentials? {
        // struct ucred: pid_t pid; uid_t uid; gid_t gid.
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              Int(length) == MemoryLayout.size(ofValue: credentials) else { return nil }
        return PeerCredentials(pid: credentials.0, uid: credentials.1, gid: credentials.2)
    }
}

/// Reads and writes newline-terminated lines on a connected socket.
struct LineConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// Longest accepted line: a control request is a few hundred bytes.
    static let maximumLine = 64 << 10

    init(fd: Int32) { self.fd = fd }

    /// The next line without its newline; nil at end of input, on error or an overlong line.
    mutating func readLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            guard buffer.count <= Self.maximumLine else { return nil }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                // A last line without a newline still counts.
                guard !buffer.isEmpty else { return nil }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer = []
                return line
            }
        }
    }

    /// Writes `bytes` whole; false when the peer went away.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
