import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import Foundation

/// Compiles C source with clang into a shared object, cached on disk: GraphJIT's optimizing tier.
///
/// Runs `clang -O3 -march=native -ffp-contract=fast -fPIC -shared -fno-math-errno` (no
/// `-ffast-math`: it breaks NaN/Inf handling) and loads the result with `dlopen`. Shared objects are
/// cached in ``cacheDirectory`` under a SHA-256 key of the source, the full clang command line, clang's
/// version string and the CPU identity (model name and feature flags, since `-march=native` code is
/// only valid on the CPU it was built for). A cache hit costs a hash and a `dlopen`.
///
/// Cache writes are atomic: clang writes a uniquely named temporary file inside the cache directory,
/// which is then renamed over the final name, so concurrent processes never load a half-written file.
///
/// ```swift
/// let clang = try ClangCompiler()
/// let module = try clang.compile(source, moduleName: "dense_relu")
/// print(module.isCacheHit, module.compileTime)
/// ```
public struct ClangCompiler: Sendable {
    // MARK: - Configuration

    /// The optimizing tier's code-generation flags.
    public static let defaultFlags = [
        "-O3", "-march=native", "-ffp-contract=fast", "-fPIC", "-shared", "-fno-math-errno",
    ]

    /// Arguments after the source file: fail at link time on undefined symbols (instead of at
    /// `dlopen`, after caching a broken object) and record libm as a dependency of the object.
    static let linkArguments = ["-Wl,-z,defs", "-lm"]

    /// Absolute path of the clang executable.
    public let clangPath: String
    /// The output of `clang --version` (part of the cache key).
    public let clangVersion: String
    /// Where compiled shared objects are cached.
    public let cacheDirectory: URL
    /// Code-generation flags (part of the cache key); see ``defaultFlags``.
    public let flags: [String]

    /// Creates a compiler, locating clang and reading its version.
    /// - Parameters:
    ///   - clangPath: the clang to use; by default ``locateClang(environment:)`` decides.
    ///   - cacheDirectory: by default ``defaultCacheDirectory(environment:)``.
    ///   - flags: code-generation flags; by default ``defaultFlags``.
    /// - Throws: ``CompileError`` with stage `toolchain` if clang cannot be found or run.
    public init(clangPath: String? = nil, cacheDirectory: URL? = nil, flags: [String] = defaultFlags) throws {
        guard let path = clangPath ?? Self.locateClang() else {
            throw CompileError(
                backend: .clang, moduleName: "(none)", stage: .toolchain,
                diagnostics: "clang not found: set GRAPHJIT_CLANG, or put clang next to swift or on PATH",
                source: ""
            )
        }
        self.clangPath = path
        self.clangVersion = try Self.version(ofClangAt: path)
        self.cacheDirectory = cacheDirectory ?? Self.defaultCacheDirectory()
        self.flags = flags
    }

    // MARK: - Compiling

    /// Returns the module for `source`, from the cache if present, else by running clang.
    ///
    /// The source is prefixed with `#line 1 "moduleName.c"` so diagnostics name the module and use
    /// the caller's line numbers.
    /// - Throws: ``CompileError`` (backend `clang`) with clang's output: stage `compile` or `link`
    ///   when clang fails, `load` when the object cannot be written to the cache or loaded,
    ///   `toolchain` when clang cannot be started.
    public func compile(_ source: String, moduleName: String) throws -> ClangModule {
        let start = ContinuousClock.now
        let fileName = CompileError.fileName(for: moduleName)
        let prefixedSource = "#line 1 \"\(fileName)\"\n" + source
        let key = cacheKey(forPrefixedSource: prefixedSource)
        let libraryURL = cacheDirectory.appending(path: "\(Self.cacheStem(for: moduleName))-\(key).so")

        // 1. Cache hit: load it. A file that fails to load (truncated by a crash, foreign) is dropped.
        if FileManager.default.fileExists(atPath: libraryURL.path) {
            if let module = try? ClangModule(
                loading: libraryURL, name: moduleName, source: source, isCacheHit: true,
                compileTime: .zero, startedAt: start, diagnostics: ""
            ) {
                return module
            }
            try? FileManager.default.removeItem(at: libraryURL)
        }

        // 2. Miss: compile into a temporary name inside the cache directory, then rename atomically.
        let (compileTime, diagnostics) = try build(
            prefixedSource, fileName: fileName, moduleName: moduleName, source: source, into: libraryURL
        )
        return try ClangModule(
            loading: libraryURL, name: moduleName, source: source, isCacheHit: false,
            compileTime: compileTime, startedAt: start, diagnostics: diagnostics
        )
    }

    /// Runs clang and moves the result to `libraryURL`; returns the time clang took and its output.
    private func build(
        _ prefixedSource: String,
        fileName: String,
        moduleName: String,
        source: String,
        into libraryURL: URL
    ) throws -> (Duration, String) {
        func failure(_ stage: CompileError.Stage, _ message: String) -> CompileError {
            CompileError(backend: .clang, moduleName: moduleName, stage: stage, diagnostics: message, source: source)
        }
        let fileManager = FileManager.default
        let workDirectory = fileManager.temporaryDirectory.appending(path: "graphjit-\(UUID().uuidString)")
        let temporaryLibrary = cacheDirectory.appending(path: ".\(libraryURL.lastPathComponent).\(UUID().uuidString).tmp")
        defer {
            try? fileManager.removeItem(at: workDirectory)
            try? fileManager.removeItem(at: temporaryLibrary)
        }
        let sourceURL = workDirectory.appending(path: fileName)
        do {
            try fileManager.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
            try fileManager.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            try prefixedSource.write(to: sourceURL, atomically: false, encoding: .utf8)
        } catch {
            throw failure(.toolchain, "cannot prepare the build: \(error)")
        }

        let arguments = flags + ["-o", temporaryLibrary.path, sourceURL.path] + Self.linkArguments
        let clangStart = ContinuousClock.now
        let result: ProcessResult
        do {
            result = try Self.run(clangPath, arguments)
        } catch {
            throw failure(.toolchain, "cannot run \(clangPath): \(error)")
        }
        let compileTime = ContinuousClock.now - clangStart
        guard result.status == 0 else {
            let stage: CompileError.Stage = result.output.contains("linker command failed") ? .link : .compile
            throw failure(stage, result.output)
        }
        // rename(2) atomically replaces any file a concurrent compile put there (same content).
        guard rename(temporaryLibrary.path, libraryURL.path) == 0 else {
            throw failure(.load, "cannot move the compiled object into the cache at \(libraryURL.path): "
                + String(cString: strerror(errno)))
        }
        return (compileTime, result.output)
    }
}
