import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Intermediate values as outputs and gradients with respect to inputs, on the engines against
/// each other and against the mathematics (finite differences, completeness). The comparison
/// with TensorFlow's GradientTape is in `ExplanationFixtureTests`.
@Suite("Explanations: intermediate values, saliency, integrated gradients, Grad-CAM")
struct ExplanationTests {
    static let engines: [Engine] = [.reference, .jit(tier: .instant), .jit(tier: .optimized)]

    static func attentionModel() throws -> Model {
        let model = TutorialModel.attention(timesteps: 6, features: 4, units: 5, seed: 3)
        try model.setParameters(randomParameters(for: model, seed: 4))
        return model
    }

    static func cnnModel() throws -> Model {
        let model = TutorialModel.cnn(inputShape: [8, 8, 2], seed: 1)
        try model.setParameters(randomParameters(for: model, seed: 2))
        return model
    }

    @Test("value names: layer outputs by layer, the rest <layer>/<operation>")
    func names() throws {
        let names = try Self.attentionModel().valueNames()
        for expected in ["attention_layer.W/matmul", "attention_layer.W/tanh", "attention_layer.W", "attention_layer/softmax",
                         "attention_layer/weighted_sum", "attention_layer", "dense/softmax", "dense"] {
            #expect(names.contains(expected), "\(names)")
        }
        #expect(try Self.attentionModel().attentionWeightNames() == ["attention_layer/softmax"])
    }

    @Test("extra outputs: the outputs are predict's, the attention weights sum to 1 over time", arguments: engines)
    func extraOutputs(_ engine: Engine) throws {
        let model = try Self.attentionModel()
        let x = Tensor.seededNormal([3, 6, 4], seed: 7)
        let results = try model.predict([x], extraOutputs: ["attention_layer/softmax", "attention_layer.W"], engine: engine)
        #expect(results.map(\.shape) == [[3, 10], [3, 6, 1], [3, 6, 5]])
        #expect(Difference(results[0], try model.predict(x, engine: .reference)).maxAbsolute <= 1e-5)
        #expect(results[0] == (try model.predict(x, engine: engine)), "materializing extras changes nothing else")
        for sample in 0 ..< 3 {
            let weights = results[1].scalars[sample * 6 ..< sample * 6 + 6]
            #expect(abs(weights.reduce(0, +) - 1) <= 1e-5)
            #expect(weights.allSatisfy { $0 > 0 })
        }
        let reference = try model.attentionWeights([x], engine: .reference)
        #expect(Difference(results[1], reference).maxAbsolute <= 1e-6)
        #expect(throws: ExplanationError.self) { try model.predict([x], extraOutputs: ["no_such_layer/softmax"]) }
    }

