import CGraphJITRuntime
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// The runtime ABI is declared once (`runtime-c/include/gj_abi.h`); the header's struct and the
/// prelude generated kernels see are both expanded from it. These tests pin it: every routine's
/// signature, every activation's value, and the struct layout tcc computes from the prelude
/// against the one clang computed for the header. Changing any of them is an ABI change (bump
/// `GJ_RUNTIME_ABI_VERSION` and update the pins here).
@Suite("Runtime ABI: one definition, pinned")
struct RuntimeABITests {
    /// The table's entries as the prelude declares them, in order.
    static let pinnedSignatures = [
        "int abi_version",
        "void (*sgemm)(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, const float *bias, int activation, int accumulate)",
        "size_t (*packed_b_floats)(int K, int N)",
        "void (*pack_b)(int K, int N, const float *B, int ldb, float *packed)",
        "void (*sgemm_packed)(int M, int N, int K, const float *A, int lda, const float *packed_b, float *C, int ldc, const float *bias, int activation, int accumulate)",
        "void (*sgemm_t)(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, const float *bias, int activation, int accumulate)",
        "void (*im2col_nhwc)(const float *input, int H, int W, int C, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, float *columns)",
        "void (*maxpool_nhwc)(const float *input, int H, int W, int C, int PH, int PW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, float *output)",
        "void (*activate)(float *x, long n, int activation)",
        "void (*softmax_rows)(float *x, long rows, int n)",
        "void (*lstm_cell)(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h, int ldh, int activation, int recurrent_activation)",
        "float (*expf)(float x)",
        "void (*parallel_for)(long count, long grain, void (*body)(void *context, long begin, long end, int worker), void *context)",
        "int (*max_workers)(void)",
    ]

    static let pinnedActivations: [(String, Int32)] = [
        ("GJ_ACT_LINEAR", 0), ("GJ_ACT_RELU", 1), ("GJ_ACT_SIGMOID", 2), ("GJ_ACT_TANH", 3), ("GJ_ACT_GELU", 4),
        ("GJ_ACT_GELU_TANH", 5), ("GJ_ACT_SILU", 6),
    ]

    /// The struct's member declarations in the prelude, in order, comments dropped.
    static func preludeFields() -> [String] {
        let source = RuntimePrelude.source
        let body = source[source.range(of: "typedef struct gj_runtime {")!.upperBound..<source.range(of: "} gj_runtime;")!.lowerBound]
        return body.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("/*") }
            .map { String($0.dropLast()) }  // the ';'
    }

    @Test("the prelude declares exactly the pinned signatures, in order")
    func signaturesArePinned() {
        #expect(Self.preludeFields() == Self.pinnedSignatures)
        #expect(RuntimePrelude.abiVersion == 3)
        #expect(Int(gj_runtime_get()!.pointee.abi_version) == RuntimePrelude.abiVersion)
    }

    @Test("activation values: the Swift table, the prelude and the header agree with the pins")
    func activationsArePinned() {
        let swift = ElementwiseActivation.allCases.map { ($0.runtimeName, $0.definition.runtimeValue) }
        #expect(swift.map(\.0) == Self.pinnedActivations.map(\.0))
        #expect(swift.map(\.1) == Self.pinnedActivations.map(\.1))
        for (name, value) in Self.pinnedActivations {
            #expect(RuntimePrelude.source.contains("    \(name) = \(value),\n"), "\(name) in the prelude")
        }
        #expect(Int(GJ_ACT_COUNT) == Self.pinnedActivations.count)
    }

    @Test("every typed runtime call names a table entry and passes its arity")
    func runtimeCallsMatchTheABI() {
        var arity: [String: Int] = [:]
        for field in Self.preludeFields().dropFirst() {
            let name = field[field.range(of: "(*")!.upperBound..<field.range(of: ")(")!.lowerBound]
            let parameters = field[field.range(of: ")(")!.upperBound...].dropLast()
            // Top-level commas only (parallel_for's body parameter has its own list).
            var depth = 0, commas = 0
            for character in parameters {
                if character == "(" { depth += 1 } else if character == ")" { depth -= 1 } else if character == ",", depth == 0 { commas += 1 }
            }
            arity[String(name)] = parameters == "void" ? 0 : commas + 1
        }
        for call in RuntimeCall.samples {
            #expect(arity[call.function] == call.arguments.count, "rt->\(call.function)")
        }
    }

    @Test("struct size and the offset of every field: tcc on the prelude equals clang on the header")
    func layoutMatchesHeader() throws {
        let fields = Self.preludeFields().map { field in
            field.hasPrefix("int abi_version") ? "abi_version"
                : String(field[field.range(of: "(*")!.upperBound..<field.range(of: ")(")!.lowerBound])
        }
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

        let layout = MemoryLayout<gj_runtime>.self
        let header: [Int?] = [
            layout.offset(of: \.abi_version), layout.offset(of: \.sgemm), layout.offset(of: \.packed_b_floats),
            layout.offset(of: \.pack_b), layout.offset(of: \.sgemm_packed), layout.offset(of: \.sgemm_t),
            layout.offset(of: \.im2col_nhwc), layout.offset(of: \.maxpool_nhwc), layout.offset(of: \.activate),
            layout.offset(of: \.softmax_rows), layout.offset(of: \.lstm_cell), layout.offset(of: \.expf),
            layout.offset(of: \.parallel_for), layout.offset(of: \.max_workers), layout.size,
        ]
        #expect(buffers[0].map { Int($0) } == header.map { $0 ?? -2 })
    }
}

extension RuntimeCall {
    /// Every builder with a sample call, for the arity test.
    static var samples: [RuntimeCall] {
        let x = CExpression.name("x")
        return [
            .sgemm(m: 1, n: 1, k: 1, a: x, lda: 1, b: x, ldb: 1, c: x, ldc: 1, bias: .null, activation: .linear,
                   accumulate: false),
            .sgemmPacked(m: 1, n: 1, k: 1, a: x, lda: 1, packedB: x, c: x, ldc: 1, bias: .null, activation: .relu,
                         accumulate: false),
            .sgemmTransposed(transposeA: true, transposeB: false, m: 1, n: 1, k: 1, a: x, lda: 1, b: x, ldb: 1, c: x,
                             ldc: 1, bias: .null, activation: .linear, accumulate: true),
            .im2col(input: x, h: 1, w: 1, c: 1, kh: 1, kw: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, oh: 1,
                    ow: 1, columns: x),
            .maxPool(input: x, h: 2, w: 2, c: 1, window: Window2D(size: [2, 2], strides: [2, 2], padding: .valid,
                                                                  inputSize: [2, 2])!,
                     padTop: 0, oh: 1, ow: 1, output: x),
            .activate(x, count: 1, .tanh),
            .softmaxRows(x, rows: 1, width: 1),
            .lstmCell(rows: 1, units: 1, z: x, ldz: 4, c: x, ldc: 1, h: x, ldh: 1, activation: .tanh,
                      recurrentActivation: .sigmoid),
            .parallelFor(count: 1, grain: 1, body: "body", context: x),
        ]
    }
}
