import CGraphJITRuntime
import Crypto
import Foundation
import Synchronization

// MARK: - OptimizedRuntime

/// Serves the C runtime from an optimized build of itself when the linked copy is unoptimized.
///
/// SwiftPM compiles `runtime-c` at `-O0` in debug builds (and a package others depend on may not set
/// compiler flags), where its GEMM, im2col and vector math run 40-100x slower than in a release
/// build. In such a build the first model compilation (``installIfNeeded()``, called once from the
/// model compiler):
/// 1. finds the runtime's sources relative to this file (`RuntimeSources`);
/// 2. compiles `runtime-c/src/*.c` with the toolchain's clang (found as the optimizing tier finds
///    it, ``ClangCompiler/locateClang(environment:)``) at SwiftPM release's level into a shared
///    object, cached beside the JIT's kernels (``ClangCompiler/defaultCacheDirectory(environment:)``)
///    under the SHA-256 of the sources, clang's version and the flags (`RuntimeLibraryCache`);
/// 3. loads it with `RTLD_NOW | RTLD_LOCAL`, checks its ABI version and that it was optimized, and
///    installs its entry points (`gj_runtime_install`): from then on `gj_runtime_get()` and every
///    other host entry point of the runtime are the loaded copy's (`LoadedRuntime`).
///
/// A release build changes nothing (``Status/alreadyOptimized``). Any failure leaves the linked
/// runtime serving calls and is reported in ``status``; nothing here stops the process.
/// `GRAPHJIT_OPTIMIZED_RUNTIME=0` turns the whole mechanism off.
///
/// ```swift
/// print(OptimizedRuntime.installIfNeeded())  // e.g. "optimized runtime compiled in 2300 ms (...)"
/// ```
public enum OptimizedRuntime {
    /// What ``installIfNeeded()`` did.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        /// The linked runtime was compiled with optimization (a release build): nothing to do.
        case alreadyOptimized
        /// `GRAPHJIT_OPTIMIZED_RUNTIME=0`: the linked, unoptimized runtime serves calls.
        case disabled
        /// The optimized runtime at `library` came from the cache and serves calls.
        case installedFromCache(library: String)
        /// The optimized runtime was compiled (clang ran for `compileTime`) into `library`, which
        /// serves calls.
        case compiled(library: String, compileTime: Duration)
        /// The optimized runtime could not be built or loaded; the linked runtime serves calls.
        case unavailable(reason: String)

        /// Whether calls are served by the loaded optimized copy.
        public var isInstalled: Bool {
            switch self {
            case .installedFromCache, .compiled: true
            case .alreadyOptimized, .disabled, .unavailable: false
            }
        }

        public var description: String {
            switch self {
            case .alreadyOptimized:
                "the linked C runtime is optimized (release build)"
            case .disabled:
                "optimized runtime disabled by GRAPHJIT_OPTIMIZED_RUNTIME=0 (the linked -O0 runtime serves calls)"
            case let .installedFromCache(library):
                "optimized runtime loaded from the cache (\(library))"
            case let .compiled(library, compileTime):
                "optimized runtime compiled in \(Int((compileTime / .milliseconds(1)).rounded())) ms (\(library))"
            case let .unavailable(reason):
                "optimized runtime unavailable, the linked unoptimized runtime serves calls: \(reason)"
            }
        }
    }

    /// The environment variable that turns the optimized runtime off when set to `0`.
    public static let environmentSwitch = "GRAPHJIT_OPTIMIZED_RUNTIME"

    /// The result of this process's installation, or `nil` while ``installIfNeeded()`` has not run.
    public static var status: Status? { recorded.withLock { $0 } }

    /// Installs the optimized runtime if the linked one is unoptimized. Runs once per process
    /// (concurrent first callers wait for it); later calls return the first result.
    @discardableResult
    public static func installIfNeeded() -> Status { installation }

    /// The one installation attempt (a `static let`: initialized once, thread-safely). A failure
    /// is also written to standard error once, since it leaves a debug build 40-100x slower.
    private static let installation: Status = {
        let result = install(environment: ProcessInfo.processInfo.environment)
        recorded.withLock { $0 = result }
        if case .unavailable = result { FileHandle.standardError.write(Data("GraphJIT: \(result)\n".utf8)) }
        return result
    }()

    private static let recorded = Mutex<Status?>(nil)

    // MARK: - Installing

    /// Decides, builds or loads, and installs; the body of ``installIfNeeded()``. Call it directly
    /// only where no installation can follow (it installs at most once per process either way).
    static func install(environment: [String: String]) -> Status {
        // The linked copy's own answer: `gj_runtime_own_entry_points` is never routed.
        if gj_runtime_own_entry_points().pointee.runtime_is_optimized() != 0 { return .alreadyOptimized }
        if environment[environmentSwitch] == "0" { return .disabled }
        do {
            let cache = try RuntimeLibraryCache(environment: environment)
            let (runtime, origin) = try prepare(cache)
            do {
                try runtime.install()
            } catch {
                runtime.unload()  // not installed, and nothing of it runs
                throw error
            }
            switch origin {
            case .cache: return .installedFromCache(library: cache.libraryURL.path)
            case let .compiled(time): return .compiled(library: cache.libraryURL.path, compileTime: time)
            }
        } catch {
            return .unavailable(reason: "\(error)")
        }
    }

    /// Where a loaded runtime came from.
    enum Origin: Equatable {
        case cache
        case compiled(Duration)
    }

    /// A loaded and checked optimized runtime from `cache`: the cached object if it verifies
    /// and it loads, else a fresh build. A cached object that fails either check is removed.
    static func prepare(_ cache: RuntimeLibraryCache) throws -> (LoadedRuntime, Origin) {
        if let cached = cache.verifiedLibrary() {
            if let runtime = try? LoadedRuntime(loading: cached) { return (runtime, .cache) }
            cache.remove()
        }
        let compileTime = try cache.build()
        do {
            return (try LoadedRuntime(loading: cache.libraryURL), .compiled(compileTime))
        } catch {
            cache.remove()
            throw error
        }
    }
}

