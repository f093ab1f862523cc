import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// GraphJIT → `.keras` → GraphJIT: the model, its weights, its compile config and its optimizer
/// state come back exactly, so training resumes step for step. (Keras reading GraphJIT's files is
/// checked by the fixture script's `--roundtrip`, and the files Keras wrote by `KerasFileFixtureTests`.)
@Suite("Keras files: GraphJIT round trip")
struct KerasFileRoundTripTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable () -> Model
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "cnn (Sequential)") { TutorialModel.cnn(inputShape: [8, 8, 3], seed: 1) },
        Case(name: "lstm (Sequential)") { TutorialModel.lstm(timesteps: 5, features: 4, units: 6, seed: 2) },
        Case(name: "attention (Sequential)") { TutorialModel.attention(timesteps: 6, features: 5, units: 4, seed: 3) },
        Case(name: "multitask (Functional)") { TutorialModel.multitask(inputSize: 7, hidden: 9, seed: 4) },
        Case(name: "two inputs, every layer kind (Functional)") {
            let image = Input(shape: [7, 7, 2], name: "image")
            let sequence = Input(shape: [4, 3], name: "sequence")
            let a = Flatten()(MaxPooling2D(poolSize: [2, 2], padding: .same)(
                Conv2D(filters: 3, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .tanh, useBias: false)(image)))
            let b = AttentionLayer(units: 3)(LSTM(units: 5, returnSequences: true)(sequence))
            let joined = Concatenate()([a, Dropout(rate: 0)(Dense(units: 4, activation: .gelu)(b))])
            let head = Softmax()(Dense(units: 3)(Activation(.relu)(Dense(units: 6)(joined))))
            return Model(inputs: [image, sequence], outputs: [head], name: "mixed", seed: 5)
        },
    ]

    static func data(for model: Model, batch: Int, seed: UInt64) throws -> (inputs: [Tensor], targets: [Tensor]) {
        var generator = SeededGenerator(seed: seed)
        let inputs = try model.inputSignature().map { generator.normalTensor(shape: [batch] + $0.shape) }
        let targets = try model.makeGraph(batchSize: batch).outputs.map { output -> Tensor in
            let shape = try model.makeGraph(batchSize: batch)[output].shape
            let classes = shape.last!
            var scalars = [Float](repeating: 0, count: shape.elementCount)
            for row in 0 ..< shape.elementCount / classes { scalars[row * classes + Int.random(in: 0 ..< classes, using: &generator)] = 1 }
            return Tensor(shape: shape, uncheckedScalars: scalars)
        }
        return (inputs, targets)
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appending(path: "graphjit-roundtrip-\(UUID().uuidString)-\(name)")
    }

    @Test("save then load: the same layers, weights, predictions, compile config and optimizer state; training resumes identically",
          arguments: cases)
    func roundTrip(_ testCase: Case) throws {
        let original = testCase.make()
        if original.trainingConfiguration == nil {
            original.compile(optimizer: .rmsprop(learningRate: 0.01, momentum: 0.5, centered: true),
                             loss: .categoricalCrossentropy,
                             metrics: Array(repeating: .accuracy, count: try original.outputNames().count))
        }
        let (inputs, targets) = try Self.data(for: original, batch: 3, seed: 11)
        for _ in 0 ..< 2 { _ = try original.trainOnBatch(inputs, targets) }

        let url = Self.temporaryFile("model.keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.save(to: url)
        let loaded = try Model.load(contentsOf: url)

        #expect(type(of: loaded) == type(of: original))
        // A functional model comes back with its layers in Keras's `model.layers` order, which the
        // summary already shows; the application order GraphJIT was given may differ.
        #expect(try Set(loaded.layerNames()) == Set(original.layerNames()))
        #expect(try loaded.summary() == original.summary())
        #expect(loaded.parameters.dictionary == original.parameters.dictionary)
        #expect(loaded.trainingConfiguration == original.trainingConfiguration)
        #expect(try loaded.predict(inputs) == original.predict(inputs))
        let saved = try #require(original.optimizerState())
        let restored = try #require(loaded.optimizerState())
        #expect(restored.iterations == 2 && saved.iterations == 2)
        #expect(restored.slots == saved.slots)

        // One more step on each: the loaded model continues exactly where the original is.
        let next = try original.trainOnBatch(inputs, targets)
        let resumed = try loaded.trainOnBatch(inputs, targets)
        #expect(next == resumed)
        #expect(loaded.parameters.dictionary == original.parameters.dictionary)
    }

    @Test("the reference engine resumes from a loaded optimizer state too")
    func referenceResume() throws {
        let original = TutorialModel.multitask(inputSize: 5, hidden: 6, seed: 9)
        original.compile(optimizer: .adam(learningRate: 0.01), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        let (inputs, targets) = try Self.data(for: original, batch: 4, seed: 3)
        _ = try original.trainOnBatch(inputs, targets, engine: .reference)
        let url = Self.temporaryFile("m.keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.save(to: url)
        let loaded = try Model.load(contentsOf: url)
        #expect(try original.trainOnBatch(inputs, targets, engine: .reference) == loaded.trainOnBatch(inputs, targets, engine: .reference))
        #expect(loaded.parameters == original.parameters)
    }

    @Test("load(compile: false) leaves the model uncompiled; a model never trained saves a fresh optimizer (step 0)")
    func compileFlag() throws {
        let model = TutorialModel.multitask(inputSize: 4, hidden: 5, seed: 1)
        model.compile(optimizer: .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true), loss: .categoricalCrossentropy,
                      metrics: [.accuracy, .accuracy])
        let url = Self.temporaryFile("m.keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        #expect(try Model.load(contentsOf: url, compile: false).trainingConfiguration == nil)
        let loaded = try Model.load(contentsOf: url)
        #expect(loaded.trainingConfiguration == model.trainingConfiguration)
        let fresh = try #require(loaded.optimizerState())
        #expect(fresh.iterations == 0)
        #expect(fresh.slots.values.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
        #expect(fresh.slots.count == model.parameters.names.count)  // SGD with momentum: one slot each
    }

    @Test("plain SGD (no slots) keeps its step count through a file; setLearningRate keeps the optimizer's state")
    func stepCountAndLearningRate() throws {
        let model = TutorialModel.multitask(inputSize: 4, hidden: 5, seed: 2)
        model.compile(optimizer: .sgd(learningRate: 0.1), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        let (inputs, targets) = try Self.data(for: model, batch: 3, seed: 5)
        for _ in 0 ..< 3 { _ = try model.trainOnBatch(inputs, targets) }
        let loaded = try Model.load(data: try model.kerasData())
        #expect(loaded.optimizerState()?.iterations == 3)

        let adam = TutorialModel.multitask(inputSize: 4, hidden: 5, seed: 2)
        adam.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        _ = try adam.trainOnBatch(inputs, targets)
        let before = try #require(adam.optimizerState())
        try adam.setLearningRate(0.01)
        #expect(adam.trainingConfiguration?.optimizer == .adam(learningRate: 0.01))
        #expect(adam.optimizerState()?.slots == before.slots)
        _ = try adam.trainOnBatch(inputs, targets)
        #expect(adam.optimizerState()?.iterations == 2)
        #expect(throws: TrainingError.self) { try adam.setLearningRate(-1) }
    }

    @Test("save(to:) picks the format by extension and says what it cannot write")
    func extensions() throws {
        let model = TutorialModel.multitask(inputSize: 4, hidden: 5, seed: 1)
        let weights = Self.temporaryFile("w.safetensors")
        defer { try? FileManager.default.removeItem(at: weights) }
        try model.save(to: weights)
        #expect(try Safetensors.read(contentsOf: weights).tensors == model.parameters.dictionary)
        let legacy = try #require(throws: ModelFileError.self) { try model.save(to: Self.temporaryFile("m.h5")) }
        #expect(legacy.reason.contains("writes Keras 3's .keras format"))
        #expect(throws: ModelFileError.self) { try model.save(to: Self.temporaryFile("m.onnx")) }
        let asModel = try #require(throws: ModelFileError.self) { try Model.load(contentsOf: weights) }
        #expect(asModel.reason.contains("weights only"))
    }
}
