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
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: C libraries

        /// Debian's `libtcc-dev` (static `libtcc.a`, header `libtcc.h`) behind a module map and a shim.
        .systemLibrary(name: "CTCC", path: "Sources/CTCC"),

        /// Debian's `libhdf5-dev`, found with pkg-config, behind a module map.
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),

        /// The C layer of the model-file readers: libhdf5 (Swift cannot use its `H5T_NATIVE_*`
        /// macros; in-memory files only) and zlib's bounded inflate for compressed zip entries.
        .target(name: "CGraphJITFiles", dependencies: ["CHDF5"], path: "Sources/CGraphJITFiles",
                linkerSettings: [.linkedLibrary("z")]),

        /// The C support library that generated kernels call: GEMM micro-kernels, vector math, and
        /// the one definition of the runtime ABI (`include/gj_abi.h`).
        .target(
            name: "CGraphJITRuntime",
            path: "runtime-c",
            exclude: ["tests", "README.md"],
            sources: ["src"],
            publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("m"), .linkedLibrary("pthread")]
        ),

        // MARK: Library, in layers the build enforces

        /// The IR: tensors, the static graph, one definition per operation, the reference interpreter.
        .target(name: "GraphJITIR", dependencies: ["CGraphJITRuntime"]),

        /// Running compiled kernels: execution plans, arenas, weight storage, runtime settings.
        /// Imports the IR and the C runtime, never the compiler.
        .target(name: "GraphJITRuntime", dependencies: ["GraphJITIR", "CGraphJITRuntime"]),

        /// Graph to machine code: fusion, scheduling, planning, C generation, tcc and clang.
        /// Imports the IR and the runtime's execution types, never the model API.
        .target(
            name: "GraphJITCompiler",
            dependencies: ["GraphJITIR", "GraphJITRuntime", "CGraphJITRuntime", "CTCC",
                           .product(name: "Crypto", package: "swift-crypto")],
            linkerSettings: [.linkedLibrary("dl")]
        ),

        /// The public umbrella: layers, models, file formats, the zoo, compiled models with tiers.
        .target(name: "GraphJIT", dependencies: ["GraphJITIR", "GraphJITRuntime", "GraphJITCompiler", "CGraphJITFiles",
                                             .product(name: "ZIPFoundation", package: "ZIPFoundation")]),

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
                "GraphJIT", "GraphJITIR", "GraphJITRuntime", "GraphJITCompiler", "CGraphJITRuntime",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
