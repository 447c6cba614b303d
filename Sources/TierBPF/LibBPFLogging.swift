import CLibBPF
import Logging
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Routes libbpf's diagnostics (verifier logs, attach errors) to a swift-log `Logger` instead of
/// stderr. libbpf has one process-wide print callback, so this is process-wide too.
public enum LibBPFLogging {
    private static let logger = Mutex<Logger?>(nil)

    /// Sends libbpf's messages to `logger`: warnings as `.warning`, info as `.info`, debug
    /// (very verbose: every relocation) as `.trace`. Pass nil to silence libbpf.
    public static func route(to logger: Logger?) {
        self.logger.withLock { $0 = logger }
        libbpf_set_print { level, format, arguments in
            guard let format, let arguments else { return 0 }
            var buffer = [UInt8](repeating: 0, count: 32 * 1024)  // verifier logs come in one message
            let written = buffer.withUnsafeMutableBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { vsnprintf($0.baseAddress, $0.count, format, arguments) }
            }
            guard written > 0 else { return 0 }
            var message = String(decoding: buffer[0..<min(Int(written), buffer.count - 1)], as: UTF8.self)
            while message.last == "\n" { message.removeLast() }
            let swiftLevel: Logger.Level
            switch level {
            case LIBBPF_WARN: swiftLevel = .warning
            case LIBBPF_INFO: swiftLevel = .info
            default: swiftLevel = .trace
            }
            LibBPFLogging.logger.withLock { logger in
                logger?.log(level: swiftLevel, "\(message)", metadata: ["source": "libbpf"])
            }
            return written
        }
    }
}
