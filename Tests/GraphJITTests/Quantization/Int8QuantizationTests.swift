import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Keras 3's int8 Dense, on the reference and the JIT: the weight quantization, the dynamic
/// quantization of every input row, and the int32 products rescaled in Keras's order. The
/// comparison with Keras's own int8 outputs is in `Int8KerasFixtureTests`.
@Suite("int8: Keras's quantization, reference against JIT")
struct Int8QuantizationTests {
    static let engines: [Engine] = [.jit(tier: .instant), .jit(tier: .optimized)]

    @Test("weights: per output channel 127 / (max|W| + 1e-7), rounded half to even, clipped to ±127")
    func weightQuantization() throws {
        let kernel = try Tensor(shape: [3, 2], scalars: [0.5, -2, -1, 0.25, 0.25, 1])
        let (values, scales) = Model.int8Quantized(kernel)
        #expect(scales.scalars == [Float(127) / (1 + Float(1e-7)), Float(127) / (2 + Float(1e-7))])
        // Column 0: 1 + 1e-7 is 1.0000001 in float32, s = 126.99998: 0.5·s = 63.49999 -> 63, -1·s -> -127.
        // Column 1: 2 + 1e-7 rounds to 2 in float32, s = 63.5 exactly: 1·s = 63.5 -> 64 (half to even),
        // 0.25·s = 15.875 -> 16.
        #expect(values.scalars == [63, -127, -127, 16, 32, 64])
    }

    @Test("a quantized model keeps names, shapes and the original; its Dense layers multiply in int8")
    func quantizedModel() throws {
        let model = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 2)
        let before = model.parameters
        let quantized = try model.quantized(.int8)
        #expect(model.parameters == before)
        #expect(try quantized.layerNames() == (try model.layerNames()))
        #expect(Set(quantized.parameters.names) == Set(before.names + ["dense.kernel_scale", "dense_1.kernel_scale",
                                                                          "dense_2.kernel_scale"]))
        #expect(quantized.parameters["dense.kernel"]!.scalars.allSatisfy { $0 == $0.rounded() && abs($0) <= 127 })
        let mnemonics = try quantized.makeGraph(batchSize: 1).nodes.map(\.operation.mnemonic)
        #expect(mnemonics.filter { $0 == "matmul_int8" }.count == 3 && !mnemonics.contains("matmul"))
        let attention = try TutorialModel.attention(timesteps: 5, features: 4, units: 3).quantized(.int8)
        #expect(attention.parameters.names.contains("attention_layer.W.kernel_scale"))
        #expect(attention.parameters.names.contains("attention_layer.V.kernel_scale"))
        let cnn = try TutorialModel.cnn(inputShape: [6, 6, 2]).quantized(.int8)
        #expect(try cnn.makeGraph(batchSize: 1).nodes.map(\.operation.mnemonic).contains("conv2d"), "Conv2D stays float")
    }

    @Test("summary() of an int8 model counts and sizes its weights as Keras's does")
    func summary() throws {
        // Keras 3.15.1, the tutorial's multitask model after model.quantize("int8"): the int8
        // kernels (1 byte each) and their scales are non-trainable.
        let lines = try TutorialModel.multitask.make().quantized(.int8).summary().split(separator: "\n").map(String.init)
        #expect(lines.contains(" Total params: 10,398 (10.99 KB)"), "\(lines)")
        #expect(lines.contains(" Trainable params: 143 (572.00 B)"))
        #expect(lines.contains(" Non-trainable params: 10,255 (10.43 KB)"))
    }

    @Test("int8 outputs: the JIT equals the reference, and stays near the float model",
          arguments: ["multitask", "attention", "cnn", "lstm"], engines)
    func jitMatchesReference(_ name: String, _ engine: Engine) throws {
        let model: Model
        let input: Tensor
        switch name {
        case "multitask": (model, input) = (TutorialModel.multitask(inputSize: 24, hidden: 16, seed: 3), .seededNormal([5, 24], seed: 1))
        case "attention": (model, input) = (TutorialModel.attention(timesteps: 7, features: 6, units: 5, seed: 4), .seededNormal([3, 7, 6], seed: 2))
        case "cnn": (model, input) = (TutorialModel.cnn(inputShape: [8, 8, 3], seed: 5), .seededNormal([2, 8, 8, 3], seed: 3))
        default: (model, input) = (TutorialModel.lstm(timesteps: 5, features: 4, units: 6, seed: 6), .seededNormal([3, 5, 4], seed: 4))
        }
        try model.setParameters(randomParameters(for: model, seed: 11))
        let quantized = try model.quantized(.int8)
        let reference = try quantized.predict([input], engine: .reference)
        let jit = try quantized.predict([input], engine: engine)
        #expect(maxAbsoluteDifference(jit, reference) <= 1e-6, "\(name)")
        let float = try model.predict([input], engine: .reference)
        let drift = maxAbsoluteDifference(reference, float)
        #expect(drift > 0 && drift < 0.05, "int8 vs float: \(drift)")
    }

    @Test("the C routine's dot products agree with the reference on every path, for K not a multiple of 32")
    func oddExtents() throws {
        for features in [1, 31, 33, 65, 100] {
            let model = Sequential(inputShape: [features]) { Dense(units: 3, activation: .relu) }
            try model.setParameters(randomParameters(for: model, seed: UInt64(features)))
            let quantized = try model.quantized(.int8)
            let x = Tensor.seededNormal([4, features], seed: 9)
            let reference = try quantized.predict([x], engine: .reference)
            #expect(maxAbsoluteDifference(try quantized.predict([x], engine: .jit(tier: .instant)), reference) <= 1e-6,
                    "K = \(features)")
        }
    }
}

