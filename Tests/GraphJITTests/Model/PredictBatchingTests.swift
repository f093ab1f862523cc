import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `predict(_:batchSize:)` batches as Keras does, and the plans it compiles stay bounded.
@Suite("Prediction: batching and the plan cache")
struct PredictBatchingTests {
    static func model() -> Model { TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 3) }

    @Test("70 samples in batches of 32 give every sample the output a single batch gives it; two plans")
    func batches() throws {
        let model = Self.model()
        var generator = SeededGenerator(seed: 9)
        let samples = generator.normalTensor(shape: [70, 6])
        let batched = try model.predict([samples], batchSize: 32)
        let whole = try model.compiled(batchSize: 70).predict([samples])
        #expect(model.compiledPlanCount == 3)  // 32, the remainder 6, and the whole batch of 70 above
        for (a, b) in zip(batched, whole) {
            #expect(a.shape == b.shape)
            #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) <= 1e-6 })
        }
        let reference = try model.predict([samples], batchSize: 32, engine: .reference)
        let referenceWhole = try model.predict([samples], batchSize: 70, engine: .reference)
        #expect(reference == referenceWhole)
    }

    @Test("the cache keeps at most compiledPlanLimit plans, the least recently used released first")
    func bounded() throws {
        let model = Self.model()
        model.compiledPlanLimit = 3
        var generator = SeededGenerator(seed: 1)
        for batch in 1 ... 6 { _ = try model.predict([generator.normalTensor(shape: [batch, 6])]) }
        #expect(model.compiledPlanCount == 3)
        // The last three batch sizes are the ones kept: using 6 again compiles nothing new.
        _ = try model.predict([generator.normalTensor(shape: [6, 6])])
        #expect(model.compiledPlanCount == 3)
        model.releaseCompiledPlans()
        #expect(model.compiledPlanCount == 0)
        #expect(try model.predict([generator.normalTensor(shape: [2, 6])]).count == 2)
    }

    @Test("releasing plans after training keeps the trained weights and the optimizer's state")
    func releaseAfterTraining() throws {
        let model = Self.model()
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        var generator = SeededGenerator(seed: 2)
        let x = generator.normalTensor(shape: [4, 6])
        let targets = [Tensor(shape: [4, 10], uncheckedScalars: (0 ..< 40).map { $0 % 11 == 0 ? 1 : 0 }),
                       Tensor(shape: [4, 5], uncheckedScalars: (0 ..< 20).map { $0 % 6 == 0 ? 1 : 0 })]
        _ = try model.trainOnBatch([x], targets)
        let trained = model.parameters
        let state = try #require(model.optimizerState())
        model.releaseCompiledPlans()
        #expect(model.parameters == trained)
        #expect(model.optimizerState()?.slots == state.slots)
        _ = try model.trainOnBatch([x], targets)
        #expect(model.optimizerState()?.iterations == 2)
    }

    @Test("a batch size below 1 is an error, as is a row range outside a tensor")
    func invalid() throws {
        let model = Self.model()
        #expect(throws: GraphError.self) { try model.predict([Tensor.zeros([3, 6])], batchSize: 0) }
        #expect(throws: TensorError.self) { try Tensor.zeros([3, 6]).rows(2 ..< 5) }
    }
}
