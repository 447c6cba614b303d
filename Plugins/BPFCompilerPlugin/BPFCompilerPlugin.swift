import Foundation
import PackagePlugin

/// Compiles every `bpf/*.bpf.c` of the package with clang `-target bpf` and adds a Swift file per
/// object to the target, holding the object base64-encoded in `EmbeddedBPFObjects`.
///
/// `page_faults.bpf.c` becomes `EmbeddedBPFObjects.pageFaults`. The compiler is
/// `$TIERKIT_BPF_CLANG`, else the Swift toolchain's clang at `/opt/swift/usr/bin/clang`, else the
/// first `clang` on `PATH` (`context.tool(named:)` does not search `PATH`).
@main
struct BPFCompilerPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpf = context.package.directoryURL.appending(path: "bpf")
        let include = bpf.appending(path: "include")
        let script = bpf.appending(path: "embed-object.sh")
        let files = FileManager.default
        let sources = try files.contentsOfDirectory(atPath: bpf.path)
            .filter { $0.hasSuffix(".bpf.c") }
            .sorted()
        let headers = try files.contentsOfDirectory(atPath: include.path)
            .filter { $0.hasSuffix(".h") }
            .sorted()
            .map { include.appending(path: $0) }
        let environment = ProcessInfo.processInfo.environment
        let clang = try Self.locate(
            "clang", override: environment["TIERKIT_BPF_CLANG"], path: environment["PATH"])
        let objcopy = (try? Self.locate(
            "llvm-objcopy", override: nil, path: clang.deletingLastPathComponent().path))?.path ?? ""

        return sources.map { name in
            let stem = String(name.dropLast(".bpf.c".count))
            let source = bpf.appending(path: name)
            let work = context.pluginWorkDirectoryURL
            let output = work.appending(path: "\(stem).bpf.swift")
            return .buildCommand(
                displayName: "Compiling BPF program \(name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    script.path, clang.path, objcopy, source.path, include.path,
                    work.appending(path: "\(stem).bpf.o").path, output.path, Self.symbol(stem),
                ],
                inputFiles: [script, source] + headers,
                outputFiles: [output]
            )
        }
    }

    /// `page_faults` → `pageFaults`.
    static func symbol(_ stem: String) -> String {
        let parts = stem.split(whereSeparator: { $0 == "_" || $0 == "-" })
        guard let first = parts.first else { return "object" }
        return first.lowercased() + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func locate(_ tool: String, override: String?, path: String?) throws -> URL {
        let files = FileManager.default
        if let override, !override.isEmpty {
            guard files.isExecutableFile(atPath: override) else {
                throw PluginError("TIERKIT_BPF_CLANG=\(override) is not an executable")
            }
            return URL(fileURLWithPath: override)
        }
        var candidates = ["/opt/swift/usr/bin/\(tool)"]
        for directory in (path ?? "").split(separator: ":") {
            candidates.append("\(directory)/\(tool)")
        }
        if let found = candidates.first(where: { files.isExecutableFile(atPath: $0) }) {
            return URL(fileURLWithPath: found)
        }
        throw PluginError("no \(tool) able to target BPF found (tried \(candidates.joined(separator: ", ")); set TIERKIT_BPF_CLANG)")
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
