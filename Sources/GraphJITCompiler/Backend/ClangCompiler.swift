import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import Foundation

/// Compiles C source with clang into a shared object, cached on disk: GraphJIT's optimizing tier.
///
/// Runs `clang -O3 -march=native -ffp-contract=fast -fPIC -shared -fno-math-errno` (no
/// `-ffast-math`: it breaks NaN/Inf handling; `-march` as ``ClangTarget`` derives it from the runtime's
/// instruction-set path) and loads the result with `dlopen`. Shared objects are
/// cached in ``cacheDirectory`` under a SHA-256 key of the source, the full clang command line, clang's
/// version string and the CPU identity (model name and feature flags, since `-march=native` code is
/// only valid on the CPU it was built for). A cache hit costs a hash and a `dlopen`.
///
/// Cache writes are atomic: clang writes a uniquely named temporary file inside the cache directory,
/// which is then renamed over the final name, so concurrent processes never load a half-written file.
/// Every object is verified before it is loaded (`SharedObjectCache`: owner, permissions, a
/// SHA-256 recorded at write time); a bad entry is removed and recompiled, never loaded.
///
/// ```swift
/// let clang = try ClangCompiler()
/// let module = try clang.compile(source, moduleName: "dense_relu")
/// print(module.isCacheHit, module.compileTime)
/// ```
public struct ClangCompiler: Sendable {
    // MARK: - Configuration

    /// The optimizing tier's code-generation flags, for the runtime's current instruction-set path
    /// (``ClangTarget/current``).
    public static var defaultFlags: [String] {
        ["-O3"] + ClangTarget.current.flags + ["-ffp-contract=fast", "-fPIC", "-shared", "-fno-math-errno"]
    }

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
        let (cache, cacheNote) = usableCache()
        let libraryURL = cache.objectURL(stem: Self.cacheStem(for: moduleName), key: key)
        var notes = cacheNote.map { [$0] } ?? []

        // 1. Cache hit: load it once verified. An entry that fails verification or loading is removed.
        switch cache.lookUp(libraryURL, key: key) {
        case let .hit(object):
            // `loadPath` is nil when a concurrent compile just replaced the file (same bytes): fall
            // through and load it again below, never removing it.
            if let path = object.loadPath {
                if let module = try? ClangModule(
                    loading: path, url: libraryURL, name: moduleName, source: source, isCacheHit: true,
                    compileTime: .zero, startedAt: start, diagnostics: notes.joined(separator: "\n")
                ) {
                    return module
                }
                cache.remove(libraryURL)
                notes.append("\(libraryURL.lastPathComponent) did not load; removed, recompiling")
            }
        case let .miss(reason):
            if let reason { notes.append(reason) }
        }

        // 2. Miss: compile into a temporary name inside the cache directory, then store it with its
        //    record. An object that cannot be stored (a folder in the way) is loaded uncached.
        let temporary = cache.directory.appending(path: ".\(libraryURL.lastPathComponent).\(UUID().uuidString).tmp")
        defer { unlink(temporary.path) }
        let (compileTime, diagnostics) = try build(
            prefixedSource, fileName: fileName, moduleName: moduleName, source: source, into: temporary,
            namedAs: libraryURL
        )
        notes.append(diagnostics)
        func load(_ path: String, url: URL) throws -> ClangModule {
            try ClangModule(loading: path, url: url, name: moduleName, source: source, isCacheHit: false,
                            compileTime: compileTime, startedAt: start,
                            diagnostics: notes.filter { !$0.isEmpty }.joined(separator: "\n"))
        }
        do throws(CacheStoreError) {
            try cache.store(temporary, at: libraryURL, key: key)
        } catch {
            notes.append("not cached: \(error.message)")
            return try load(temporary.path, url: temporary)
        }
        // Stored: load the verified entry. A concurrent compile of the same source may replace it
        // (identical bytes) between the check and the load, so try a few times.
        for _ in 0..<3 {
            if case let .hit(object) = cache.lookUp(libraryURL, key: key), let path = object.loadPath {
                return try withExtendedLifetime(object) { try load(path, url: libraryURL) }
            }
        }
        throw CompileError(backend: .clang, moduleName: moduleName, stage: .load,
                           diagnostics: "the compiled object at \(libraryURL.path) failed verification after it "
                               + "was stored", source: source)
    }

    /// The cache to use: ``cacheDirectory`` when it is (or can be made) a folder only this user can
    /// write, else a private folder for this user under the temporary directory, with a note
    /// saying why; if that one is not trustworthy either (another user made it), a fresh one.
    private func usableCache() -> (SharedObjectCache, String?) {
        let fileManager = FileManager.default
        try? fileManager.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        if SharedObjectCache.isTrustworthyFolder(cacheDirectory), access(cacheDirectory.path, W_OK | X_OK) == 0 {
            return (SharedObjectCache(directory: cacheDirectory), nil)
        }
        let reason = "the cache folder \(cacheDirectory.path) is not a folder only this user can write"
        let fallback = fileManager.temporaryDirectory.appending(path: "graphjit-cache-\(geteuid())")
        try? fileManager.createDirectory(at: fallback, withIntermediateDirectories: true,
                                         attributes: [.posixPermissions: 0o700])
        if SharedObjectCache.isTrustworthyFolder(fallback) {
            return (SharedObjectCache(directory: fallback), "\(reason); using \(fallback.path)")
        }
        var template = Array(fileManager.temporaryDirectory.appending(path: "graphjit-cache-XXXXXX").path.utf8CString)
        let fresh = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) }
        let folder = URL(filePath: fresh ?? fileManager.temporaryDirectory.path, directoryHint: .isDirectory)
        return (SharedObjectCache(directory: folder), "\(reason), nor is \(fallback.path); using \(folder.path)")
    }

    /// Runs clang, writing the shared object to `output` under the cache name `finalURL` (see
    /// ``SharedObjectCache/linkerArguments(naming:)``); returns the time clang took and its output.
    private func build(
        _ prefixedSource: String,
        fileName: String,
        moduleName: String,
        source: String,
        into output: URL,
        namedAs finalURL: URL
    ) throws -> (Duration, String) {
        func failure(_ stage: CompileError.Stage, _ message: String) -> CompileError {
            CompileError(backend: .clang, moduleName: moduleName, stage: stage, diagnostics: message, source: source)
        }
        let fileManager = FileManager.default
        let workDirectory = fileManager.temporaryDirectory.appending(path: "graphjit-\(UUID().uuidString)")
        defer { try? fileManager.removeItem(at: workDirectory) }
        let sourceURL = workDirectory.appending(path: fileName)
        do {
            try fileManager.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            try prefixedSource.write(to: sourceURL, atomically: false, encoding: .utf8)
        } catch {
            throw failure(.toolchain, "cannot prepare the build: \(error.localizedDescription)")
        }

        // The work folder's unique name is mapped away, so debug information (`-g` in `flags`)
        // records the same paths in every build of one source.
        let arguments = flags + ["-ffile-prefix-map=\(workDirectory.path)=.", "-o", output.path, sourceURL.path]
            + Self.linkArguments + SharedObjectCache.linkerArguments(naming: finalURL)
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
        return (compileTime, result.output)
    }
}