// MARK: - Errors

/// Why the optimized runtime could not be built or loaded (reported in
/// ``OptimizedRuntime/Status/unavailable(reason:)``).
struct OptimizedRuntimeError: Error, CustomStringConvertible {
    enum Stage: String {
        case sources, toolchain, compile, link, cache, load, check, install
    }

    let stage: Stage
    let message: String

    init(_ stage: Stage, _ message: String) {
        self.stage = stage
        self.message = message
    }

    var description: String { "\(stage.rawValue): \(message)" }
}

// MARK: - Sources

/// The C runtime's source tree, found relative to this Swift file.
///
/// `#filePath` of this file is `<package>/Sources/GraphJITCompiler/Backend/OptimizedRuntime.swift`,
/// so the runtime is `../../../runtime-c` from its folder. That path exists wherever the package was
/// built from source: a checkout of GraphJIT, and a dependent package's
/// `.build/checkouts/GraphJIT`. It does not for a binary moved away from its build (then the
/// status is `unavailable`).
struct RuntimeSources: Sendable {
    /// `runtime-c/`.
    let root: URL
    /// `runtime-c/src/*.c`, sorted: the translation units of the shared object.
    let translationUnits: [URL]
    /// Every file the build reads (`src/*.{c,h}`, `include/*.h`) by path relative to `root`,
    /// sorted, with its content: the part of the cache key that the sources decide.
    let contents: [(path: String, data: Data)]

    var includeDirectory: URL { root.appending(path: "include") }
}

extension RuntimeSources {
    /// `runtime-c/` of the package this file was compiled from.
    static let packageRuntimeDirectory = URL(filePath: #filePath)
        .deletingLastPathComponent()  // Backend
        .deletingLastPathComponent()  // GraphJITCompiler
        .deletingLastPathComponent()  // Sources
        .deletingLastPathComponent()  // the package
        .appending(path: "runtime-c", directoryHint: .isDirectory)

    /// Reads the tree at `root`.
    /// - Throws: ``OptimizedRuntimeError`` (stage `sources`) when it is missing or unreadable.
    init(root: URL = packageRuntimeDirectory) throws {
        self.root = root
        func files(in folder: String, extensions: Set<String>) throws -> [String] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: root.appending(path: folder).path)
            } catch {
                throw OptimizedRuntimeError(.sources,
                                            "cannot list the runtime sources in \(root.path)/\(folder): \(error)")
            }
            return names.filter { extensions.contains(URL(filePath: $0).pathExtension) }.map { "\(folder)/\($0)" }
        }
        let units = try files(in: "src", extensions: ["c"]).sorted()
        guard !units.isEmpty else { throw OptimizedRuntimeError(.sources, "no C files in \(root.path)/src") }
        let all = try (files(in: "src", extensions: ["c", "h"]) + files(in: "include", extensions: ["h"])).sorted()
        translationUnits = units.map { root.appending(path: $0) }
        contents = try all.map { path in
            do {
                return (path, try Data(contentsOf: root.appending(path: path)))
            } catch {
                throw OptimizedRuntimeError(.sources, "cannot read \(root.path)/\(path): \(error)")
            }
        }
    }
}

