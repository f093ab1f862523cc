import CGraphJITRuntime
import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITRuntime

@Suite("Optimized runtime: debug builds route runtime-c to an -O2 copy")
struct OptimizedRuntimeTests {
    /// Whether the linked runtime-c was compiled with optimization (its own, unrouted answer).
    private static var linkedIsOptimized: Bool { gj_runtime_own_entry_points().pointee.runtime_is_optimized() != 0 }

    /// A fresh, empty folder for one test, removed afterwards.
    private static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appending(path: "graphjit-optimized-runtime-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    // MARK: Installation

    @Test("installIfNeeded installs in a debug build, does nothing in a release build, and runs once")
    func installs() throws {
        let status = OptimizedRuntime.installIfNeeded()
        #expect(OptimizedRuntime.status == status)
        #expect(OptimizedRuntime.installIfNeeded() == status)
        if Self.linkedIsOptimized {
            #expect(status == .alreadyOptimized)
            #expect(gj_runtime_installed() == nil)
        } else if ProcessInfo.processInfo.environment[OptimizedRuntime.environmentSwitch] == "0" {
            #expect(status == .disabled)
        } else {
            #expect(status.isInstalled, "\(status)")
            #expect(gj_runtime_installed() != nil)
            #expect(gj_runtime_is_optimized() == 1, "the routed runtime reports optimized")
            #expect(gj_runtime_get() != gj_runtime_own_entry_points().pointee.runtime_get())
            let linkedPath = String(cString: gj_runtime_own_entry_points().pointee.runtime_cpu_path()!)
            #expect(RuntimeSettings.cpuPath == linkedPath, "the path is handed over")
        }
        #if DEBUG
        // SwiftPM debug builds compile runtime-c at -O0: this is the case the feature exists for.
        #expect(!Self.linkedIsOptimized)
        #endif
    }

    @Test("GEMM results are the same on the linked and the routed runtime, and match a naive loop")
    func gemmUnchanged() throws {
        let builtIn = gj_runtime_own_entry_points().pointee.runtime_get()!
        OptimizedRuntime.installIfNeeded()
        let routed = gj_runtime_get()!
        for (m, n, k) in [(37, 45, 29), (130, 96, 300), (1, 70, 64), (64, 1, 33)] {
            let a = (0..<(m * k)).map { Float(($0 * 7919) % 201) / 100 - 1 }
            let b = (0..<(k * n)).map { Float(($0 * 104_729) % 199) / 100 - 1 }
            let bias = (0..<n).map { Float($0 % 13) / 10 - 0.6 }
            var expected = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    var sum = Double(bias[j])
                    for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                    expected[i * n + j] = Float(max(sum, 0))
                }
            }
            func gemm(_ table: UnsafePointer<gj_runtime>) -> [Float] {
                var c = [Float](repeating: .nan, count: m * n)
                table.pointee.sgemm(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(n), &c, Int32(n), bias,
                                    Int32(GJ_ACT_RELU), 0)
                return c
            }
            for (name, table) in [("linked", builtIn), ("routed", routed)] {
                let actual = gemm(table)
                let worst = zip(actual, expected).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? .infinity
                #expect(worst <= 1e-5, "\(name) sgemm \(m)x\(n)x\(k): relative error \(worst)")
            }
            #expect(gemm(builtIn) == gemm(routed), "\(m)x\(n)x\(k): same bits on both copies")
        }
    }

    @Test("GRAPHJIT_OPTIMIZED_RUNTIME=0 leaves the linked runtime in place")
    func disabled() {
        let status = OptimizedRuntime.install(environment: [OptimizedRuntime.environmentSwitch: "0"])
        #expect(status == (Self.linkedIsOptimized ? .alreadyOptimized : .disabled))
        #expect(!status.isInstalled)
    }

    @Test("the host entry points' layout: two ints, then eight function pointers")
    func entryPointLayout() {
        #expect(MemoryLayout<gj_runtime_entry_points>.size == 8 + 8 * 8)
        let own = gj_runtime_own_entry_points().pointee
        #expect(Int(own.abi_version) == RuntimePrelude.abiVersion)
        #expect(Int(own.size) == MemoryLayout<gj_runtime_entry_points>.size)
    }

    // MARK: The cache

    @Test("missing sources are reported, not fatal")
    func missingSources() throws {
        let error = try Self.withTemporaryDirectory { directory in
            #expect(throws: OptimizedRuntimeError.self) { try RuntimeSources(root: directory) }
        }
        #expect(error?.stage == .sources)
    }

    @Test("the key depends on the sources; the sources are found next to the package")
    func sourcesAndKey() throws {
        let sources = try RuntimeSources()
        #expect(sources.translationUnits.contains { $0.lastPathComponent == "runtime_table.c" })
        #expect(sources.contents.contains { $0.path == "include/gj_abi.h" })
        guard let clang = ClangCompiler.locateClang() else { return }
        let directory = FileManager.default.temporaryDirectory
        let cache = try RuntimeLibraryCache(sources: sources, clangPath: clang, directory: directory)
        #expect(try RuntimeLibraryCache(sources: sources, clangPath: clang, directory: directory).key == cache.key)
        var edited = sources.contents
        edited[0].data.append(contentsOf: Array("\n".utf8))
        let changed = RuntimeSources(root: sources.root, translationUnits: sources.translationUnits, contents: edited)
        #expect(try RuntimeLibraryCache(sources: changed, clangPath: clang, directory: directory).key != cache.key)
    }

    /// A stand-in runtime tree (`src/fake.c` and the real headers) that builds in a fraction of a
    /// second: its entry points are stubs; `runtime_is_optimized` reports `__OPTIMIZE__` unless
    /// `claimsOptimized` is false.
    private static func fakeRuntime(in directory: URL, claimsOptimized: Bool = true) throws -> RuntimeSources {
        let root = directory.appending(path: "runtime-c")
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: root.appending(path: "src"), withIntermediateDirectories: true)
        try fileManager.copyItem(at: RuntimeSources.packageRuntimeDirectory.appending(path: "include"),
                                 to: root.appending(path: "include"))
        let optimized = claimsOptimized ? "#ifdef __OPTIMIZE__\n    return 1;\n#else\n    return 0;\n#endif" : "return 0;"
        try """
            #include "graphjit_runtime.h"
            static const gj_runtime table = { .abi_version = GJ_RUNTIME_ABI_VERSION };
            static const gj_runtime *get(void) { return &table; }
            static void set_threads(int threads) { (void)threads; }
            static int threads(void) { return 1; }
            static const char *cpu_path(void) { return "fake"; }
            static int force_path(const char *name) { (void)name; return 0; }
            static int is_optimized(void) {
                \(optimized)
            }
            static double peak(void) { return 0; }
            static double bandwidth(size_t bytes, int threads) { (void)bytes; (void)threads; return 0; }
            static const gj_runtime_entry_points own = {
                GJ_RUNTIME_ABI_VERSION, (int)sizeof own, get, set_threads, threads, cpu_path, force_path,
                is_optimized, peak, bandwidth,
            };
            const gj_runtime_entry_points *gj_runtime_own_entry_points(void) { return &own; }
            """.write(to: root.appending(path: "src/fake.c"), atomically: true, encoding: .utf8)
        return try RuntimeSources(root: root)
    }

    @Test("a truncated or foreign cached object is rebuilt, never loaded")
    func damagedCacheIsRebuilt() throws {
        guard let clang = ClangCompiler.locateClang() else { return }
        try Self.withTemporaryDirectory { directory in
            let cache = try RuntimeLibraryCache(sources: Self.fakeRuntime(in: directory), clangPath: clang,
                                                directory: directory.appending(path: "cache"))
            let (first, origin) = try OptimizedRuntime.prepare(cache)
            if case .compiled = origin {} else { Issue.record("expected a build, got \(origin)") }
            #expect(String(cString: first.entryPoints.pointee.runtime_cpu_path()!) == "fake")
            first.unload()  // before the file is damaged: a mapped object must never shrink
            #expect(cache.verifiedLibrary() == cache.libraryURL)
            let intact = try Data(contentsOf: cache.libraryURL)

            // Truncated (as a crash during a copy leaves it): the checksum catches it before dlopen.
            let handle = try FileHandle(forWritingTo: cache.libraryURL)
            try handle.truncate(atOffset: UInt64(intact.count / 3))
            try handle.close()
            #expect(cache.verifiedLibrary() == nil)
            #expect(!FileManager.default.fileExists(atPath: cache.libraryURL.path), "the damaged object is removed")
            let (rebuilt, secondOrigin) = try OptimizedRuntime.prepare(cache)
            if case .compiled = secondOrigin {} else { Issue.record("expected a rebuild, got \(secondOrigin)") }
            rebuilt.unload()
            #expect(cache.verifiedLibrary() == cache.libraryURL)

            // Foreign content with a matching checksum: dlopen refuses it, and it is rebuilt.
            let foreign = Data("not an ELF object".utf8)
            try foreign.write(to: cache.libraryURL, options: .atomic)  // a new file: never rewrite a loaded one
            try SharedObjectCache.record(key: cache.key, digest: SharedObjectCache.sha256(of: foreign))
                .write(to: URL(filePath: cache.libraryURL.path + ".sha256"), atomically: true, encoding: .utf8)
            #expect(cache.verifiedLibrary() == cache.libraryURL)
            let (again, thirdOrigin) = try OptimizedRuntime.prepare(cache)
            if case .compiled = thirdOrigin {} else { Issue.record("expected a rebuild, got \(thirdOrigin)") }
            again.unload()

            // Intact: loaded from the cache.
            let (cached, fourthOrigin) = try OptimizedRuntime.prepare(cache)
            #expect(fourthOrigin == .cache)
            cached.unload()
        }
    }

    @Test("an object that reports itself unoptimized is rejected and not kept")
    func unoptimizedObjectIsRejected() throws {
        guard let clang = ClangCompiler.locateClang() else { return }
        try Self.withTemporaryDirectory { directory in
            let cache = try RuntimeLibraryCache(sources: Self.fakeRuntime(in: directory, claimsOptimized: false),
                                                clangPath: clang, directory: directory.appending(path: "cache"))
            let error = #expect(throws: OptimizedRuntimeError.self) { try OptimizedRuntime.prepare(cache) }
            #expect(error?.stage == .check)
            #expect(error?.message.contains("without optimization") == true)
            #expect(!FileManager.default.fileExists(atPath: cache.libraryURL.path))
        }
    }
}
