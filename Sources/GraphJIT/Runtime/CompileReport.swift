import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// What compiling a model cost and how much memory its plan takes.
public struct CompileReport: Sendable, Equatable {
    /// tcc's time for the whole module, if the instant tier ran.
    public var instantCompileTime: Duration?
    /// clang's time (zero on a cache hit), once the optimizing tier has run.
    public var optimizedCompileTime: Duration?
    /// Whether clang's shared object came from the disk cache.
    public var optimizedCacheHit: Bool?
    /// Why background optimization failed, if it did (the instant kernels stay in use).
    public var optimizationError: String?
    /// Number of generated kernels.
    public var kernelCount = 0
    /// The activation arena per execution context.
    public var arenaBytes = 0
    /// The arena without buffer reuse, for comparison.
    public var unsharedArenaBytes = 0
    /// The largest set of simultaneously live activations.
    public var peakLiveActivationBytes = 0
    /// Bound weights (raw plus packed copies).
    public var weightBytes = 0
}