// MARK: - The cached shared object

/// The optimized runtime's shared object in the kernel cache: `runtime-c-<key>.so`, stored and
/// verified by `SharedObjectCache` like the JIT's kernels (a record of the key and the object's
/// SHA-256 beside it, checked before every `dlopen`: a truncated object can fault inside `dlopen`
/// with SIGBUS instead of failing it).
struct RuntimeLibraryCache: Sendable {
    /// Compiler flags for each translation unit: SwiftPM release's `-O2` (measured against `-O3`:
    /// see runtime-c/README.md, "Debug builds") and frame pointers, position-independent code, and
    /// hidden symbols, so that calls inside the object bind directly and only
    /// `gj_runtime_own_entry_points` is exported. Floating-point contraction is set in the sources.
    static let compileFlags = ["-O2", "-fno-omit-frame-pointer", "-fPIC", "-fvisibility=hidden", "-pthread"]
    /// Linker flags: fail on undefined symbols at link time rather than at `dlopen`.
    static let linkFlags = ["-shared", "-pthread", "-Wl,-z,defs", "-lm"]

    let sources: RuntimeSources
    let clangPath: String
    let clangVersion: String
    let directory: URL
    /// SHA-256 (hex) of a format tag, clang's version, the flags and every source file.
    let key: String

    var libraryURL: URL { directory.appending(path: "runtime-c-\(key).so") }

    /// A cache for `sources`, compiled by `clangPath`, in `directory`.
    /// - Throws: ``OptimizedRuntimeError`` (stage `toolchain`) when clang cannot be run.
    init(sources: RuntimeSources, clangPath: String, directory: URL) throws {
        self.sources = sources
        self.clangPath = clangPath
        do {
            clangVersion = try ClangCompiler.version(ofClangAt: clangPath)
        } catch {
            throw OptimizedRuntimeError(.toolchain, "\(error)")
        }
        self.directory = directory
        var hasher = Crypto.SHA256()
        // Length-prefixed fields, so that no two different inputs hash the same byte stream.
        func field(_ bytes: some Collection<UInt8>) {
            hasher.update(data: Array("\(bytes.count):".utf8))
            hasher.update(data: Array(bytes))
        }
        field("graphjit-runtime-cache-v2".utf8)  // v2: the library records its cache name (-soname)
        field(clangVersion.utf8)
        field((Self.compileFlags + ["|"] + Self.linkFlags).joined(separator: "\u{0}").utf8)
        for (path, data) in sources.contents {
            field(path.utf8)
            field(data)
        }
        key = Self.hex(hasher.finalize())
    }

    /// The cache of the process: sources next to this file, clang and the cache folder as the
    /// optimizing tier finds them (`GRAPHJIT_CLANG`, `GRAPHJIT_CACHE_DIR`, ...).
    init(environment: [String: String]) throws {
        guard let clang = ClangCompiler.locateClang(environment: environment) else {
            throw OptimizedRuntimeError(.toolchain,
                                        "clang not found: set GRAPHJIT_CLANG, or put clang next to swift or on PATH")
        }
        try self.init(sources: RuntimeSources(), clangPath: clang,
                      directory: ClangCompiler.defaultCacheDirectory(environment: environment))
    }

    // MARK: Reading

    /// The folder as a verified object cache (the same checks as the JIT's kernels).
    var objectCache: SharedObjectCache { SharedObjectCache(directory: directory) }

    /// ``libraryURL`` if it passes `SharedObjectCache`'s checks (regular file, owner, permissions,
    /// a record of this key and of its SHA-256), else nil; an entry that fails them is removed.
    func verifiedLibrary() -> URL? {
        guard case let .hit(object) = objectCache.lookUp(libraryURL, key: key) else { return nil }
        return object.loadPath.map { URL(filePath: $0) }
    }

    /// Removes the object and its record (a process that has the object loaded keeps its mapping).
    func remove() { objectCache.remove(libraryURL) }

    // MARK: Building

