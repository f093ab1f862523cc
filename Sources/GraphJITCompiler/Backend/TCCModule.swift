import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import CTCC

/// C code compiled in memory by ``TCCCompiler``; owns the libtcc state that holds the machine code.
///
/// The code lives inside the `TCCState`, which is freed in `deinit`: keep the module alive for as
/// long as any `KernelFunction` obtained from it may be called.
///
/// `@unchecked Sendable`: all stored properties are immutable after init; the state is only touched
/// by `tcc_get_symbol` and `tcc_delete`, both under ``TCCCompiler``'s process-wide libtcc lock, and
/// the relocated code is read-only and callable from any thread.
public final class TCCModule: CompiledCModule, @unchecked Sendable {
    // MARK: - Properties

    public let name: String
    public let source: String
    public var backend: CompilerBackend { .tcc }
    /// Time from the start of ``TCCCompiler/compile(_:moduleName:)`` to relocated code, including
    /// waiting for the libtcc lock.
    public let compileTime: Duration
    /// Warnings tcc printed while compiling (empty for clean source).
    public let diagnostics: String

    /// The relocated libtcc state; owned, freed in `deinit`.
    private let state: OpaquePointer

    // MARK: - Lifecycle

    /// Takes ownership of a relocated state.
    init(state: OpaquePointer, name: String, source: String, diagnostics: String, compileTime: Duration) {
        self.state = state
        self.name = name
        self.source = source
        self.diagnostics = diagnostics
        self.compileTime = compileTime
    }

    deinit {
        // Frees the code too: no function from this module may run after this point, which holds
        // because callers keep the module alive while they use its functions.
        TCCCompiler.libtccLock.withLock { _ in tcc_delete(state) }
    }

    // MARK: - Symbols

    public func function(named name: String) throws -> KernelFunction {
        guard let address = address(of: name) else {
            throw CompileError(
                backend: .tcc,
                moduleName: self.name,
                stage: .lookup,
                diagnostics: "no symbol '\(name)' in module '\(self.name)'",
                source: source
            )
        }
        return kernelFunction(at: address)
    }

    /// The address of a global symbol defined by the module (or bound into it), or `nil`.
    /// Valid while the module is alive.
    func address(of symbol: String) -> UnsafeMutableRawPointer? {
        TCCCompiler.libtccLock.withLock { _ in tcc_get_symbol(state, symbol) }
    }
}
