import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A call through the runtime table, `rt->name(arguments)`: one typed builder per ABI routine.
///
/// The parameter lists mirror `GJ_ABI_FUNCTIONS` in `runtime-c/include/gj_abi.h`;
/// `RuntimeABITests` checks every builder's name and arity against the prelude the C runtime
/// expands from that table, so a call cannot drift from the ABI unnoticed.
struct RuntimeCall: Equatable, Sendable, CustomStringConvertible {
    let function: String
    let arguments: [CExpression]

    var description: String { "rt->\(function)(" + arguments.map(\.description).joined(separator: ", ") + ");" }

    /// An activation constant, by name (`GJ_ACT_RELU`).
    static func activation(_ function: ElementwiseActivation) -> CExpression { .name(function.runtimeName) }

    static func sgemm(m: CExpression, n: CExpression, k: CExpression, a: CExpression, lda: CExpression,
                      b: CExpression, ldb: CExpression, c: CExpression, ldc: CExpression, bias: CExpression,
                      activation: ElementwiseActivation, accumulate: Bool) -> RuntimeCall {
        RuntimeCall(function: "sgemm", arguments: [m, n, k, a, lda, b, ldb, c, ldc, bias, Self.activation(activation),
                                                   .flag(accumulate)])
    }

    static func sgemmPacked(m: CExpression, n: CExpression, k: CExpression, a: CExpression, lda: CExpression,
                            packedB: CExpression, c: CExpression, ldc: CExpression, bias: CExpression,
                            activation: ElementwiseActivation, accumulate: Bool) -> RuntimeCall {
        RuntimeCall(function: "sgemm_packed", arguments: [m, n, k, a, lda, packedB, c, ldc, bias,
                                                          Self.activation(activation), .flag(accumulate)])
    }

    static func sgemmTransposed(transposeA: Bool, transposeB: Bool, m: CExpression, n: CExpression, k: CExpression,
                                a: CExpression, lda: CExpression, b: CExpression, ldb: CExpression, c: CExpression,
                                ldc: CExpression, bias: CExpression, activation: ElementwiseActivation,
                                accumulate: Bool) -> RuntimeCall {
        RuntimeCall(function: "sgemm_t", arguments: [.flag(transposeA), .flag(transposeB), m, n, k, a, lda, b, ldb, c,
                                                     ldc, bias, Self.activation(activation), .flag(accumulate)])
    }

    static func im2col(input: CExpression, h: CExpression, w: CExpression, c: CExpression, kh: CExpression,
                       kw: CExpression, strideH: Int, strideW: Int, padTop: CExpression, padLeft: Int,
                       oh: CExpression, ow: CExpression, columns: CExpression) -> RuntimeCall {
        RuntimeCall(function: "im2col_nhwc", arguments: [input, h, w, c, kh, kw, .literal(strideH), .literal(strideW),
                                                         padTop, .literal(padLeft), oh, ow, columns])
    }

    static func maxPool(input: CExpression, h: CExpression, w: CExpression, c: CExpression, window: Window2D,
                        padTop: CExpression, oh: CExpression, ow: CExpression, output: CExpression) -> RuntimeCall {
        RuntimeCall(function: "maxpool_nhwc", arguments: [
            input, h, w, c, .literal(window.size[0]), .literal(window.size[1]), .literal(window.strides[0]),
            .literal(window.strides[1]), padTop, .literal(window.padBefore[1]), oh, ow, output,
        ])
    }

    static func activate(_ x: CExpression, count: CExpression, _ function: ElementwiseActivation) -> RuntimeCall {
        RuntimeCall(function: "activate", arguments: [x, count, Self.activation(function)])
    }

    static func softmaxRows(_ x: CExpression, rows: Int, width: Int) -> RuntimeCall {
        RuntimeCall(function: "softmax_rows", arguments: [x, .literal(rows), .literal(width)])
    }

    static func lstmCell(rows: CExpression, units: CExpression, z: CExpression, ldz: CExpression, c: CExpression,
                         ldc: CExpression, h: CExpression, ldh: CExpression, activation: ElementwiseActivation,
                         recurrentActivation: ElementwiseActivation) -> RuntimeCall {
        RuntimeCall(function: "lstm_cell", arguments: [rows, units, z, ldz, c, ldc, h, ldh, Self.activation(activation),
                                                       Self.activation(recurrentActivation)])
    }

    static func parallelFor(count: Int, grain: Int, body: String, context: CExpression) -> RuntimeCall {
        RuntimeCall(function: "parallel_for", arguments: [.literal(count), .literal(grain), .name(body), context])
    }
}
