import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import CTCC
import Synchronization

/// Compiles C source in memory with libtcc: GraphJIT's instant tier.
///
/// A compile takes a few milliseconds and produces unoptimized scalar code (no SIMD, no FMA). The
/// build is hermetic: tcc runs with `-nostdlib`, so no `libtcc1.a`, crt files or system libraries are
/// loaded, and every external function the generated code may call is bound explicitly with
/// `tcc_add_symbol` (see ``standardSymbolNames``; add more with ``symbols``). Anything else is an
/// undefined symbol and fails the compile with ``CompileError/Stage/link``.
///
/// libtcc is not reentrant, so every use of it in the process (from `tcc_new` to `tcc_relocate`, and
/// symbol lookup and `tcc_delete` in ``TCCModule``) is serialized by one process-wide lock. Compiled
/// functions themselves can be called from any thread, concurrently.
///
/// ```swift
/// let module = try TCCCompiler().compile(source, moduleName: "dense_relu")
/// let kernel = try module.function(named: "dense_relu")
/// ```
public struct TCCCompiler: Sendable {
    // MARK: - Configuration

    /// An external C symbol made visible to compiled code under `name`.
    ///
    /// `@unchecked Sendable`: the address is an immutable value that refers to code or data with
    /// static lifetime (a C function or global of the host process); it is never dereferenced here.
    public struct Symbol: @unchecked Sendable {
        /// The C name the generated source uses.
        public let name: String
        /// The address tcc binds the name to.
        public let address: UnsafeRawPointer

        /// Creates a symbol binding. `address` must stay valid for as long as compiled code runs.
        public init(name: String, address: UnsafeRawPointer) {
            self.name = name
            self.address = address
        }
    }

    /// Options passed to `tcc_set_options`, as on tcc's command line.
    public var options: String
    /// Extra symbols bound in addition to the standard libc/libm set; a name given here overrides
    /// the standard binding.
    public var symbols: [Symbol]

    /// Creates a compiler.
    /// - Parameters:
    ///   - options: tcc command-line options; keep `-nostdlib` for a hermetic build.
    ///   - symbols: extra externals for generated code, beyond ``standardSymbolNames``.
    public init(options: String = "-nostdlib", symbols: [Symbol] = []) {
        self.options = options
        self.symbols = symbols
    }

    /// The symbols every compile binds: libc `memset`, `memcpy`, `memmove`; libm `expf`, `logf`,
    /// `tanhf`, `sqrtf`, `fabsf`, `fmaxf`, `fminf`, `exp`, `tanh`; and the helpers tcc itself calls
    /// for float/double <-> unsigned 64-bit conversions (`__fixunssfdi`, `__fixunsdfdi`,
    /// `__floatundisf`, `__floatundidf`), normally in `libtcc1.a`. Long double conversions to
    /// unsigned 64-bit and `alloca` are not available (generated code does not need them).
    public static var standardSymbolNames: [String] {
        standardSymbols.map(\.name)
    }

    // MARK: - Compiling

    /// Compiles `source` and relocates it into executable memory owned by the returned module.
    ///
    /// The source is prefixed with `#line 1 "moduleName.c"` so that diagnostics name the module and
    /// use the caller's line numbers.
    /// - Throws: ``CompileError`` (backend `tcc`) with stage `compile` for rejected source, `link` for
    ///   undefined symbols, `toolchain` if libtcc cannot create a state.
    public func compile(_ source: String, moduleName: String) throws -> TCCModule {
        let start = ContinuousClock.now
        let prefixedSource = "#line 1 \"\(CompileError.fileName(for: moduleName))\"\n" + source
        let collector = DiagnosticCollector()
        let bindings = Self.standardSymbols.filter { standard in
            !symbols.contains { $0.name == standard.name }
        } + symbols

        let outcome: TCCOutcome = withExtendedLifetime(collector) {
            Self.libtccLock.withLock { _ in
                Self.compileLocked(prefixedSource, options: options, bindings: bindings, collector: collector)
            }
        }
        let diagnostics = collector.messages.joined(separator: "\n")
        switch outcome {
        case .compiled(let state):
            return TCCModule(
                state: state,
                name: moduleName,
                source: source,
                diagnostics: diagnostics,
                compileTime: ContinuousClock.now - start
            )
        case .failed(let stage):
            throw CompileError(
                backend: .tcc,
                moduleName: moduleName,
                stage: stage,
                diagnostics: diagnostics.isEmpty ? "libtcc reported no message" : diagnostics,
                source: source
            )
        }
    }

