import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Which engine runs a prediction.
public struct Engine: Equatable, Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case reference(ReferenceInterpreter.Accumulation)
        case jit(CompilationTier)
    }

    let kind: Kind

    /// The pure-Swift reference interpreter (Double accumulation): slow, simple, the oracle.
    public static let reference = Engine(kind: .reference(.double))
    /// The JIT: fused C kernels, compiled on first use for each batch size (automatic tier).
    public static let jit = Engine(kind: .jit(.automatic))

    /// The JIT with an explicit compilation tier.
    public static func jit(tier: CompilationTier) -> Engine { Engine(kind: .jit(tier)) }

    /// The reference interpreter with the given accumulation type.
    public static func reference(accumulation: ReferenceInterpreter.Accumulation) -> Engine {
        Engine(kind: .reference(accumulation))
    }

    /// A one-line message.
    public var description: String {
        switch kind {
        case .reference: "reference"
        case let .jit(tier): "jit(\(tier))"
        }
    }
}

/// How the JIT compiles the generated C.
public enum CompilationTier: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// libtcc, in memory: compiles in milliseconds.
    case instant
    /// clang `-O3 -march=native` into a shared object, cached on disk.
    case optimized
    /// Starts on the instant tier; from a plan's second call (per batch size and purpose), compiles the optimized kernels in
    /// the background and swaps them in when they are ready, without blocking callers. The
    /// library's and the command line's default.
    case automatic

    /// A one-line message.
    public var description: String { rawValue }
}
