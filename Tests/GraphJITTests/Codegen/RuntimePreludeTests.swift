import GraphJITRuntime
import Testing
@testable import GraphJIT

/// The generated code declares its own copy of the runtime table (it is compiled without headers);
/// these tests pin that copy to the real header's layout.
@Suite("Runtime prelude matches graphjit_runtime.h")
struct RuntimePreludeTests {
    @Test("ABI version, struct size and the offset of every field agree with the C header")
    func layoutMatchesHeader() throws {
        #expect(RuntimePrelude.abiVersion == Int(GJ_RUNTIME_ABI_VERSION))
        #expect(Int(gj_runtime_get()!.pointee.abi_version) == RuntimePrelude.abiVersion)

        // tcc computes the prelude's layout; Swift reports the header's.
        let fields = ["abi_version", "sgemm", "packed_b_floats", "pack_b", "sgemm_packed", "im2col_nhwc",
                      "maxpool_nhwc", "activate", "softmax_rows", "lstm_cell", "expf", "tanhf",
                      "parallel_for", "max_workers"]
        let offsets = fields.enumerated().map { index, field in
            "buffers[0][\(index)] = (float)__builtin_offsetof(gj_runtime, \(field));"
        }.joined(separator: "\n    ")
        let source = RuntimePrelude.source + """
            void layout(float *const *buffers, const gj_runtime *rt) {
                \(offsets)
                buffers[0][\(fields.count)] = (float)sizeof(gj_runtime);
            }
            """
        let module = try TCCCompiler().compile(source, moduleName: "layout")
        var buffers: [[Float]] = [Array(repeating: -1, count: fields.count + 1)]
        KernelHarness.call(try module.function(named: "layout"), on: &buffers)

        let header: [Int?] = [
            MemoryLayout<gj_runtime>.offset(of: \.abi_version), MemoryLayout<gj_runtime>.offset(of: \.sgemm),
            MemoryLayout<gj_runtime>.offset(of: \.packed_b_floats), MemoryLayout<gj_runtime>.offset(of: \.pack_b),
            MemoryLayout<gj_runtime>.offset(of: \.sgemm_packed), MemoryLayout<gj_runtime>.offset(of: \.im2col_nhwc),
            MemoryLayout<gj_runtime>.offset(of: \.maxpool_nhwc), MemoryLayout<gj_runtime>.offset(of: \.activate),
            MemoryLayout<gj_runtime>.offset(of: \.softmax_rows), MemoryLayout<gj_runtime>.offset(of: \.lstm_cell),
            MemoryLayout<gj_runtime>.offset(of: \.expf), MemoryLayout<gj_runtime>.offset(of: \.tanhf),
            MemoryLayout<gj_runtime>.offset(of: \.parallel_for), MemoryLayout<gj_runtime>.offset(of: \.max_workers),
            MemoryLayout<gj_runtime>.size,
        ]
        #expect(buffers[0].map { Int($0) } == header.map { $0 ?? -2 })
    }
}