/// Saving, loading and the command line of a quantized model.
@Suite("int8: files and the command line")
struct Int8FilesTests {
    @Test("a quantized model's weights round-trip through safetensors and .keras")
    func files() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 2)
        let quantized = try model.quantized(.int8)
        let url = folder.appending(path: "int8.safetensors")
        try quantized.saveWeights(to: url)
        let again = try TutorialModel.multitask(inputSize: 6, hidden: 9, seed: 5).quantized(.int8)
        #expect(throws: WeightsError.self) { try again.loadWeights(from: url) }  // other shapes: refused
        let same = try TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 5).quantized(.int8)
        try same.loadWeights(from: url)
        let x = Tensor.seededNormal([3, 6], seed: 4)
        #expect(try same.predict([x], engine: .reference) == (try quantized.predict([x], engine: .reference)))
        // As a .keras file (Keras's int8 layout, see Int8KerasFileTests), the same model comes back.
        try quantized.save(to: folder.appending(path: "m.keras"))
        let loaded = try Model.load(contentsOf: folder.appending(path: "m.keras"))
        #expect(try loaded.predict([x], engine: .reference) == (try quantized.predict([x], engine: .reference)))
    }

    @Test("graphjit run --quantize MODE writes the quantized model's outputs", arguments: QuantizationMode.allCases)
    func commandLine(_ mode: QuantizationMode) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 3)
        let x = generator.normalTensor(shape: [4, 64])
        try NPY.write(x, to: folder.appending(path: "x.npy"))
        let outputs = ["a.npy", "b.npy"].map { folder.appending(path: $0).path }
        let result = try GraphJITExecutable.run(["run", "--model", "multitask", "--input", folder.appending(path: "x.npy").path,
                                                 "--output", outputs[0], "--output", outputs[1], "--quantize", mode.rawValue])
        #expect(result.status == 0, "\(result.error)")
        let expected = try TutorialModel.multitask.make().quantized(mode).predict([x], engine: .reference)
        for (path, reference) in zip(outputs, expected) {
            // int8 is exact against the reference; bf16 sums in float32 against its double sums.
            #expect(Difference(try NPY.read(contentsOf: URL(fileURLWithPath: path)), reference).maxAbsolute
                    <= (mode == .int8 ? 1e-6 : 1e-5))
        }
        let float = try TutorialModel.multitask.make().predict([x], engine: .reference)
        #expect(try NPY.read(contentsOf: URL(fileURLWithPath: outputs[0])) != float[0], "the \(mode) model ran, not the float one")
    }
}