    /// Compiles every translation unit (one clang per core), links them into the
    /// shared object, and stores it in the cache with its record. Returns the time clang ran.
    /// - Throws: ``OptimizedRuntimeError`` with clang's output (`compile`, `link`) or the file
    ///   error (`cache`).
    func build() throws -> Duration {
        let fileManager = FileManager.default
        let work = fileManager.temporaryDirectory.appending(path: "graphjit-runtime-\(UUID().uuidString)")
        let temporaryLibrary = directory.appending(path: ".\(libraryURL.lastPathComponent).\(UUID().uuidString).tmp")
        defer {
            try? fileManager.removeItem(at: work)
            unlink(temporaryLibrary.path)
        }
        do {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            try fileManager.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw OptimizedRuntimeError(.cache, "cannot create \(directory.path) or \(work.path): \(error)")
        }

        let start = ContinuousClock.now
        let objects = try compileObjects(into: work)
        let link = try runClang(["-o", temporaryLibrary.path] + objects.map(\.path) + Self.linkFlags
                                    + SharedObjectCache.linkerArguments(naming: libraryURL))
        guard link.status == 0 else { throw OptimizedRuntimeError(.link, link.output) }
        let compileTime = ContinuousClock.now - start

        // The record lands before the object (rename(2) replaces whatever a concurrent build put
        // there, and a concurrent build of these sources links to the same bytes).
        do throws(CacheStoreError) {
            try objectCache.store(temporaryLibrary, at: libraryURL, key: key)
        } catch {
            throw OptimizedRuntimeError(.cache, error.message)
        }
        return compileTime
    }

