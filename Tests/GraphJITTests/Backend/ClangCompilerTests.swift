import Foundation
import GraphJIT
import Testing

@Suite("Clang backend")
struct ClangCompilerTests {
    /// A fresh, empty cache directory for one test, removed afterwards.
    private static func withTemporaryCache<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appending(path: "graphjit-test-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    private static let saxpySource = """
        void saxpy(float *const *buffers, const void *rt) {
            const float *x = buffers[0];
            float *y = buffers[1];
            for (int i = 0; i < 8; i++) y[i] = 2.0f * x[i] + y[i];
        }
        """

    @Test("compiles, caches, and loads from the cache the second time")
    func compilesAndCaches() throws {
        try Self.withTemporaryCache { cache in
            let clang = try ClangCompiler(cacheDirectory: cache)
            let cold = try clang.compile(Self.saxpySource, moduleName: "saxpy")
            #expect(!cold.isCacheHit)
            #expect(cold.backend == .clang)
            #expect(cold.compileTime > .zero)
            #expect(FileManager.default.fileExists(atPath: cold.libraryURL.path))
            #expect(cold.libraryURL.deletingLastPathComponent().standardizedFileURL.path
                == cache.standardizedFileURL.path)

            let cached = try clang.compile(Self.saxpySource, moduleName: "saxpy")
            #expect(cached.isCacheHit)
            #expect(cached.compileTime == .zero)
            #expect(cached.libraryURL == cold.libraryURL)
            #expect(cached.totalTime < cold.totalTime)
            #expect(cached.totalTime < .milliseconds(50))
            print("clang cold: \(cold.totalTime) (clang \(cold.compileTime)), cached: \(cached.totalTime)")

            // No temporary files are left behind in the cache: the object and its integrity record.
            let entries = try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted()
            #expect(entries == [cold.libraryURL.lastPathComponent, cold.libraryURL.lastPathComponent + ".sha256"])

            for module in [cold, cached] {
                var buffers: [[Float]] = [[1, 2, 3, 4, 5, 6, 7, 8], [Float](repeating: 1, count: 8)]
                KernelHarness.call(try module.function(named: "saxpy"), on: &buffers)
                #expect(buffers[1] == [3, 5, 7, 9, 11, 13, 15, 17])
            }
        }
    }

    @Test("a different source or different flags miss the cache")
    func keyCoversSourceAndFlags() throws {
        try Self.withTemporaryCache { cache in
            let clang = try ClangCompiler(cacheDirectory: cache)
            let first = try clang.compile(Self.saxpySource, moduleName: "saxpy")
            let edited = try clang.compile(Self.saxpySource + "\n", moduleName: "saxpy")
            #expect(!edited.isCacheHit)
            #expect(edited.libraryURL != first.libraryURL)
            let otherFlags = try ClangCompiler(cacheDirectory: cache, flags: ["-O1", "-fPIC", "-shared"])
            let o1 = try otherFlags.compile(Self.saxpySource, moduleName: "saxpy")
            #expect(!o1.isCacheHit)
        }
    }

    @Test("a corrupt cache entry is replaced")
    func replacesCorruptEntry() throws {
        try Self.withTemporaryCache { cache in
            let clang = try ClangCompiler(cacheDirectory: cache)
            let url = try clang.compile(Self.saxpySource, moduleName: "saxpy_corrupt").libraryURL
            try Data("not an ELF file".utf8).write(to: url)
            let again = try clang.compile(Self.saxpySource, moduleName: "saxpy_corrupt")
            #expect(!again.isCacheHit)
            _ = try again.function(named: "saxpy")
        }
    }

    @Test("broken source throws a CompileError with clang's message and the offending line")
    func reportsCompileError() throws {
        try Self.withTemporaryCache { cache in
            let source = """
                void broken_clang(float *const *buffers, const void *rt) {
                    float *out = buffers[0];
                    out[0] = undeclared_variable;
                }
                """
            let error = try #require(throws: CompileError.self) {
                try ClangCompiler(cacheDirectory: cache).compile(source, moduleName: "broken_clang")
            }
            #expect(error.backend == .clang)
            #expect(error.stage == .compile)
            #expect(error.moduleName == "broken_clang")
            #expect(error.diagnostics.contains("broken_clang.c:3:14: error: use of undeclared identifier"))
            #expect(error.errorLine == 3)
            #expect(error.excerpt.contains("> 3 |     out[0] = undeclared_variable;"))
            #expect(error.description.contains("clang failed to compile module 'broken_clang'"))
            // Nothing is cached for a failed compile.
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
            #expect(entries.isEmpty)
        }
    }

    @Test("an undefined symbol fails at link time")
    func reportsUndefinedSymbol() throws {
        try Self.withTemporaryCache { cache in
            let source = """
                float gj_missing_function(float);
                void uses_missing(float *const *buffers, const void *rt) {
                    buffers[0][0] = gj_missing_function(buffers[0][0]);
                }
                """
            let error = try #require(throws: CompileError.self) {
                try ClangCompiler(cacheDirectory: cache).compile(source, moduleName: "uses_missing")
            }
            #expect(error.stage == .link)
            #expect(error.diagnostics.contains("gj_missing_function"))
            #expect(error.errorLine == 3)
        }
    }

    @Test("looking up a missing function throws a lookup error")
    func reportsMissingFunction() throws {
        try Self.withTemporaryCache { cache in
            let module = try ClangCompiler(cacheDirectory: cache).compile(Self.saxpySource, moduleName: "saxpy")
            let error = try #require(throws: CompileError.self) { try module.function(named: "absent") }
            #expect(error.stage == .lookup)
            #expect(error.backend == .clang)
        }
    }

    // MARK: - Configuration

    @Test("GRAPHJIT_CLANG wins; otherwise an executable clang is found")
    func locatesClang() throws {
        #expect(ClangCompiler.locateClang(environment: ["GRAPHJIT_CLANG": "/custom/clang"]) == "/custom/clang")
        let found = try #require(ClangCompiler.locateClang(environment: ["PATH": ""]))
        #expect(FileManager.default.isExecutableFile(atPath: found))
        #expect(found.hasSuffix("/clang"))
    }

    @Test("an unusable clang is a toolchain error")
    func reportsMissingClang() throws {
        let error = try #require(throws: CompileError.self) {
            try ClangCompiler(clangPath: "/nonexistent/clang")
        }
        #expect(error.stage == .toolchain)
    }

    @Test("cache directory: GRAPHJIT_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache")
    func choosesCacheDirectory() {
        #expect(ClangCompiler.defaultCacheDirectory(environment: ["GRAPHJIT_CACHE_DIR": "/a/b", "XDG_CACHE_HOME": "/x"])
            .path == "/a/b")
        #expect(ClangCompiler.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"])
            .path == "/x/graphjit")
        #expect(ClangCompiler.defaultCacheDirectory(environment: ["HOME": "/h"]).path == "/h/.cache/graphjit")
    }
}
