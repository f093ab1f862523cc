import Foundation
import GraphJIT
import Testing

@Suite("Clang target follows the runtime's instruction-set path")
struct ClangTargetTests {
    @Test("each path maps to the -march flags of a CPU that has only that path")
    func flagsPerPath() {
        #expect(ClangTarget(path: "avx512", cpuHasAVX512: true).flags == ["-march=native"])
        #expect(ClangTarget(path: "avx2", cpuHasAVX512: true).flags == ["-march=native", "-mno-avx512f"])
        #expect(ClangTarget(path: "avx2", cpuHasAVX512: false).flags == ["-march=native"])
        #expect(ClangTarget(path: "portable", cpuHasAVX512: true).flags == ["-march=x86-64", "-mtune=native"])
        #expect(ClangCompiler.defaultFlags.contains(ClangTarget.current.flags[0]))
        #expect(ClangTarget.current.path == RuntimeSettings.cpuPath)
    }

    /// Compiles a kernel that fails to build when clang's predefined macros show an instruction set
    /// the target must not use, and succeeds otherwise: the flags reach clang and mean what they say.
    @Test("clang compiles for the target: no AVX-512 on avx2, no AVX at all on portable")
    func predefinedMacrosMatchTarget() throws {
        let cache = FileManager.default.temporaryDirectory.appending(path: "graphjit-target-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let hasAVX512 = ClangTarget.current.cpuHasAVX512
        let cases: [(ClangTarget, forbidden: String, required: String?)] = [
            (ClangTarget(path: "avx2", cpuHasAVX512: hasAVX512), "__AVX512F__", RuntimeSettings.cpuPath == "portable" ? nil : "__AVX2__"),
            (ClangTarget(path: "portable", cpuHasAVX512: hasAVX512), "__AVX__", "__SSE2__"),
        ]
        for (target, forbidden, required) in cases {
            let flags = ["-O2"] + target.flags + ["-fPIC", "-shared"]
            let source = """
                #ifdef \(forbidden)
                #error "\(forbidden) is defined for the \(target.path) target"
                #endif
                \(required.map { "#ifndef \($0)\n#error \"\($0) is missing\"\n#endif" } ?? "")
                void kernel(float *const *buffers, const void *rt) { buffers[0][0] += 1.0f; }
                """
            let module = try ClangCompiler(cacheDirectory: cache, flags: flags).compile(source, moduleName: "target_\(target.path)")
            #expect(!module.isCacheHit)
        }
    }
}
