// swift-tools-version: 6.1
import PackageDescription

// MARK: - Package

let package = Package(
    name: "GraphJIT",
    products: [
        .library(name: "GraphJIT", targets: ["GraphJIT"]),
        .executable(name: "graphjit", targets: ["graphjit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // MARK: C libraries

        /// Debian's `libtcc-dev` (static `libtcc.a`, header `libtcc.h`) behind a module map and a shim.
        .systemLibrary(name: "CTCC", path: "Sources/CTCC"),

        /// The C support library that generated kernels call: GEMM micro-kernels, vector math.
        .target(
            name: "GraphJITRuntime",
            path: "runtime-c",
            exclude: ["tests"],
            sources: ["src"],
            publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("m"), .linkedLibrary("pthread")]
        ),

        // MARK: Library

        .target(
            name: "GraphJIT",
            dependencies: ["CTCC", "GraphJITRuntime", .product(name: "Crypto", package: "swift-crypto")],
            linkerSettings: [.linkedLibrary("dl")]
        ),

        // MARK: Tools

        .executableTarget(
            name: "graphjit",
            dependencies: [
                "GraphJIT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "graphjit-bench",
            dependencies: [
                "GraphJIT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "benchmarks/Sources/graphjit-bench"
        ),

        // MARK: Tests

        .testTarget(
            name: "GraphJITTests",
            dependencies: [
                "GraphJIT",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