    @Test("saliency agrees with central finite differences of the class probability", arguments: engines)
    func saliencyFiniteDifferences(_ engine: Engine) throws {
        let model = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 1)
        try model.setParameters(randomParameters(for: model, seed: 5))
        let x = Tensor.seededNormal([2, 6], seed: 11)
        let saliency = try model.saliency([x], engine: engine)
        #expect(saliency.classes == (try model.predict([x], engine: .reference)[0]).argmax())
        let epsilon: Float = 1e-2
        var worst: Float = 0
        for sample in 0 ..< 2 {
            for feature in 0 ..< 6 {
                var plus = x.scalars, minus = x.scalars
                plus[sample * 6 + feature] += epsilon
                minus[sample * 6 + feature] -= epsilon
                let up = try model.predict([Tensor(shape: [2, 6], scalars: plus)], engine: .reference)[0]
                let down = try model.predict([Tensor(shape: [2, 6], scalars: minus)], engine: .reference)[0]
                let c = saliency.classes[sample]
                let numeric = (up.scalars[sample * 10 + c] - down.scalars[sample * 10 + c]) / (2 * epsilon)
                worst = max(worst, abs(numeric - saliency.values[0].scalars[sample * 6 + feature]))
            }
        }
        #expect(worst <= 1e-3, "max |analytic − numeric| = \(worst)")
    }

    @Test("the JIT's gradients equal the reference's on every model kind", arguments: [Engine.jit(tier: .instant), .jit(tier: .optimized)])
    func jitMatchesReference(_ engine: Engine) throws {
        let models: [(Model, [Tensor])] = [
            (try Self.cnnModel(), [Tensor.seededNormal([2, 8, 8, 2], seed: 3)]),
            (try Self.attentionModel(), [Tensor.seededNormal([2, 6, 4], seed: 4)]),
            ({ let m = TutorialModel.lstm(timesteps: 5, features: 3, units: 4, seed: 2)
               try? m.setParameters(randomParameters(for: m, seed: 6)); return m }(), [Tensor.seededNormal([2, 5, 3], seed: 5)]),
        ]
        for (model, inputs) in models {
            for logits in [false, true] {
                let reference = try model.saliency(inputs, logits: logits, engine: .reference)
                let jit = try model.saliency(inputs, logits: logits, engine: engine)
                #expect(jit.classes == reference.classes)
                let scale = max(reference.values[0].scalars.map(abs).max() ?? 0, 1e-6)
                #expect(Difference(jit.values[0], reference.values[0]).maxAbsolute <= 1e-5 * max(scale, 1),
                        "\(model.name) logits \(logits)")
                #expect(scale > 1e-6, "a saliency map of zeros proves nothing")
            }
        }
    }

    @Test("integrated gradients: completeness, Σ IG ≈ F(x) − F(baseline)", arguments: engines)
    func integratedGradientsCompleteness(_ engine: Engine) throws {
        let model = try Self.attentionModel()
        let x = Tensor.seededNormal([2, 6, 4], seed: 9)
        let attribution = try model.integratedGradients([x], steps: 64, engine: engine)
        let differences = try #require(attribution.scoreDifferences)
        for (sum, difference) in Swift.zip(attribution.sums, differences) {
            #expect(abs(sum - difference) <= 2e-3 + 1e-2 * abs(difference), "Σ IG \(sum) vs ΔF \(difference)")
        }
        #expect(differences.contains { abs($0) > 1e-3 })
    }

    @Test("integrated gradients do not depend on how many path points go into one call", arguments: [1, 7, 65])
    func integratedGradientsBatching(_ batchSize: Int) throws {
        let model = try Self.attentionModel()
        let x = Tensor.seededNormal([2, 6, 4], seed: 12)
        let reference = try model.integratedGradients([x], steps: 64, batchSize: 65, engine: .reference)
        let batched = try model.integratedGradients([x], steps: 64, batchSize: batchSize, engine: .reference)
        #expect(batched.classes == reference.classes)
        #expect(Difference(batched.values[0], reference.values[0]).maxAbsolute <= 1e-7)
        #expect(batched.scoreDifferences == reference.scoreDifferences)
    }

    @Test("Grad-CAM: maps in [0, 1] with a 1 at the strongest pixel, the same on every engine", arguments: engines)
    func gradCAM(_ engine: Engine) throws {
        let model = try Self.cnnModel()
        let x = Tensor.seededNormal([2, 8, 8, 2], seed: 21)
        let cam = try model.gradCAM([x], engine: engine)
        #expect(cam.layer == "conv2d")
        #expect(cam.heatmaps.shape == [2, 6, 6])
        #expect(cam.heatmaps.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        for sample in 0 ..< 2 {
            let map = cam.heatmaps.scalars[sample * 36 ..< (sample + 1) * 36]
            #expect(map.max() == 1 || map.allSatisfy { $0 == 0 }, "sample \(sample)")
        }
        let reference = try model.gradCAM([x], engine: .reference)
        #expect(Difference(cam.rawHeatmaps, reference.rawHeatmaps).maxAbsolute
                <= 1e-5 * max(1, reference.rawHeatmaps.scalars.max() ?? 0))
        #expect(throws: ExplanationError.notAConvolution(layer: "dense", convolutions: ["conv2d"])) {
            try model.gradCAM([x], layer: "dense")
        }
    }

    @Test("bad requests throw, naming what is wrong")
    func badRequests() throws {
        let model = try Self.attentionModel()
        let x = Tensor.seededNormal([2, 6, 4], seed: 1)
        #expect(throws: ExplanationError.classCount(classes: 1, samples: 2)) { try model.saliency([x], classes: [0]) }
        #expect(throws: ExplanationError.classOutOfRange(class: 10, output: "dense", scores: 10)) {
            try model.saliency([x], classes: [0, 10])
        }
        #expect(throws: ExplanationError.noSuchOutput(index: 1, outputs: ["dense"])) { try model.saliency([x], output: 1) }
        #expect(throws: ExplanationError.notAConvolution(layer: nil, convolutions: [])) { try model.gradCAM([x]) }
        #expect(throws: ExplanationError.baselineShape(input: 0, shape: [6, 5], expected: [6, 4])) {
            try model.integratedGradients([x], baselines: [Tensor.zeros([6, 5])])
        }
        #expect(throws: ExplanationError.baselineCount(given: 2, inputs: 1)) {
            try model.integratedGradients([x], baselines: [Tensor.zeros([6, 4]), Tensor.zeros([6, 4])])
        }
        for steps in [0, Model.maximumIntegrationSteps + 1, Int.max] {
            #expect(throws: ExplanationError.stepsOutOfRange(steps)) { try model.integratedGradients([x], steps: steps) }
        }
        #expect(throws: ExplanationError.unknownValue(name: "nope", available: try model.valueNames())) {
            try model.predict([x], extraOutputs: ["nope"])
        }
        #expect(throws: ExplanationError.noAttentionLayer(requested: "dense")) { try model.attentionWeights([x], layer: "dense") }
    }
}
