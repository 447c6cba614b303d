// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "TierKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TierCore", targets: ["TierCore"]),
        .library(name: "TierInfer", targets: ["TierInfer"]),
        .library(name: "TierBPF", targets: ["TierBPF"]),
        .library(name: "TierHost", targets: ["TierHost"]),
        .library(name: "TierDaemon", targets: ["TierDaemon"]),
        .library(name: "TierKV", targets: ["TierKV"]),
        .library(name: "TierServe", targets: ["TierServe"]),
        .executable(name: "tierkit", targets: ["tierkit"]),
        .executable(name: "tierkitd", targets: ["tierkitd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "TierCore",
            swiftSettings: [
                // The replay loops are what the tests exercise most; an unoptimised
                // TierCore makes the conformance suite ~20x slower for no benefit.
                .unsafeFlags(["-O"], .when(configuration: .debug)),
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
            ]
        ),
        .target(
            name: "TierInfer",
            dependencies: ["TierCore", "TierKV"],
            swiftSettings: [
                // Tokenizer and kernels are loops over bytes and floats; unoptimised they make
                // the model tests take minutes. Haswell-level x86 (AVX2, FMA, F16C) lets the SIMD
                // types lower to 256-bit vectors and f16 conversions to single instructions.
                .unsafeFlags(["-O", "-target-cpu", "haswell"], .when(configuration: .debug)),
                .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
            ]
        ),
        // The structs shared with bpf/ and process helpers that must run between fork and exec.
        .target(name: "CTierShims"),
        .systemLibrary(
            name: "CLibBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),
        // Compiles bpf/*.bpf.c and embeds the objects into the target that uses it.
        .plugin(name: "BPFCompilerPlugin", capability: .buildTool()),
        .target(
            name: "TierBPF",
            dependencies: [
                "TierCore",
                "CLibBPF",
                "CTierShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["BPFCompilerPlugin"]
        ),
        // O_DIRECT, fallocate and hardware CRC32C for the KV tier's swap file.
        .target(name: "CTierIO"),
        .systemLibrary(
            name: "CLibURing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        // The KV-cache tier: DRAM budget, eviction and admission, the swap file on io_uring.
        .target(
            name: "TierKV",
            dependencies: [
                "TierCore",
                "TierHost",
                "CTierIO",
                "CLibURing",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [
                // Checksums and Q8_0 loops over whole blocks; unoptimised they dominate the tests.
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // The host: /proc and /sys, pidfds and process_madvise, swap and zram, file I/O.
        .target(
            name: "TierHost",
            dependencies: ["TierCore", "CTierShims"],
            swiftSettings: [
                // The workload generator's fill and access loops are what benchmarks time.
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // The daemon: configuration, target resolution, the paging loop, control socket, metrics.
        .target(
            name: "TierDaemon",
            dependencies: [
                "TierCore",
                "TierBPF",
                "TierHost",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "tierkitd",
            dependencies: [
                "TierDaemon",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The OpenAI-compatible HTTP server over the inference runtime; Hummingbird stays here.
        .target(
            name: "TierServe",
            dependencies: [
                "TierInfer",
                "TierKV",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "tierkit",
            dependencies: [
                "TierCore",
                "TierInfer",
                "TierBPF",
                "TierHost",
                "TierDaemon",
                "TierKV",
                "TierServe",
                "CTierShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TierCoreTests", dependencies: ["TierCore"]),
        .testTarget(name: "TierInferTests", dependencies: ["TierInfer", "TierCore"]),
        .testTarget(name: "TierBPFTests", dependencies: ["TierBPF", "TierCore", "TierHost", "CTierShims", "CLibBPF"]),
        .testTarget(name: "TierHostTests", dependencies: ["TierHost", "TierCore", "CTierShims"]),
        .testTarget(name: "TierDaemonTests", dependencies: [
            "TierDaemon", "TierHost", "TierCore", "CLibBPF", .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "TierKVTests", dependencies: ["TierKV", "TierInfer", "TierCore", "TierHost"]),
        .testTarget(name: "TierServeTests", dependencies: ["TierServe", "TierInfer", "TierKV"]),
    ],
    swiftLanguageModes: [.v6]
)
