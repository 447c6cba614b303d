// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "TierKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TierCore", targets: ["TierCore"]),
        .library(name: "TierInfer", targets: ["TierInfer"]),
        .executable(name: "tierkit", targets: ["tierkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
            dependencies: ["TierCore"],
            swiftSettings: [
                // Tokenizer and kernels are loops over bytes and floats; unoptimised they make
                // the model tests take minutes. Haswell-level x86 (AVX2, FMA, F16C) lets the SIMD
                // types lower to 256-bit vectors and f16 conversions to single instructions.
                .unsafeFlags(["-O", "-target-cpu", "haswell"], .when(configuration: .debug)),
                .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "tierkit",
            dependencies: [
                "TierCore",
                "TierInfer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TierCoreTests", dependencies: ["TierCore"]),
        .testTarget(name: "TierInferTests", dependencies: ["TierInfer", "TierCore"]),
    ],
    swiftLanguageModes: [.v6]
)