    // MARK: - libtcc (serialized)

    /// The one lock around every libtcc call in the process. libtcc keeps global compiler state
    /// (its `tcc_state`, token tables), so two states must never be inside libtcc at once.
    static let libtccLock = Mutex(())

    /// The standard bindings from the C shim, read once.
    private static let standardSymbols: [Symbol] = {
        var symbols: [Symbol] = []
        // 1. The shim returns a static array terminated by {NULL, NULL}; it is never freed.
        var entry = gj_tcc_standard_symbols()!
        // 2. Each `address` is a libc/libm function's address taken in C (see shim.h for the ABI).
        while let name = entry.pointee.name, let address = entry.pointee.address {
            symbols.append(Symbol(name: String(cString: name), address: address))
            entry += 1
        }
        return symbols
    }()

    /// Runs one compile from `tcc_new` to `tcc_relocate`. Must be called with ``libtccLock`` held.
    /// On success the caller owns the returned state and must free it with `tcc_delete` (under the
    /// lock); on failure the state is already freed.
    private static func compileLocked(
        _ source: String,
        options: String,
        bindings: [Symbol],
        collector: DiagnosticCollector
    ) -> TCCOutcome {
        guard let state = tcc_new() else {
            collector.append("tcc_new() failed (out of memory?)")
            return .failed(.toolchain)
        }
        // 1. Diagnostics: `collector` is passed unretained; the caller keeps it alive for the whole
        //    compile, and the callback is removed before a surviving state is returned (a failed
        //    state is deleted), so libtcc never calls it with a dangling pointer.
        tcc_set_error_func(state, Unmanaged.passUnretained(collector).toOpaque()) { opaque, message in
            guard let opaque, let message else { return }
            Unmanaged<DiagnosticCollector>.fromOpaque(opaque).takeUnretainedValue()
                .append(String(cString: message))
        }

        // 2. Hermetic in-memory output. The output type must be set before compiling.
        tcc_set_options(state, options)
        guard tcc_set_output_type(state, TCC_OUTPUT_MEMORY) == 0 else {
            tcc_delete(state)
            return .failed(.toolchain)
        }

        // 3. Externals. tcc copies the name; the address must outlive the compiled code (static).
        for symbol in bindings {
            _ = tcc_add_symbol(state, symbol.name, symbol.address)
        }

        // 4. Compile, then relocate (undefined symbols are detected only here).
        guard tcc_compile_string(state, source) == 0 else {
            tcc_delete(state)
            return .failed(.compile)
        }
        guard gj_tcc_relocate_auto(state) >= 0 else {
            tcc_delete(state)
            return .failed(.link)
        }
        tcc_set_error_func(state, nil, nil)
        return .compiled(state)
    }
}

// MARK: - Private helpers

/// The result of a locked compile: a relocated state, or the stage that failed.
///
/// `@unchecked Sendable`: the state pointer is created under ``TCCCompiler/libtccLock`` and handed
/// out exactly once, to a single new ``TCCModule``; nothing else keeps it.
private enum TCCOutcome: @unchecked Sendable {
    case compiled(OpaquePointer)
    case failed(CompileError.Stage)
}

/// Collects the messages libtcc passes to its error callback during one compile.
/// Used by one thread at a time (the one holding the libtcc lock).
private final class DiagnosticCollector {
    private(set) var messages: [String] = []

    func append(_ message: String) {
        messages.append(message)
    }
}
