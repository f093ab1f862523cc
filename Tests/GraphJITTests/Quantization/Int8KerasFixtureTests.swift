import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// GraphJIT's `quantized(.int8)` against Keras 3's `model.quantize("int8")` (fixtures written by
/// `Tests/KerasFixtures/make_quantization_fixtures.py` from the parity cases): the int8 kernels
/// and their scales bit for bit, and the int8 model's outputs within 1e-6 of Keras's int8 outputs
/// (measured at most 6e-8; the issue asks 1e-4, and int8 and float differ by up to 4e-3 on these
/// cases, so only Keras's exact scheme gets there) on the reference and both JIT tiers.
@Suite("int8: GraphJIT against Keras's own quantization")
struct Int8KerasFixtureTests {
    static let cases = ["cnn", "lstm", "attention", "multitask", "two_input_concat", "crossmodal"]
    static let engines: [Engine] = [.reference, .jit(tier: .instant), .jit(tier: .optimized)]

    static func load(_ name: String) throws -> (float: Model, quantized: Model, inputs: [Tensor], keras: SafetensorsFile) {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        try model.setParameters(fixture.weights.tensors)
        let keras = try Safetensors.read(contentsOf: KerasFixture.directory.appending(path: "Quantized/\(name).safetensors"))
        return (model, try model.quantized(.int8), fixture.inputs, keras)
    }

    @Test("kernels and kernel scales equal Keras's bit for bit", arguments: cases)
    func weights(_ name: String) throws {
        let (_, quantized, _, keras) = try Self.load(name)
        let scales = keras.names.filter { $0.hasSuffix(".kernel_scale") }
        #expect(!scales.isEmpty)
        #expect(Set(quantized.parameters.names.filter { $0.hasSuffix(".kernel_scale") }) == Set(scales),
                "GraphJIT quantizes exactly the layers Keras does")
        for scale in scales {
            let layer = String(scale.dropLast(".kernel_scale".count))
            #expect(quantized.parameters[scale] == keras[scale], "\(scale)")
            #expect(quantized.parameters[layer + ".kernel"] == keras[layer + ".kernel_int8"], "\(layer).kernel")
        }
    }

    @Test("int8 outputs within 1e-6 of Keras's int8 outputs", arguments: cases, engines)
    func outputs(_ name: String, _ engine: Engine) throws {
        let (_, quantized, inputs, keras) = try Self.load(name)
        let outputs = try quantized.predict(inputs, engine: engine)
        for (index, output) in outputs.enumerated() {
            let expected = try #require(keras["output.\(index)"])
            let difference = Difference(output, expected).maxAbsolute
            #expect(difference <= 1e-6, "\(name) output \(index): \(difference)")
        }
    }
}
