import CGraphJITRuntime
import GraphJITIR
/// The C compiler that produced a ``CompiledCModule``.
///
/// GraphJIT has two tiers: ``tcc`` compiles in memory in a few milliseconds and runs slowly;
/// ``clang`` takes tens of milliseconds (once; the result is cached on disk) and runs fast.
public enum CompilerBackend: String, Sendable, Hashable, CustomStringConvertible {
    /// The instant tier: libtcc, in process, in memory (`TCCCompiler`).
    case tcc
    /// The optimizing tier: clang `-O3 -march=native` into a cached shared object (`ClangCompiler`).
    case clang

    public var description: String { rawValue }
}
