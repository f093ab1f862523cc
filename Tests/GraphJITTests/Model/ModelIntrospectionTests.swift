import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Keras habits: `model.layers`, `get_layer`, per-layer weights, the positional shorthands, and
/// `predict` from concurrent tasks.
@Suite("Model: layers, weights and Keras shorthands")
struct ModelIntrospectionTests {
    @Test("layers, layer(named:), and a partial weight update that leaves the other layers alone")
    func layersAndWeights() throws {
        let model = TutorialModel.attention(timesteps: 5, features: 4, units: 3, seed: 1)
        #expect(try model.layers.map(\.name) == ["attention_layer", "dense"])
        let attention = try model.layer(named: "attention_layer")
        #expect(attention.layer is AttentionLayer)
        #expect(attention.weightShapes.map(\.name) == ["W.kernel", "W.bias", "V.kernel", "V.bias"])
        #expect(attention.weightShapes.map(\.shape) == [[4, 3], [3], [3, 1], [1]])
        #expect(throws: GraphError.self) { try model.layer(named: "ghost") }

        let before = model.parameters
        try model.setWeights(["bias": try Tensor(shape: [10], scalars: Array(repeating: 0.5, count: 10))], ofLayer: "dense")
        #expect(try model.weights(ofLayer: "dense")["bias"]!.scalars.allSatisfy { $0 == 0.5 })
        #expect(model.parameters["dense.kernel"] == before["dense.kernel"])
        #expect(model.parameters["attention_layer.W.kernel"] == before["attention_layer.W.kernel"])
        #expect(throws: WeightsError.self) { try model.setWeights(["bias": Tensor.zeros([3])], ofLayer: "dense") }
        #expect(throws: WeightsError.self) { try model.setWeights(["gamma": Tensor.zeros([10])], ofLayer: "dense") }
        // The JIT sees the new bias (the compiled weights follow setWeights).
        var generator = SeededGenerator(seed: 3)
        let input = generator.normalTensor(shape: [2, 5, 4])
        let jit = try model.predict(input)
        let reference = try model.predict(input, engine: .reference)
        #expect(zip(jit.scalars, reference.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
    }

    @Test("Keras's positional shorthands build the same layers")
    func shorthands() throws {
        let short = Sequential(inputShape: [8, 8, 3], seed: 4) {
            Conv2D(4, kernelSize: 3, activation: .relu)
            MaxPooling2D(poolSize: 2)
            Flatten()
            Dense(16, activation: .relu)
            Dense(10, activation: .softmax)
        }
        let long = Sequential(inputShape: [8, 8, 3], seed: 4) {
            Conv2D(filters: 4, kernelSize: [3, 3], activation: .relu)
            MaxPooling2D(poolSize: [2, 2])
            Flatten()
            Dense(units: 16, activation: .relu)
            Dense(units: 10, activation: .softmax)
        }
        #expect(try short.summary() == long.summary())
        #expect(short.parameters == long.parameters)
        let recurrent = Sequential(inputShape: [5, 3]) { LSTM(6, returnSequences: true) }
        #expect(try recurrent.makeGraph().outputs.count == 1)
    }

    @Test("predict from 8 concurrent tasks gives each its own batch's result")
    func concurrentPredict() async throws {
        let model = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 5)
        var generator = SeededGenerator(seed: 6)
        let batches = (0 ..< 8).map { _ in generator.normalTensor(shape: [3, 6]) }
        let serial = try batches.map { try model.predict([$0]) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Tensor]).self) { group in
            for (index, batch) in batches.enumerated() {
                group.addTask { (index, try model.predict([batch])) }
            }
            var results: [Int: [Tensor]] = [:]
            for try await (index, outputs) in group { results[index] = outputs }
            return results
        }
        for (index, outputs) in serial.enumerated() { #expect(concurrent[index] == outputs) }
    }
}
