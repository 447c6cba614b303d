import CTierShims

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `move_pages(2)`: moving a process's pages between NUMA nodes (and asking where they are).
public enum PageMigration {
    /// The NUMA nodes online on this host (from /sys/devices/system/node/online, e.g. "0" or "0-1").
    public static func onlineNodes() -> [Int32] {
        guard let text = try? HostFile.read("/sys/devices/system/node/online") else { return [0] }
        var nodes: [Int32] = []
        for part in text.trimmingCharacters(in: "\n").split(separator: ",") {
            let b = part.split(separator: "-")
            if b.count == 2, let lo = Int32(b[0]), let hi = Int32(b[1]), lo <= hi { nodes += Array(lo...hi) }
            else if let n = Int32(part) { nodes.append(n) }
        }
        return nodes
    }

    /// Moves the pages at `addresses` of `pid` to `node`. Returns one status per page: the
    /// node it is on now, or a negative errno (e.g. -ENOENT: not present, -EFAULT: unmapped).
    /// A node that is not online fails the whole call with ENODEV, reported as such.
    public static func move(pid: Int32, addresses: [UInt64], to node: Int32) throws(SystemCallError) -> [Int32] {
        try call(pid: pid, addresses: addresses, node: node)
    }

    /// Where each page is: a node, or a negative errno.
    public static func query(pid: Int32, addresses: [UInt64]) throws(SystemCallError) -> [Int32] {
        try call(pid: pid, addresses: addresses, node: nil)
    }

    private static func call(pid: Int32, addresses: [UInt64], node: Int32?) throws(SystemCallError) -> [Int32] {
        var status = [Int32](repeating: 0, count: addresses.count)
        guard !addresses.isEmpty else { return [] }
        let nodes = node.map { [Int32](repeating: $0, count: addresses.count) }
        let r = addresses.withUnsafeBufferPointer { a in
            status.withUnsafeMutableBufferPointer { s in
                if let nodes {
                    return nodes.withUnsafeBufferPointer { n in ctiershims_move_pages(pid, a.count, a.baseAddress, n.baseAddress, s.baseAddress) }
                }
                return ctiershims_move_pages(pid, a.count, a.baseAddress, nil, s.baseAddress)
            }
        }
        if r < 0 {
            let e = errno
            let op = node.map { "move_pages pid \(pid) to node \($0)" } ?? "move_pages pid \(pid) (query)"
            if e == ENODEV, let node {
                let online = onlineNodes().map(String.init).joined(separator: ",")
                throw SystemCallError(op, errno: e, detail: "node \(node) is not online (online nodes: \(online))")
            }
            throw SystemCallError(op, errno: e)
        }
        return status
    }
}
