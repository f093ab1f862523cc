import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Bad training input gets a thrown error that names what is wrong, and never half-updated weights.
@Suite("Training: bad input and diverging steps")
struct TrainingInputTests {
    static func mlp(_ activation: ActivationFunction = .softmax) -> Model {
        let model = Sequential(inputShape: [3], seed: 1) {
            Dense(units: 4, activation: .relu)
            Dense(units: 2, activation: activation)
        }
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy])
        return model
    }

    static let x = Tensor(shape: [4, 3], uncheckedScalars: (0..<12).map { Float($0) / 6 - 1 })
    static let y = Tensor(shape: [4, 2], uncheckedScalars: [1, 0, 0, 1, 1, 0, 0, 1])

    static func expectError(_ message: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected an error containing '\(message)'")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("not compiled, wrong target count or shape, empty data, bad batch size")
    func shapes() throws {
        let uncompiled = Sequential(inputShape: [3]) { Dense(units: 2, activation: .softmax) }
        Self.expectError("must be compiled") { try uncompiled.fit([Self.x], [Self.y]) }
        let model = Self.mlp()
        Self.expectError("2 target arrays for 1 output") { try model.fit([Self.x], [Self.y, Self.y], verbose: .silent) }
        Self.expectError("the target for 'dense_1' has shape [4, 3]") {
            try model.fit([Self.x], [Tensor.zeros([4, 3])], verbose: .silent)
        }
        Self.expectError("batch size must be positive, got 0") { try model.fit([Self.x], [Self.y], batchSize: 0, verbose: .silent) }
        Self.expectError("validationSplit") { try model.fit([Self.x], [Self.y], validationSplit: 1.5, verbose: .silent) }
        Self.expectError("input 'input_layer'") { try model.trainOnBatch([Tensor.zeros([4, 5])], [Self.y]) }
    }

    @Test("NaN or infinite data names the array and the sample; no step runs")
    func nonFiniteData() throws {
        let model = Self.mlp()
        let before = model.parameters.dictionary
        var x = Self.x
        x.scalars[7] = .nan
        Self.expectError("input 'input_layer' holds a NaN or an infinity in sample 2") { try model.trainOnBatch([x], [Self.y]) }
        var y = Self.y
        y.scalars[3] = .infinity
        Self.expectError("the target for 'dense_1' holds a NaN or an infinity in sample 1") { try model.fit([Self.x], [y], verbose: .silent) }
        #expect(model.parameters.dictionary == before)
    }

    @Test("sparse labels out of range")
    func labelsOutOfRange() throws {
        let model = Self.mlp()
        model.compile(optimizer: .adam(), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        Self.expectError("holds label 2.0 in sample 1; labels must be integers in 0..<2") {
            try model.trainOnBatch([Self.x], [Tensor(shape: [4], uncheckedScalars: [0, 2, 1, 0])])
        }
        Self.expectError("holds label 0.5") { try model.trainOnBatch([Self.x], [Tensor(shape: [4], uncheckedScalars: [0, 0.5, 1, 0])]) }
        #expect(try model.trainOnBatch([Self.x], [Tensor(shape: [4], uncheckedScalars: [0, 1, 1, 0])])["loss"]!.isFinite)
    }

    @Test("multi-output metrics must be one per output, as Keras requires")
    func multiOutputMetrics() throws {
        let model = TutorialModel.multitask(inputSize: 3, hidden: 4)
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy])
        Self.expectError("as many entries as the model has outputs") {
            try model.fit([Self.x], [Tensor.zeros([4, 10]), Tensor.zeros([4, 5])], verbose: .silent)
        }
        model.compile(optimizer: .adam(), losses: [.categoricalCrossentropy], metrics: [])
        model.compile(optimizer: .adam(), losses: [.categoricalCrossentropy, .meanSquaredError, .meanSquaredError])
        Self.expectError("3 losses for a model with 2 outputs") {
            try model.fit([Self.x], [Tensor.zeros([4, 10]), Tensor.zeros([4, 5])], verbose: .silent)
        }
    }

    @Test("a step whose gradient overflows is refused as a whole, on every engine", arguments: [Engine.reference, .jit(tier: .instant)])
    func divergingStep(_ engine: Engine) throws {
        // Huge weights make the logits, and the gradients, overflow float32.
        let model = Self.mlp(.linear)
        model.compile(optimizer: .sgd(learningRate: 0.1), loss: .meanSquaredError)
        var weights = model.parameters.dictionary
        weights["dense.kernel"] = Tensor(repeating: 3e19, shape: [3, 4])
        weights["dense_1.kernel"] = Tensor(repeating: 3e19, shape: [4, 2])
        try model.setParameters(weights)
        let before = model.parameters.dictionary
        Self.expectError("training diverged in epoch 1, step 1") { try model.trainOnBatch([Self.x], [Self.y], engine: engine) }
        #expect(model.parameters.dictionary == before, "no weight changed")
        // The optimizer did not count the refused step: a sane step afterwards is the first.
        try model.setParameters(Self.mlp(.linear).parameters.dictionary)
        #expect(try model.trainOnBatch([Self.x], [Self.y], engine: engine)["loss"]!.isFinite)
    }

    @Test("Dropout with a rate cannot be trained yet, and says so")
    func dropout() throws {
        let model = Sequential(inputShape: [3]) {
            Dense(units: 4, activation: .relu)
            Dropout(rate: 0.5)
            Dense(units: 2, activation: .softmax)
        }
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy)
        Self.expectError("layer 'dropout' is a Dropout") { try model.trainOnBatch([Self.x], [Self.y]) }
    }

    @Test("an optimizer setting Keras would reject")
    func badOptimizer() throws {
        let model = Self.mlp()
        model.compile(optimizer: .adam(learningRate: -1), loss: .categoricalCrossentropy)
        Self.expectError("learning_rate must be positive, got -1.0") { try model.trainOnBatch([Self.x], [Self.y]) }
        model.compile(optimizer: .adam(beta1: .nan), loss: .categoricalCrossentropy)
        Self.expectError("beta_1") { try model.trainOnBatch([Self.x], [Self.y]) }
    }
}