    /// `clang -c` of every translation unit into `work`: one clang per core, each compiling a
    /// share of the files balanced by size (clang names each object after its source, in the
    /// working directory).
    private func compileObjects(into work: URL) throws -> [URL] {
        let units = sources.translationUnits
        let jobs = max(1, min(ProcessInfo.processInfo.activeProcessorCount, units.count))
        var groups = [[URL]](repeating: [], count: jobs)
        var loads = [Int](repeating: 0, count: jobs)
        let sizes = units.map { (try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0 }
        for index in units.indices.sorted(by: { sizes[$0] > sizes[$1] }) {
            let lightest = loads.indices.min { loads[$0] < loads[$1] }!
            groups[lightest].append(units[index])
            loads[lightest] += sizes[index]
        }
        var running: [ConcurrentProcess] = []
        do {
            for group in groups where !group.isEmpty {
                running.append(try ConcurrentProcess(
                    clangPath, Self.compileFlags + ["-I", sources.includeDirectory.path, "-c"] + group.map(\.path),
                    in: work))
            }
        } catch {
            running.forEach { _ = $0.finish() }  // the ones already started
            throw error
        }
        let failures = running.map { $0.finish() }.filter { $0.status != 0 }.map(\.output)
        guard failures.isEmpty else { throw OptimizedRuntimeError(.compile, failures.joined(separator: "\n")) }
        return units.map { work.appending(path: $0.deletingPathExtension().lastPathComponent + ".o") }
    }

    private func runClang(_ arguments: [String]) throws -> ClangCompiler.ProcessResult {
        do {
            return try ClangCompiler.run(clangPath, arguments)
        } catch {
            throw OptimizedRuntimeError(.toolchain, "cannot run \(clangPath): \(error)")
        }
    }


    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

// MARK: - Processes

/// A child process started by ``init(_:_:in:)`` and collected by ``finish()``, so that several can
/// run at once (``ClangCompiler/run(_:_:)`` waits for each).
private struct ConcurrentProcess {
    private let process = Process()
    private let pipe = Pipe()

    /// Starts `executable` with `arguments` in `directory`, stdout and stderr into one pipe.
    /// - Throws: ``OptimizedRuntimeError`` (stage `toolchain`) when it cannot be started.
    init(_ executable: String, _ arguments: [String], in directory: URL) throws {
        process.executableURL = URL(filePath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw OptimizedRuntimeError(.toolchain, "cannot run \(executable): \(error)")
        }
    }

    /// Reads the output to its end and waits for the exit. Processes are finished one after the
    /// other: one blocked on a full pipe meanwhile just waits for its turn.
    func finish() -> ClangCompiler.ProcessResult {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ClangCompiler.ProcessResult(status: process.terminationStatus,
                                           output: String(decoding: data, as: UTF8.self))
    }
}

// MARK: - The loaded copy

/// An optimized runtime shared object, loaded and checked.
///
/// Once installed it must stay loaded for the rest of the process (the routed entry points and
/// every table obtained from them point into it), so the handle is never closed after
/// ``install()``; ``unload()`` is only for a copy that was checked and not installed.
struct LoadedRuntime {
    /// The `dlopen` handle.
    let handle: UnsafeMutableRawPointer
    /// The copy's own entry points (`gj_runtime_own_entry_points()` of the loaded object).
    let entryPoints: UnsafePointer<gj_runtime_entry_points>

    /// Loads `url` with `RTLD_NOW | RTLD_LOCAL` (everything resolved up front, nothing exported to
    /// later loads) and checks it: the same ABI version and entry-point layout as the linked
    /// runtime, every entry present, compiled optimized.
    /// - Throws: ``OptimizedRuntimeError`` (stage `load` or `check`); the object is closed again.
    init(loading url: URL) throws {
        guard let handle = dlopen(url.path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw OptimizedRuntimeError(.load, "cannot load \(url.path): \(reason)")
        }
        do {
            entryPoints = try Self.entryPoints(in: handle, url: url)
            self.handle = handle
        } catch {
            dlclose(handle)  // nothing of it has run except the checks, which start no threads
            throw error
        }
    }

    private static func entryPoints(in handle: UnsafeMutableRawPointer, url: URL) throws
        -> UnsafePointer<gj_runtime_entry_points> {
        func failure(_ message: String) -> OptimizedRuntimeError {
            OptimizedRuntimeError(.check, "\(url.lastPathComponent): \(message)")
        }
        guard let symbol = dlsym(handle, "gj_runtime_own_entry_points") else {
            throw failure("no symbol gj_runtime_own_entry_points")
        }
        // ABI: `const gj_runtime_entry_points *gj_runtime_own_entry_points(void)` (graphjit_runtime.h),
        // a C function of the platform calling convention (SysV x86-64) without arguments, returning
        // a pointer to static storage; dlsym's `void *` is that function's address.
        typealias OwnEntryPoints = @convention(c) () -> UnsafePointer<gj_runtime_entry_points>?
        let ownEntryPoints = unsafeBitCast(symbol, to: OwnEntryPoints.self)
        guard let entryPoints = ownEntryPoints() else { throw failure("gj_runtime_own_entry_points() returned NULL") }

        // ABI: the struct starts with `int abi_version; int size;` in every version, so both are
        // read as raw Int32s before the rest is trusted to have this build's layout.
        let raw = UnsafeRawPointer(entryPoints)
        let abiVersion = raw.load(fromByteOffset: 0, as: Int32.self)
        let size = raw.load(fromByteOffset: MemoryLayout<Int32>.size, as: Int32.self)
        guard abiVersion == GJ_RUNTIME_ABI_VERSION, Int(size) == MemoryLayout<gj_runtime_entry_points>.size else {
            throw failure("ABI version \(abiVersion), entry points \(size) bytes; this build has ABI version "
                + "\(GJ_RUNTIME_ABI_VERSION), \(MemoryLayout<gj_runtime_entry_points>.size) bytes")
        }
        let copy = entryPoints.pointee
        let present = [copy.runtime_get != nil, copy.runtime_set_threads != nil, copy.runtime_threads != nil,
                       copy.runtime_cpu_path != nil, copy.runtime_force_path != nil,
                       copy.runtime_is_optimized != nil, copy.measure_peak_gflops != nil,
                       copy.measure_read_bandwidth != nil]
        guard present.allSatisfy({ $0 }) else { throw failure("an entry point is NULL") }
        guard copy.runtime_is_optimized() != 0 else { throw failure("compiled without optimization") }
        guard let table = copy.runtime_get(), table.pointee.abi_version == GJ_RUNTIME_ABI_VERSION else {
            throw failure("its gj_runtime table is missing or of another ABI version")
        }
        return entryPoints
    }

    /// Routes the linked runtime's entry points to this copy (`gj_runtime_install`).
    /// - Throws: ``OptimizedRuntimeError`` (stage `install`) when the runtime refuses.
    func install() throws {
        let result = Int(gj_runtime_install(entryPoints))
        switch result {
        case GJ_INSTALL_DONE: return
        case GJ_INSTALL_INVALID: throw OptimizedRuntimeError(.install, "the runtime rejected the copy's entry points")
        case GJ_INSTALL_SELF: throw OptimizedRuntimeError(.install, "the copy is the linked runtime itself")
        case GJ_INSTALL_ALREADY: throw OptimizedRuntimeError(.install, "another copy is installed already")
        default: throw OptimizedRuntimeError(.install, "gj_runtime_install returned \(result)")
        }
    }

    /// Closes a copy that was checked but not installed.
    func unload() {
        dlclose(handle)
    }
}
