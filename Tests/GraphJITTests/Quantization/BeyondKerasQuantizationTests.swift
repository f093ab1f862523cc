import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Quantization beyond Keras's (`quantized(_:layers:)` with `.conv2D` and `.lstm`): convolution
/// kernels (patches by im2col, then the compressed matmul) and LSTM input kernels, on the
/// reference and both JIT tiers, and what they cost in accuracy against float32.
@Suite("int8/bf16 beyond Keras: Conv2D and LSTM kernels")
struct BeyondKerasQuantizationTests {
    static let engines: [Engine] = [.jit(tier: .instant), .jit(tier: .optimized)]

    /// A convolution with `same` padding and strides 2 (padded taps in the patches), then the CNN's
    /// pooling and Dense head; and an LSTM classifier.
    static func model(_ name: String) -> (Model, Tensor) {
        if name == "conv" {
            let input = Input(shape: [9, 7, 3])
            let conv = Conv2D(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)(input)
            let pooled = MaxPooling2D(poolSize: [2, 2])(conv)
            let output = Dense(units: 4, activation: .softmax)(Flatten()(pooled))
            return (Model(inputs: [input], outputs: [output], seed: 7), .seededNormal([3, 9, 7, 3], seed: 5))
        }
        return (TutorialModel.lstm(timesteps: 6, features: 5, units: 7, seed: 6), .seededNormal([3, 6, 5], seed: 4))
    }

    @Test("the JIT equals the reference (int8 within 1e-6, bf16 within 1e-5) and stays near float32",
          arguments: ["conv", "lstm"], [QuantizationMode.int8, .bf16])
    func jitMatchesReference(_ name: String, _ mode: QuantizationMode) throws {
        let (model, input) = Self.model(name)
        let quantized = try model.quantized(mode, layers: .all)
        let mnemonics = try quantized.makeGraph(batchSize: 1).nodes.map(\.operation.mnemonic)
        #expect(!mnemonics.contains("matmul") && !mnemonics.contains("conv2d"), "\(mnemonics)")
        if name == "conv" { #expect(mnemonics.contains("im2col")) }
        let reference = try quantized.predict([input], engine: .reference)
        let float = try model.predict([input], engine: .reference)
        for engine in Self.engines {
            let outputs = try quantized.predict([input], engine: engine)
            #expect(maxAbsoluteDifference(outputs, reference) <= (mode == .int8 ? 1e-6 : 1e-5), "\(name) \(engine)")
        }
        let drift = maxAbsoluteDifference(reference, float)
        #expect(drift > 0 && drift < 0.05, "\(name) \(mode) vs float32: \(drift)")
    }

    @Test("the patches are the convolution's: a quantized-free check through bf16 of integer weights")
    func patches() throws {
        // Kernels of small integers are exact in bf16, so the bf16 model is the float model, and
        // im2col + matmul must give the convolution's outputs (up to float summation order).
        let (model, input) = Self.model("conv")
        let integral = model.parameters.dictionary.mapValues { tensor in
            Tensor(shape: tensor.shape, uncheckedScalars: tensor.scalars.map { ($0 * 8).rounded() })
        }
        try model.setParameters(integral)
        let bf16 = try model.quantized(.bf16, layers: .all)
        #expect(bf16.parameters == model.parameters)
        #expect(maxAbsoluteDifference(try bf16.predict([input], engine: .reference),
                                      try model.predict([input], engine: .reference)) <= 1e-6)
    }

    @Test("weights: the conv kernel quantized per filter, its bytes counted at 1 (int8) and 2 (bf16)")
    func weights() throws {
        let (model, _) = Self.model("conv")
        let int8 = try model.quantized(.int8, layers: .all)
        let kernel = try #require(model.parameters["conv2d.kernel"])
        let (values, scales) = Model.int8Quantized(kernel)
        #expect(values.shape == [3, 3, 3, 5] && scales.shape == [5])
        #expect(int8.parameters["conv2d.kernel"] == values && int8.parameters["conv2d.kernel_scale"] == scales)
        let keras = try model.quantized(.int8)
        #expect(keras.parameters["conv2d.kernel"] == kernel, "by default only Dense layers, as Keras")
        let bf16 = try model.quantized(.bf16, layers: [.conv2D])
        #expect(try bf16.weightBytes() == model.weightBytes() - 2 * kernel.elementCount)
        #expect(try int8.weightBytes() == model.weightBytes() - 3 * (kernel.elementCount + 20 * 4) + 4 * (5 + 4))
    }

    @Test("a model with a quantized Conv2D or LSTM cannot be saved as .keras, naming the layer", arguments: ["conv", "lstm"])
    func kerasRefuses(_ name: String) throws {
        let (model, _) = Self.model(name)
        let quantized = try model.quantized(.int8, layers: name == "conv" ? [.conv2D] : [.lstm])
        let error = try #require(throws: ModelFileError.self) { try quantized.kerasData() }
        #expect(error.location == "layer '\(name == "conv" ? "conv2d" : "lstm")'", "\(error)")
        #expect(error.reason.contains("Keras does not quantize"), "\(error)")
    }

    @Test("graphjit run --quantize int8 --quantize-layers dense conv2d runs the quantized convolution")
    func commandLine() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let x = Tensor.seededNormal([2, 64, 64, 3], seed: 3)
        try NPY.write(x, to: folder.appending(path: "x.npy"))
        let output = folder.appending(path: "y.npy").path
        let result = try GraphJITExecutable.run(["run", "--model", "cnn", "--input", folder.appending(path: "x.npy").path,
                                                 "--output", output, "--quantize", "int8", "--quantize-layers", "dense", "conv2d"])
        #expect(result.status == 0, "\(result.error)")
        let expected = try TutorialModel.cnn.make().quantized(.int8, layers: [.dense, .conv2D]).predict([x], engine: .jit(tier: .instant))
        #expect(Difference(try NPY.read(contentsOf: URL(fileURLWithPath: output)), expected[0]).maxAbsolute <= 1e-6)
        let refused = try GraphJITExecutable.run(["run", "--model", "cnn", "--input", folder.appending(path: "x.npy").path,
                                                  "--output", output, "--quantize-layers", "conv2d"])
        #expect(refused.status != 0 && refused.error.contains("--quantize-layers needs --quantize"), "\(refused.error)")
    }
}
