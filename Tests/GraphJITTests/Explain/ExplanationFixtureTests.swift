import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// GraphJIT's explanations against TensorFlow's `GradientTape` (fixtures written by
/// `Tests/KerasFixtures/make_explanation_fixtures.py` from the parity cases' Keras models, weights
/// and inputs): saliency of the top class's probability and of its logit, integrated gradients
/// (zero baseline, 50 steps, trapezoidal), the attention layer's weights and Grad-CAM.
///
/// Tolerances, relative to the largest value of the tensor compared: gradients and integrated
/// gradients 1e-5 (the issue asks 1e-3; measured at most 5.4e-7 on every engine, float32
/// reassociation); attention weights 1e-5 absolute, as the issue asks.
@Suite("Explanations: GraphJIT against TensorFlow's GradientTape")
struct ExplanationFixtureTests {
    static let cases = ["cnn", "lstm", "attention", "multitask", "two_input_concat", "crossmodal"]
    static let engines: [Engine] = [.reference, .jit(tier: .instant), .jit(tier: .optimized)]

    /// The case's model with Keras's weights, its inputs, and TensorFlow's explanations.
    static func load(_ name: String) throws -> (Model, [Tensor], SafetensorsFile) {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        try model.setParameters(fixture.weights.tensors)
        let explanations = try Safetensors.read(
            contentsOf: KerasFixture.directory.appending(path: "Explanations/\(name).safetensors"))
        return (model, fixture.inputs, explanations)
    }

    static func tensor(_ file: SafetensorsFile, _ key: String) throws -> Tensor {
        try #require(file[key], "\(key) missing from the explanation fixture")
    }

    /// Max |actual − expected| divided by max |expected|.
    static func relativeDifference(_ actual: Tensor, _ expected: Tensor) -> Float {
        let scale = expected.scalars.map(abs).max() ?? 0
        return Difference(actual, expected).maxAbsolute / max(scale, .leastNormalMagnitude)
    }

    static var arguments: [(String, Engine)] { cases.flatMap { name in engines.map { (name, $0) } } }

    @Test("saliency, of the probability and of the logit, within 1e-5 of the largest gradient", arguments: arguments)
    func saliency(_ name: String, _ engine: Engine) throws {
        let (model, inputs, expected) = try Self.load(name)
        let classes = try Self.tensor(expected, "class").scalars.map { Int($0) }
        for logits in [false, true] {
            let saliency = try model.saliency(inputs, logits: logits, engine: engine)
            #expect(saliency.classes == classes)
            #expect(saliency.values.count == inputs.count)
            for (position, gradient) in saliency.values.enumerated() {
                let reference = try Self.tensor(expected, "\(logits ? "saliency_logits" : "saliency").\(position)")
                #expect(gradient.shape == reference.shape)
                let difference = Self.relativeDifference(gradient, reference)
                #expect(difference <= 1e-5, "\(name) input \(position) logits \(logits): \(difference) of the largest")
            }
        }
    }

    @Test("integrated gradients within 1e-5 of the largest attribution; completeness as TensorFlow's",
          arguments: arguments)
    func integratedGradients(_ name: String, _ engine: Engine) throws {
        let (model, inputs, expected) = try Self.load(name)
        let attribution = try model.integratedGradients(inputs, steps: 50, engine: engine)
        #expect(attribution.values.count == inputs.count)
        for (position, values) in attribution.values.enumerated() {
            let reference = try Self.tensor(expected, "integrated_gradients.\(position)")
            let difference = Self.relativeDifference(values, reference)
            #expect(difference <= 1e-5, "\(name) input \(position): \(difference) of the largest")
        }
        let deltas = try Self.tensor(expected, "ig_delta").scalars
        for (ours, theirs) in Swift.zip(try #require(attribution.scoreDifferences), deltas) {
            #expect(abs(ours - theirs) <= 1e-5)
        }
    }

    @Test("the attention layer's weights within 1e-5 of Keras's", arguments: engines)
    func attentionWeights(_ engine: Engine) throws {
        let (model, inputs, expected) = try Self.load("attention")
        let weights = try model.attentionWeights(inputs, engine: engine)
        #expect(Difference(weights, try Self.tensor(expected, "attention_weights")).maxAbsolute <= 1e-5)
    }

    @Test("Grad-CAM of the convolutional models within 1e-4 of keras-io's recipe",
          arguments: ["cnn", "crossmodal"].flatMap { name in engines.map { (name, $0) } })
    func gradCAM(_ name: String, _ engine: Engine) throws {
        let (model, inputs, expected) = try Self.load(name)
        let cam = try model.gradCAM(inputs, engine: engine)
        #expect(Self.relativeDifference(cam.rawHeatmaps, try Self.tensor(expected, "grad_cam_raw")) <= 1e-4)
        #expect(Difference(cam.heatmaps, try Self.tensor(expected, "grad_cam")).maxAbsolute <= 1e-4)
    }
}
