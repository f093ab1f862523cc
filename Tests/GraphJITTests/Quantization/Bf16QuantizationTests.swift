import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Weight-only bfloat16 (`model.quantized(.bf16)`): every Dense kernel rounded to the nearest bf16
/// and stored in 16 bits, the arithmetic float32. The JIT (`rt->dense_bf16`, tested on every path
/// by runtime-c/tests/test_bf16.c) against the reference (double sums of the same rounded
/// kernels), and the accuracy it costs against the float32 model.
@Suite("bf16: weight-only bfloat16 kernels")
struct Bf16QuantizationTests {
    static let engines: [Engine] = [.jit(tier: .instant), .jit(tier: .optimized)]

    @Test("rounding to bf16: ties to even, NaN stays a quiet NaN, overflow to infinity",
          arguments: [
              (Float(1), Float(1)),
              (Float(bitPattern: 0x3F80_8000), Float(1)),                      // halfway, even below: down
              (Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F82_0000)), // halfway, odd below: up
              (Float(bitPattern: 0x3F80_8001), Float(bitPattern: 0x3F81_0000)), // just above halfway: up
              (Float(bitPattern: 0x3F80_7FFF), Float(1)),                      // just below halfway: down
              (-Float(0), -Float(0)),
              (Float.infinity, Float.infinity),
              (-Float.greatestFiniteMagnitude, -Float.infinity),
              (Float(bitPattern: 0x0000_8001), Float(bitPattern: 0x0001_0000)), // subnormal, above halfway
          ])
    func rounding(_ pair: (Float, Float)) throws {
        let rounded = Bf16MatMulOp.rounded(pair.0)
        #expect(rounded.bitPattern == pair.1.bitPattern, "\(pair.0.bitPattern) -> \(rounded.bitPattern)")
        #expect(rounded.bitPattern & 0xFFFF == 0)
    }

    @Test("NaN, signalling or quiet, rounds to a quiet NaN with its sign")
    func nan() {
        let signalling = Bf16MatMulOp.rounded(Float(bitPattern: 0xFF80_0001))
        #expect(signalling.isNaN && signalling.sign == .minus && signalling.bitPattern == 0xFFC0_0000)
    }

    @Test("a bf16 model keeps names, shapes and every weight but the Dense kernels, which it rounds")
    func quantizedModel() throws {
        let model = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 2)
        let bf16 = try model.quantized(.bf16)
        #expect(Set(bf16.parameters.names) == Set(model.parameters.names))
        for name in model.parameters.names {
            let (original, stored) = (model.parameters[name]!, bf16.parameters[name]!)
            let expected = name.hasSuffix(".kernel") ? original.scalars.map(Bf16MatMulOp.rounded) : original.scalars
            #expect(stored.scalars.map(\.bitPattern) == expected.map(\.bitPattern), "\(name)")
        }
        let mnemonics = try bf16.makeGraph(batchSize: 1).nodes.map(\.operation.mnemonic)
        #expect(mnemonics.filter { $0 == "matmul_bf16" }.count == 3 && !mnemonics.contains("matmul"))
        let cnn = try TutorialModel.cnn(inputShape: [6, 6, 2]).quantized(.bf16)
        #expect(try cnn.makeGraph(batchSize: 1).nodes.map(\.operation.mnemonic).contains("conv2d"), "Conv2D stays float32")
        // 2 bytes a kernel value.
        let kernels = model.parameters.names.filter { $0.hasSuffix(".kernel") }
            .reduce(0) { $0 + model.parameters[$1]!.elementCount }
        #expect(try bf16.weightBytes() == model.weightBytes() - 2 * kernels)
    }

    @Test("bf16 outputs: the JIT within 1e-5 of the reference", arguments: ["multitask", "attention", "cnn", "lstm"], engines)
    func jitMatchesReference(_ name: String, _ engine: Engine) throws {
        let model: Model
        let input: Tensor
        switch name {
        case "multitask": (model, input) = (TutorialModel.multitask(inputSize: 24, hidden: 16, seed: 3), .seededNormal([5, 24], seed: 1))
        case "attention": (model, input) = (TutorialModel.attention(timesteps: 7, features: 6, units: 5, seed: 4), .seededNormal([3, 7, 6], seed: 2))
        case "cnn": (model, input) = (TutorialModel.cnn(inputShape: [8, 8, 3], seed: 5), .seededNormal([2, 8, 8, 3], seed: 3))
        default: (model, input) = (TutorialModel.lstm(timesteps: 6, features: 5, units: 7, seed: 6), .seededNormal([3, 6, 5], seed: 4))
        }
        let bf16 = try model.quantized(.bf16)
        let reference = try bf16.predict([input], engine: .reference)
        let float = try model.predict([input], engine: .reference)
        for (output, (expected, original)) in Swift.zip(try bf16.predict([input], engine: engine), Swift.zip(reference, float)) {
            #expect(Difference(output, expected).maxAbsolute <= 1e-5, "\(name)")
            #expect(output != original, "the bf16 kernels were used")
            #expect(Difference(output, original).maxAbsolute <= 1e-2, "\(name): bf16 stays near float32")
        }
    }

    @Test("the full-size tutorial multitask model: bf16 against float32 on 1,000 seeded inputs")
    func accuracy() throws {
        let model = TutorialModel.multitask.make(seed: 0)
        let bf16 = try model.quantized(.bf16)
        var generator = SeededGenerator(seed: 2)
        let x = generator.normalTensor(shape: [1000, 64])
        let (expected, outputs) = (try model.predict([x], batchSize: 250), try bf16.predict([x], batchSize: 250))
        for (output, reference) in Swift.zip(outputs, expected) {
            let difference = Difference(output, reference).maxAbsolute
            #expect(difference > 0 && difference < 2e-3, "\(difference)")
            let agreement = Swift.zip(output.argmax(), reference.argmax()).filter { $0 == $1 }.count
            #expect(agreement >= 990, "top-1 agreement \(agreement)/1000")
        }
    }

    @Test("a bf16 model saves its weights as .safetensors (kernels as BF16); .keras refuses it, naming the layer")
    func files() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bf16 = try TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 2).quantized(.bf16)
        try bf16.saveWeights(to: folder.appending(path: "bf16.safetensors"))
        let again = try TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 9).quantized(.bf16)
        try again.loadWeights(from: folder.appending(path: "bf16.safetensors"))
        #expect(again.parameters == bf16.parameters)
        // The kernels are stored as BF16: 2 bytes a value.
        let file = try Safetensors.read(contentsOf: folder.appending(path: "bf16.safetensors"))
        #expect(file.tensors["dense.kernel"] == bf16.parameters["dense.kernel"])
        let size = try FileManager.default.attributesOfItem(atPath: folder.appending(path: "bf16.safetensors").path)[.size] as! Int
        let float = folder.appending(path: "float.safetensors")
        try TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 2).saveWeights(to: float)
        let floatSize = try FileManager.default.attributesOfItem(atPath: float.path)[.size] as! Int
        let kernels = bf16.parameters.names.filter { $0.hasSuffix(".kernel") }.reduce(0) { $0 + bf16.parameters[$1]!.elementCount }
        #expect(floatSize - size >= 2 * kernels - 64, "\(floatSize) -> \(size)")
        let error = try #require(throws: ModelFileError.self) { try bf16.save(to: folder.appending(path: "m.keras")) }
        #expect("\(error)".contains("layer 'dense'") && "\(error)".contains("bf16"))
    }
}
