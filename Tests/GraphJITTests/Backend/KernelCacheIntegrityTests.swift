import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler

/// The clang tier's cache against what a hostile-input run did to it: every damaged, foreign or
/// misplaced entry is detected before `dlopen`, removed, and recompiled; nothing crashes.
@Suite("Kernel cache integrity")
struct KernelCacheIntegrityTests {
    private static func withCache<T>(_ body: (URL, ClangCompiler) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appending(path: "graphjit-integrity-\(UUID().uuidString)")
        defer {
            chmod(directory.path, 0o700)
            try? FileManager.default.removeItem(at: directory)
        }
        return try body(directory, try ClangCompiler(cacheDirectory: directory))
    }

    private static func source(_ function: String, factor: Int) -> String {
        """
        void \(function)(float *const *buffers, const void *rt) {
            float *y = buffers[0];
            for (int i = 0; i < 4; i++) y[i] = \(factor).0f * y[i] + 1.0f;
        }
        """
    }

    /// Compiles `source`, checks it computes `factor·y + 1`, and returns the module.
    @discardableResult
    private static func compileAndRun(_ clang: ClangCompiler, factor: Int, name: String = "scale") throws -> ClangModule {
        let module = try clang.compile(source("scale", factor: factor), moduleName: name)
        var buffers: [[Float]] = [[1, 2, 3, 4]]
        KernelHarness.call(try module.function(named: "scale"), on: &buffers)
        #expect(buffers[0] == [1, 2, 3, 4].map { Float(factor) * $0 + 1 })
        return module
    }

    @Test("a truncated object (10-50% of its size) is recompiled, not loaded", arguments: [0.1, 0.3, 0.5])
    func truncated(fraction: Double) throws {
        try Self.withCache { _, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
            #expect(truncate(url.path, off_t(Double(size) * fraction)) == 0)
            let again = try Self.compileAndRun(clang, factor: 2)
            #expect(!again.isCacheHit)
            #expect(again.diagnostics.contains("do not match the integrity record"))
            #expect(try Self.compileAndRun(clang, factor: 2).isCacheHit)  // healed
        }
    }

    @Test("a one-byte patch is detected: no silently wrong answer")
    func patchedByte() throws {
        try Self.withCache { _, clang in
            let url = try Self.compileAndRun(clang, factor: 3).libraryURL
            var bytes = try Data(contentsOf: url)
            bytes[bytes.count / 2] ^= 0x5a
            try bytes.write(to: url)
            #expect(try !Self.compileAndRun(clang, factor: 3).isCacheHit)
        }
    }

    @Test("a foreign object under the cache name never runs its constructor")
    func foreignObject() throws {
        try Self.withCache { directory, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            let marker = directory.appending(path: "constructor-ran")
            let foreign = try clang.compile("""
                #include <stdio.h>
                __attribute__((constructor)) static void hostile(void) {
                    FILE *f = fopen("\(marker.path)", "w"); if (f) fclose(f);
                }
                void scale(float *const *buffers, const void *rt) { buffers[0][0] = 99.0f; }
                """, moduleName: "foreign")
            try FileManager.default.removeItem(at: marker)  // its own compile ran it once
            try FileManager.default.removeItem(at: url)
            try FileManager.default.copyItem(at: foreign.libraryURL, to: url)
            #expect(try !Self.compileAndRun(clang, factor: 2).isCacheHit)
            #expect(!FileManager.default.fileExists(atPath: marker.path))
        }
    }

