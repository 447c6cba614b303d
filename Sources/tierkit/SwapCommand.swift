import ArgumentParser
@preconcurrency import Foundation
import TierCore
import TierHost

/// `tierkit swap setup|status|teardown`: the zram swap that paging policies need.
struct SwapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap",
        abstract: "Set up, show and remove TierKit's zram swap device (paging out needs swap).",
        discussion: """
            TierKit records the devices it creates under --state-dir (default /run/tierkit); \
            teardown removes only those, never swap it did not create. Setup is idempotent: \
            with a TierKit device already active it does nothing.
              tierkit swap setup --zram 1GiB
              tierkit swap status --json
              tierkit swap teardown
            """,
        subcommands: [Setup.self, Status.self, Teardown.self]
    )

    struct Common: ParsableArguments {
        @Option(help: "Where TierKit records the devices it created.")
        var stateDir = "/run/tierkit"

        var managed: ManagedSwap { ManagedSwap(stateDirectory: stateDir) }
    }

    struct Setup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a zram device of SIZE and swap on it (idempotent).")

        @Option(help: "zram device size (e.g. 1GiB, 512MiB): the most uncompressed memory it can hold.")
        var zram: String

        @Option(help: "Swap priority 0...32767 (higher is used first); -1 for the kernel's default.")
        var priority = 100

        @OptionGroup var common: Common

        func run() throws {
            let size = try parseByteSize(zram, option: "--zram")
            guard (-1...32767).contains(priority) else { throw ValidationError("--priority must be -1...32767") }
            let (device, created) = try common.managed.setup(size: size, priority: priority < 0 ? nil : priority)
            if created {
                print("tierkit swap: \(device.devicePath) of \(SVGFormat.bytes(Double(size))) is swap now (priority \(priority))")
            } else {
                print("tierkit swap: \(device.devicePath) of \(SVGFormat.bytes(Double(device.sizeBytes))) is already active; nothing to do")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List active swap areas and TierKit's zram devices.")

        @Flag(help: "Print one JSON object.")
        var json = false

        @OptionGroup var common: Common

        func run() throws {
            let status = try common.managed.status()
            let owned = Set(status.managed.map(\.device.devicePath))
            if json {
                let areas: [[String: Any]] = status.areas.map {
                    ["path": $0.path, "type": $0.type, "size_bytes": $0.sizeBytes, "used_bytes": $0.usedBytes,
                     "priority": $0.priority, "tierkit": owned.contains($0.path)]
                }
                let managed: [[String: Any]] = status.managed.map { m in
                    var o: [String: Any] = ["device": m.device.devicePath, "size_bytes": m.device.sizeBytes, "active": m.area != nil]
                    if let a = m.area { o["used_bytes"] = a.usedBytes }
                    if let s = m.stat {
                        o["original_bytes"] = s.originalBytes
                        o["compressed_bytes"] = s.compressedBytes
                        o["memory_used_bytes"] = s.memoryUsedBytes
                        o["same_pages"] = s.samePages
                    }
                    return o
                }
                let data = try JSONSerialization.data(withJSONObject: ["swap_areas": areas, "tierkit_devices": managed], options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if status.areas.isEmpty {
                print("no swap is active (paging policies move nothing without swap): tierkit swap setup --zram 1GiB")
            } else {
                print(renderTable(["swap area", "type", "size", "used", "priority", "tierkit"], status.areas.map {
                    [$0.path, $0.type, SVGFormat.bytes(Double($0.sizeBytes)), SVGFormat.bytes(Double($0.usedBytes)), "\($0.priority)", owned.contains($0.path) ? "yes" : "no"]
                }))
            }
            for m in status.managed {
                var line = "\(m.device.devicePath): \(m.area == nil ? "recorded but not active" : "active")"
                if let s = m.stat, s.originalBytes > 0 {
                    line += String(format: ", %@ stored in %@ (ratio %.2f), %lld same-filled pages",
                                   SVGFormat.bytes(Double(s.originalBytes)), SVGFormat.bytes(Double(s.memoryUsedBytes)),
                                   Double(s.originalBytes) / Double(max(1, s.compressedBytes)), s.samePages)
                }
                print(line)
            }
        }
    }

    struct Teardown: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Swap off and remove the zram devices TierKit created (others are untouched).")

        @OptionGroup var common: Common

        func run() throws {
            let removed = try common.managed.teardown()
            if removed.isEmpty {
                print("tierkit swap: no TierKit swap device to remove")
            }
            for d in removed { print("tierkit swap: removed \(d.devicePath)") }
        }
    }
}

/// Bytes for a size option: `1GiB`, `512MiB`, `65536`.
func parseByteSize(_ text: String, option: String) throws -> Int64 {
    switch try? SizeSpec.parse(Substring(text)) {
    case .bytes(let n)?, .count(let n)?: if n > 0 { return n }
    default: break
    }
    throw ValidationError("\(option) \(text): expected a positive size such as 1GiB, 512MiB or 65536")
}
