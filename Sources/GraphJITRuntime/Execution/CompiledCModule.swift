public import CGraphJITRuntime
import GraphJITIR

// MARK: - Kernel ABI

/// The Swift type of every generated kernel:
///
/// ```c
/// void name(float *const *buffers, const gj_runtime *rt);
/// ```
///
/// `buffers` is the kernel's table of buffer addresses (resolved at plan time); `rt` is the runtime
/// table from `gj_runtime_get()`. A `KernelFunction` is only valid while the ``CompiledCModule`` it
/// came from is alive: keep a strong reference to the module next to the function.
public typealias KernelFunction = @convention(c) (
    UnsafePointer<UnsafeMutablePointer<Float>?>?,
    UnsafePointer<gj_runtime>?
) -> Void

// MARK: - Compiled module

/// A unit of C source compiled by one of GraphJIT's backends, from which kernels are looked up by name.
///
/// Both `TCCModule` (instant tier) and `ClangModule` (optimizing tier) conform, so the rest of
/// GraphJIT treats the tiers alike. Conforming types own the machine code: function pointers obtained
/// from ``function(named:)`` dangle once the module is deallocated.
public protocol CompiledCModule: AnyObject, Sendable {
    /// The module's name, as passed to the compiler (also the file name in diagnostics: `name.c`).
    var name: String { get }
    /// The C source as given to the compiler (without the `#line` prefix the backend adds).
    var source: String { get }
    /// The compiler that produced this module.
    var backend: CompilerBackend { get }
    /// Wall-clock time the compiler spent producing this module (zero for a clang cache hit).
    var compileTime: Duration { get }
    /// Whether the machine code came from a disk cache (`nil` for a backend without one).
    var cacheHit: Bool? { get }

    /// Looks up a kernel by its C name.
    /// - Throws: `CompileError` with stage `lookup` if no such symbol exists.
    func function(named name: String) throws -> KernelFunction
}

extension CompiledCModule {
    public var cacheHit: Bool? { nil }
}

// MARK: - Address to function

/// Turns the address of a compiled kernel into a callable Swift function.
///
/// - Precondition: `address` is the entry point of a C function with exactly the signature
///   `void (float *const *, const gj_runtime *)`, compiled for the System V x86-64 (or AArch64 AAPCS)
///   C calling convention, and the code stays mapped while the result is used.
package func kernelFunction(at address: UnsafeMutableRawPointer) -> KernelFunction {
    // ABI: a `@convention(c)` function value is a bare C function pointer (one machine word, no
    // context), so reinterpreting the entry address is exactly a C cast from `void *` to the kernel's
    // function-pointer type. Both tcc and clang emit the platform's standard C calling convention.
    unsafeBitCast(address, to: KernelFunction.self)
}
