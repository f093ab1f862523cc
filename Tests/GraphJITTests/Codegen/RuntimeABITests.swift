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
        "void (*sum_rows)(long rows, long n, const float *x, float *out)",
        "void (*activation_grad)(float *dy, const float *operand, long n, int activation)",
        "void (*softmax_grad)(const float *y, const float *dy, float *dx, long outer, long extent, long inner)",
        "void (*maxpool_grad_nhwc)(const float *dy, const float *x, long batch, int H, int W, int C, int PH, int PW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, float *dx)",
        "void (*conv2d_filter_grad_nhwc)(const float *x, const float *dy, long batch, int H, int W, int C, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, int F, float *dk, float *columns)",
        "void (*conv2d_input_grad_nhwc)(const float *dy, const float *kernel, long batch, int H, int W, int C, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, int F, float *dx, float *columns)",
        "void (*slice_rows)(long outer, const float *x, long row, long offset, long count, float *out)",
        "void (*weighted_sum_grad)(long outer, long steps, long middle, long depth, const float *w, const float *v, const float *dctx, float *dw, float *dv)",
        "void (*lstm_backward)(long batch, long steps, long units, const float *z, const float *recurrent, const float *dh, int return_sequences, int activation, int recurrent_activation, float *dz, float *drecurrent, float *scratch)",
        "void (*loss_value)(int loss, long rows, long classes, const float *prediction, const float *target, float *loss_out)",
        "void (*loss_grad)(int loss, long rows, long classes, const float *prediction, const float *target, const float *seed, float *grad)",
        "void (*fill)(float *x, long n, float value)",
        "int (*all_finite)(long n, const float *x)",
        "void (*adam_update)(long n, const float *iterations, const float *theta, const float *grad, const float *m, const float *v, float *theta_out, float *m_out, float *v_out, float lr, float beta1, float beta2, float epsilon, float one_minus_beta1, float one_minus_beta2)",
        "void (*sgd_update)(long n, const float *theta, const float *grad, const float *velocity, float *theta_out, float *velocity_out, float lr, float momentum, int nesterov)",
        "void (*rmsprop_update)(long n, const float *theta, const float *grad, const float *velocity, const float *momentum, const float *average, float *theta_out, float *velocity_out, float *momentum_out, float *average_out, float lr, float rho, float momentum_rate, float epsilon, float one_minus_rho)",
        "void (*increment)(const float *x, float *out)",
        "size_t (*int8_kernel_floats)(int K, int N)",
        "void (*pack_int8_kernel)(int K, int N, const float *kernel, void *packed)",
        "void (*dense_int8)(int M, int N, int K, const float *A, const void *packed_kernel, const float *kernel_scale, float *C, void *scratch, long scratch_floats)",
        "size_t (*bf16_kernel_floats)(int K, int N)",
        "void (*pack_bf16_kernel)(int K, int N, const float *kernel, void *packed)",
        "void (*dense_bf16)(int M, int N, int K, const float *A, const void *packed_kernel, float *C)",
        "void (*im2col_batch_nhwc)(long batch, const float *input, int H, int W, int C, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, float *columns)",
    ]

    static let pinnedLosses: [(String, Int32)] = [
        ("GJ_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS", 0), ("GJ_LOSS_CATEGORICAL_CROSSENTROPY", 1),
        ("GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS", 2), ("GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY", 3),
        ("GJ_LOSS_MEAN_SQUARED_ERROR", 4),
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
        #expect(RuntimePrelude.abiVersion == 6)
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

    @Test("loss values: the Swift table, the prelude and the header agree with the pins")
    func lossesArePinned() {
        let swift = LossFunction.allCases.map { ($0.runtimeName, $0.runtimeValue) }
        #expect(swift.map(\.0) == Self.pinnedLosses.map(\.0))
        #expect(swift.map(\.1) == Self.pinnedLosses.map(\.1))
        for (name, value) in Self.pinnedLosses {
            #expect(RuntimePrelude.source.contains("    \(name) = \(value),\n"), "\(name) in the prelude")
        }
        #expect(Int(GJ_LOSS_COUNT) == Self.pinnedLosses.count)
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
        // Every routine an operation lowers to (the backward passes, losses, optimizer steps).
        var routines: [RuntimeInvocation] = []
        for testCase in GradientCheckTests.cases {
            guard let backward = try? GradientCheckTests.graphs(testCase).backward else { continue }
            for node in backward.nodes {
                if case let .anchor(.routine(routine)) = node.operation.definition.lowering(of: node, in: backward) {
                    routines += routine.calls
                }
            }
        }
        for rule in [OptimizerRule.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-7),
                     .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true), .sgd(learningRate: 0.1, momentum: 0, nesterov: false),
                     .rmsprop(learningRate: 0.1, rho: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true)] {
            var builder = GraphBuilder()
            let iterations = try! builder.state("iterations", shape: [1])
            let theta = try! builder.parameter("w", shape: [2], initializer: .zeros)
            let slots = rule.slotNames.map { try! builder.state($0, shape: [2]) }
            let results = try! builder.applyReturningAll(GraphJITIR.Operation(OptimizerStepOp(rule: rule, parameterCount: 1)),
                                                         [iterations, theta, theta] + slots)
            let graph = try! builder.finish(outputs: [results[0]])
            if case let .anchor(.routine(routine)) = graph.nodes[0].operation.definition.lowering(of: graph.nodes[0], in: graph) {
                routines += routine.calls
            }
        }
        // The int8 Dense of a quantized model.
        let quantized = try! TutorialModel.multitask(inputSize: 4, hidden: 3).quantized(.int8).makeGraph(batchSize: 2)
        for node in quantized.nodes {
            if case let .anchor(.routine(routine)) = node.operation.definition.lowering(of: node, in: quantized) {
                routines += routine.calls
            }
        }
        #expect(routines.contains { $0.function == "dense_int8" })
        #expect(Set(routines.map(\.function)).count >= 16)
        for call in routines {
            #expect(arity[call.function] == call.operands.count, "rt->\(call.function) from an operation's lowering")
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
            layout.offset(of: \.parallel_for), layout.offset(of: \.max_workers),
            layout.offset(of: \.sum_rows), layout.offset(of: \.activation_grad), layout.offset(of: \.softmax_grad),
            layout.offset(of: \.maxpool_grad_nhwc), layout.offset(of: \.conv2d_filter_grad_nhwc),
            layout.offset(of: \.conv2d_input_grad_nhwc), layout.offset(of: \.slice_rows),
            layout.offset(of: \.weighted_sum_grad), layout.offset(of: \.lstm_backward), layout.offset(of: \.loss_value),
            layout.offset(of: \.loss_grad), layout.offset(of: \.fill), layout.offset(of: \.all_finite),
            layout.offset(of: \.adam_update), layout.offset(of: \.sgd_update), layout.offset(of: \.rmsprop_update),
            layout.offset(of: \.increment), layout.offset(of: \.int8_kernel_floats),
            layout.offset(of: \.pack_int8_kernel), layout.offset(of: \.dense_int8), layout.offset(of: \.bf16_kernel_floats),
            layout.offset(of: \.pack_bf16_kernel), layout.offset(of: \.dense_bf16),
            layout.offset(of: \.im2col_batch_nhwc), layout.size,
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
