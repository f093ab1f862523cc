import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import Foundation

/// A shared object compiled by ``ClangCompiler`` and loaded with `dlopen`; owns the library handle.
///
/// The library is closed in `deinit`: keep the module alive for as long as any `KernelFunction`
/// obtained from it may be called.
///
/// `@unchecked Sendable`: all stored properties are immutable after init, and `dlsym`/`dlclose`
/// are thread-safe in glibc; the loaded code is read-only and callable from any thread.
public final class ClangModule: CompiledCModule, @unchecked Sendable {
    // MARK: - Properties

    public let name: String
    public let source: String
    public var backend: CompilerBackend { .clang }
    /// Time clang ran for this module; zero when it came from the cache.
    public let compileTime: Duration
    /// Time for the whole ``ClangCompiler/compile(_:moduleName:)`` call: hashing, compiling if
    /// needed, and loading.
    public let totalTime: Duration
    /// Whether the shared object was already in the cache (no clang run).
    public let isCacheHit: Bool
    public var cacheHit: Bool? { isCacheHit }
    /// The cached shared object.
    public let libraryURL: URL
    /// clang's output (warnings) when it compiled this module; empty for a cache hit.
    public let diagnostics: String

    /// The `dlopen` handle; owned, closed in `deinit`.
    private let handle: UnsafeMutableRawPointer

    // MARK: - Lifecycle

    /// Loads the shared object at `path` (the verified cache entry `url`, through its open
    /// descriptor) with `RTLD_NOW | RTLD_LOCAL` (all symbols resolved up front, none exported to later loads).
    /// - Throws: ``CompileError`` with stage `load` and `dlerror()`'s message.
    init(
        loading path: String,
        url: URL,
        name: String,
        source: String,
        isCacheHit: Bool,
        compileTime: Duration,
        startedAt start: ContinuousClock.Instant,
        diagnostics: String
    ) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw CompileError(
                backend: .clang, moduleName: name, stage: .load,
                diagnostics: "cannot load \(url.path): \(reason)", source: source
            )
        }
        self.handle = handle
        self.name = name
        self.source = source
        self.isCacheHit = isCacheHit
        self.libraryURL = url
        self.compileTime = compileTime
        self.diagnostics = diagnostics
        self.totalTime = ContinuousClock.now - start
    }

    deinit {
        // Unmaps the code (once the last handle to this file is closed): no function from this
        // module may run afterwards, which holds because callers keep the module alive meanwhile.
        dlclose(handle)
    }

    // MARK: - Symbols

    public func function(named name: String) throws -> KernelFunction {
        guard let address = dlsym(handle, name) else {
            throw CompileError(
                backend: .clang, moduleName: self.name, stage: .lookup,
                diagnostics: "no symbol '\(name)' in module '\(self.name)' (\(libraryURL.lastPathComponent))",
                source: source
            )
        }
        return kernelFunction(at: address)
    }
}
