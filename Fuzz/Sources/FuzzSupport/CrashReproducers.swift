import Foundation
import GraphJIT

/// Minimal specs of the crashes `FuzzModelSpec` found, written to `Fuzz/Crashes/FuzzModelSpec/` by
/// `GRAPHJIT_FUZZ_WRITE_CRASHES=<dir> FuzzModelSpec` (with `Crashes/README.md`'s lines printed).
/// Each is the smallest model showing one crash site; `.ci/fuzz.sh --replay` runs them all.
public enum CrashReproducers {
    public struct Reproducer: Sendable {
        public var name: String
        /// Where it traps and why, one line.
        public var finding: String
        public var spec: ModelSpec
    }

    typealias N = ModelSpec.Node

    static func sequential(_ shape: [Int], batch: Int = 1, _ layers: [ModelSpec.LayerSpec],
                           names: [String?] = []) -> ModelSpec {
        ModelSpec(isSequential: true, inputShapes: [shape],
                  nodes: layers.enumerated().map { N($1, inputs: [$0], name: $0 < names.count ? names[$0] : nil) },
                  outputs: [layers.count], batchSize: batch, seed: 0)
    }

    public static let all: [Reproducer] = [
        // Model construction: Model.init draws the weights of the batch-1 graph.
        Reproducer(name: "dense-units-int-max",
                   finding: "ParameterInitialization.swift:13 overflow: glorot fanIn + fanOut for Dense(units: Int.max)",
                   spec: sequential([4], [.dense(units: .max, activation: .linear, useBias: true)])),
        Reproducer(name: "dense-kernel-overflow",
                   finding: "ParameterInitialization.swift:15 overflow: the kernel [4, 1 << 62] has more elements than Int holds (GraphBuilder.parameter accepts it)",
                   spec: sequential([4], [.dense(units: 1 << 62, activation: .linear, useBias: false)])),
        Reproducer(name: "dense-kernel-bytes-wrap",
                   finding: "heap corruption, then SIGSEGV in the Swift runtime: Dense(units: 3074457345618258602) on Input [3] has a kernel of 9223372036854775806 elements (fits Int, its bytes do not); ParameterInitialization.swift:15 `(0..<count).map` allocates a wrapped-around size and writes past it",
                   spec: sequential([3], [.dense(units: 3_074_457_345_618_258_602, activation: .linear, useBias: false)])),
        Reproducer(name: "lstm-units-1-62",
                   finding: "LSTM.swift:40 overflow: 4 * units for LSTM(units: 1 << 62)",
                   spec: sequential([3, 4], [.lstm(units: 1 << 62, activation: .tanh, recurrentActivation: .sigmoid,
                                                   returnSequences: false, useBias: true)])),
        Reproducer(name: "conv-strides-int-max-same",
                   finding: "Window2D.swift:34 overflow: n + s - 1 for Conv2D strides [Int.max, Int.max], padding .same",
                   spec: sequential([8, 8, 3], [.conv2d(filters: 1, kernelSize: [3, 3], strides: [.max, .max], padding: .same,
                                                        activation: .linear, useBias: true)])),
        Reproducer(name: "maxpool-strides-int-max-same",
                   finding: "Window2D.swift:34 overflow: the same for MaxPooling2D strides [Int.max, Int.max], padding .same",
                   spec: sequential([8, 8, 3], [.maxPooling2d(poolSize: [2, 2], strides: [.max, .max], padding: .same)])),
        Reproducer(name: "conv-kernel-int-max-same",
                   finding: "Window2D.swift:35 overflow: (output - 1) * s + k - n for Conv2D kernelSize [Int.max, 1], padding .same",
                   spec: sequential([8, 8, 3], [.conv2d(filters: 1, kernelSize: [.max, 1], strides: [1, 1], padding: .same,
                                                        activation: .linear, useBias: true)])),
        Reproducer(name: "conv-receptive-overflow",
                   finding: "Conv2D.swift:46 overflow: kernelSize[0] * kernelSize[1] for kernelSize [1 << 32, 1 << 32], padding .same",
                   spec: sequential([8, 8, 3], [.conv2d(filters: 1, kernelSize: [1 << 32, 1 << 32], strides: [1, 1], padding: .same,
                                                        activation: .linear, useBias: true)])),
        Reproducer(name: "conv-fan-out-overflow",
                   finding: "Conv2D.swift:49 overflow: receptive * filters (the glorot fan-out) for Conv2D(filters: 1 << 62, kernelSize [3, 3])",
                   spec: sequential([8, 8, 3], [.conv2d(filters: 1 << 62, kernelSize: [3, 3], strides: [1, 1], padding: .valid,
                                                        activation: .linear, useBias: false)])),
        Reproducer(name: "flatten-overflow",
                   finding: "Flatten.swift:15 overflow: Input [1 << 32, 1 << 32, 4] then Flatten (the input shape is accepted)",
                   spec: sequential([1 << 32, 1 << 32, 4], [.flatten])),
        Reproducer(name: "flatten-batch-overflow",
                   finding: "ReshapeOp.swift:13 overflow: Input [1 << 32], Flatten, makeGraph(batchSize: 1 << 32): [batch] + shape overflows",
                   spec: sequential([1 << 32], batch: 1 << 32, [.flatten])),
        Reproducer(name: "concatenate-axis-overflow",
                   finding: "ConcatenateOp.swift:22 overflow: the concatenated extent Int.max + Int.max",
                   spec: ModelSpec(isSequential: false, inputShapes: [[.max]],
                                   nodes: [N(.concatenate(axis: -1), inputs: [0, 0])], outputs: [1], batchSize: 1, seed: 0)),

        // Graphs that build although a value's size overflows Int; compiling them traps (the fuzzer
        // calls model.compiled(batchSize: 1, tier: .instant), which must throw).
        Reproducer(name: "compile-input-overflow",
                   finding: "ExecutionPlan.swift:133 overflow: compiled(batchSize: 1) of the identity model on Input [Int.max, 5] (makeGraph accepts it)",
                   spec: sequential([.max, 5], [])),
        Reproducer(name: "compile-conv-work-overflow",
                   finding: "KernelPlan.swift:93 overflow: multiply-adds of Conv2D on Input [8, 4611686018427387903, 6], strides [2, 2], padding .same",
                   spec: sequential([8, 4_611_686_018_427_387_903, 6], [.conv2d(filters: 1, kernelSize: [1, 1], strides: [2, 2],
                                                                              padding: .same, activation: .relu, useBias: true)])),
        Reproducer(name: "compile-matmul-overflow",
                   finding: "MatMulOp.swift:39 overflow: lowering Dense(units: 1) on Input [1 << 62, 2] (rows times features overflows)",
                   spec: sequential([1 << 62, 2], [.dense(units: 1, activation: .linear, useBias: false)])),
        Reproducer(name: "compile-render-overflow",
                   finding: "KernelRenderer.swift:346 overflow (renderChain): MaxPooling2D then Conv2D with softmax on Input [8, 3074457345618258602, 535], batch 1",
                   spec: sequential([8, 3_074_457_345_618_258_602, 535], [
                       .maxPooling2d(poolSize: [1, 4], strides: nil, padding: .valid),
                       .conv2d(filters: 2, kernelSize: [1, 1], strides: [4, 1], padding: .valid, activation: .softmax, useBias: true),
                   ])),
        Reproducer(name: "compile-softmax-overflow",
                   finding: "SoftmaxOp.swift:23 overflow: lowering Softmax(axis: 1) on Input [16, 1, 4611686018427387903]",
                   spec: sequential([16, 1, 4_611_686_018_427_387_903], [.softmax(axis: 1)])),
        Reproducer(name: "compile-concatenate-overflow",
                   finding: "ConcatenateOp.swift:47 overflow: lowering Concatenate(axis: 1) of three Input [10, 4611686018427387903]",
                   spec: ModelSpec(isSequential: false, inputShapes: [[10, 4_611_686_018_427_387_903]],
                                   nodes: [N(.concatenate(axis: 1), inputs: [0, 0, 0])], outputs: [1], batchSize: 1, seed: 0)),

        // The JIT.
        Reproducer(name: "jit-conv-stride-truncated-sigfpe",
                   finding: "SIGFPE in runtime-c/src/conv_nhwc.c:189 (im2col_simd): Conv2D strides [1, 1 << 61], .same; the stride reaches the C ABI's int as 0",
                   spec: sequential([8, 14, 2], [.conv2d(filters: 1, kernelSize: [3, 13], strides: [1, 1 << 61], padding: .same,
                                                         activation: .sigmoid, useBias: true)])),
        Reproducer(name: "jit-nul-in-layer-name",
                   finding: "tcc fails to compile the module of a layer named \"nul\\0byte\" (the name is pasted into a C comment); the reference runs it",
                   spec: sequential([4], [.dense(units: 2, activation: .linear, useBias: true)], names: ["nul\u{0}byte"])),
        Reproducer(name: "timeout-lstm-orthogonal",
                   finding: "timeout (not a trap): LSTM(units: 282) takes 10 s in a debug ASan build to draw its orthogonal recurrent kernel (Gram–Schmidt on nested arrays, units^3); replay with GRAPHJIT_FUZZ_MAX_ORTHOGONAL_WORK=1000000000000",
                   spec: sequential([5, 16], [.lstm(units: 282, activation: .tanh, recurrentActivation: .sigmoid,
                                                    returnSequences: false, useBias: true)])),
    ]

    public static func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for reproducer in all {
            var bytes = FuzzBytes(reproducer.spec.encoded)
            let decoded = ModelSpec(decoding: &bytes)
            guard decoded == reproducer.spec else {
                throw CocoaError(.coderInvalidValue, userInfo: [NSDebugDescriptionErrorKey: "\(reproducer.name) decodes to\n\(decoded)"])
            }
            try Data(reproducer.spec.encoded).write(to: directory.appendingPathComponent(reproducer.name + ".spec"))
            print("- `FuzzModelSpec/\(reproducer.name).spec`: \(reproducer.finding)")
        }
    }
}
