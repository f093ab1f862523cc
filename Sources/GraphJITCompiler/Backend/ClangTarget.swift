import GraphJITRuntime

/// The instruction set the optimizing tier compiles generated C for: the one the C runtime's
/// dispatcher runs on (`RuntimeSettings.cpuPath`), so that forcing a path (`GJ_RUNTIME_PATH=avx2`)
/// makes the whole process behave as it would on a CPU with only that path, kernels included.
///
/// | runtime path | clang flags |
/// |---|---|
/// | `avx512` | `-march=native` |
/// | `avx2` | `-march=native`, plus `-mno-avx512f` on a CPU that has AVX-512 (it turns off every AVX-512 extension) |
/// | `portable` | `-march=x86-64 -mtune=native` (SSE2, the portable path's baseline) |
public struct ClangTarget: Hashable, Sendable {
    /// The runtime instruction-set path: `avx512`, `avx2` or `portable`.
    public let path: String
    /// Whether the CPU itself has AVX-512 (its `/proc/cpuinfo` flags list `avx512f`).
    public let cpuHasAVX512: Bool

    /// The target for a path on a CPU.
    public init(path: String, cpuHasAVX512: Bool) {
        self.path = path
        self.cpuHasAVX512 = cpuHasAVX512
    }

    /// The runtime's current path on this CPU.
    public static var current: ClangTarget {
        let features = ClangCompiler.cpuIdentity.split(whereSeparator: \.isWhitespace)
        return ClangTarget(path: RuntimeSettings.cpuPath, cpuHasAVX512: features.contains("avx512f"))
    }

    /// The `-march`/`-mtune` flags for this target.
    public var flags: [String] {
        switch path {
        case "portable": ["-march=x86-64", "-mtune=native"]
        case "avx2" where cpuHasAVX512: ["-march=native", "-mno-avx512f"]
        default: ["-march=native"]
        }
    }
}
