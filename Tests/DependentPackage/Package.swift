// swift-tools-version: 6.1
// A package that depends on GraphJIT the way a user's does: by URL and version.
//
// This is a template: .ci/check-dependent-package.sh copies it into a temporary folder and replaces
// @GRAPHJIT_URL@ (a file:// URL of a temporary clone of the repository) and @GRAPHJIT_VERSION@
// (the tag it made there), and adds a target for every Swift program in the README. SwiftPM refuses
// unsafe build flags in a dependency reached this way, which is what the check is for.
import PackageDescription

let package = Package(
    name: "DependentPackage",
    dependencies: [
        .package(url: "@GRAPHJIT_URL@", exact: "@GRAPHJIT_VERSION@"),
    ],
    targets: [
        .executableTarget(
            name: "DependentCheck",
            dependencies: [.product(name: "GraphJIT", package: "GraphJIT")]
        ),
        // @README_EXAMPLES@ (one executable target per Swift program in the README, added by the script)
    ]
)