    @Test("another module's object and record under this name are rejected by key, and the entry heals")
    func otherModulesEntry() throws {
        try Self.withCache { _, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            let other = try Self.compileAndRun(clang, factor: 5, name: "scale").libraryURL  // another source
            #expect(other != url)
            for suffix in ["", ".sha256"] {
                let target = URL(filePath: url.path + suffix)
                try FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: URL(filePath: other.path + suffix), to: target)
            }
            let again = try Self.compileAndRun(clang, factor: 2)
            #expect(!again.isCacheHit)
            #expect(try Self.compileAndRun(clang, factor: 2).isCacheHit)
        }
    }

    @Test("an entry writable by others, or without a record, is not trusted")
    func permissionsAndRecords() throws {
        try Self.withCache { _, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            #expect(chmod(url.path, 0o666) == 0)
            #expect(try Self.compileAndRun(clang, factor: 2).diagnostics.contains("writable by other users"))
            try FileManager.default.removeItem(atPath: url.path + ".sha256")
            #expect(try Self.compileAndRun(clang, factor: 2).diagnostics.contains("no integrity record"))
        }
    }

    @Test("a directory at an entry's path is reported and left alone; the module still loads")
    func directoryInTheWay() throws {
        try Self.withCache { _, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            try FileManager.default.removeItem(at: url)
            try FileManager.default.createDirectory(at: url.appending(path: "precious"), withIntermediateDirectories: true)
            let module = try Self.compileAndRun(clang, factor: 2)
            #expect(!module.isCacheHit)
            #expect(module.diagnostics.contains("not a regular file"))
            #expect(FileManager.default.fileExists(atPath: url.appending(path: "precious").path))
        }
    }

    @Test("a read-only cache folder falls back to a private one, with a note instead of a link error")
    func readOnlyCache() throws {
        guard geteuid() != 0 else { return }  // root writes anywhere; nothing to check
        try Self.withCache { directory, clang in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            #expect(chmod(directory.path, 0o500) == 0)
            let module = try Self.compileAndRun(clang, factor: 4)
            #expect(module.diagnostics.contains("is not a folder only this user can write"))
        }
    }

    @Test("a cache folder other users can write is not trusted: a private folder is used instead")
    func worldWritableFolder() throws {
        try Self.withCache { directory, clang in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            #expect(chmod(directory.path, 0o777) == 0)
            let module = try Self.compileAndRun(clang, factor: 2)
            #expect(module.diagnostics.contains("is not a folder only this user can write"))
            #expect(!module.libraryURL.path.hasPrefix(directory.path))
        }
    }

    @Test("a FIFO or a symlinked record planted in the cache neither hangs nor is trusted")
    func plantedSpecialFiles() throws {
        try Self.withCache { directory, clang in
            let url = try Self.compileAndRun(clang, factor: 2).libraryURL
            // The record is a link to a record elsewhere: not followed.
            let record = URL(filePath: url.path + ".sha256")
            let elsewhere = directory.appending(path: "copied-record")
            try FileManager.default.moveItem(at: record, to: elsewhere)
            try FileManager.default.createSymbolicLink(at: record, withDestinationURL: elsewhere)
            #expect(try Self.compileAndRun(clang, factor: 2).diagnostics.contains("no integrity record"))
            // The object is a FIFO: reported and left, compiled uncached, no hang.
            try FileManager.default.removeItem(at: url)
            #expect(mkfifo(url.path, 0o600) == 0)
            let module = try Self.compileAndRun(clang, factor: 2)
            #expect(module.diagnostics.contains("not a regular file"))
        }
    }

    @Test("one source links to the same bytes whatever temporary name clang wrote it under")
    func deterministicObjects() throws {
        try Self.withCache { _, firstClang in
            try Self.withCache { _, secondClang in
                let first = try Self.compileAndRun(firstClang, factor: 3).libraryURL
                let second = try Self.compileAndRun(secondClang, factor: 3).libraryURL
                #expect(first.lastPathComponent == second.lastPathComponent)
                #expect(try Data(contentsOf: first) == Data(contentsOf: second))
            }
        }
    }

    /// The CI failure this guards against: two test cases compiled one model at once, each
    /// object embedding its own temporary file name, so each compile found the other's record
    /// beside its object, removed the entry as corrupt and failed.
    @Test("concurrent compiles of one source into a cold cache all load and compute")
    func concurrentColdCompiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "graphjit-integrity-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clang = try ClangCompiler(cacheDirectory: directory)
        let diagnostics = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask { try Self.compileAndRun(clang, factor: 5, name: "race").diagnostics }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(diagnostics.count == 6)
        #expect(!diagnostics.contains { $0.contains("removed") }, "\(diagnostics)")
    }
}
