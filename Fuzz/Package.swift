// swift-tools-version: 6.1
// The fuzzers of GraphJIT: a package of its own, so that the main Package.swift and its users are
// untouched. It depends on the main package by path; build it with the fuzzer sanitizer:
//
//     swift build -c debug --sanitize=fuzzer --sanitize=address --product FuzzNPY
//
// (.ci/fuzz.sh does that for every fuzzer and runs each for a bounded time.)
import PackageDescription

// A package that SwiftPM reaches by path is identified by its folder's name, which is the
// checkout's name (`GraphJIT`, `main`, a worktree's name): name it from where this manifest lies.
let graphJIT = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "GraphJIT"

let package = Package(
    name: "GraphJITFuzz",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    ],
    targets: [
        /// What the fuzzers share: reading choices from the fuzzer's bytes, the model specs, the
        /// checks, and the seed-corpus writer.
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "GraphJIT", package: graphJIT),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        // One libFuzzer target each: `LLVMFuzzerTestOneInput` in a single source file (so SwiftPM
        // compiles it as a library: libFuzzer supplies `main`).
        .executableTarget(name: "FuzzNPY", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzModelSpec", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzKerasFile", dependencies: ["FuzzSupport"]),
    ]
)
