import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// GraphJIT trains as Keras 3 does, step for step: the training fixtures (Keras 3.15.1 on
/// TensorFlow 2.21) record, for each small model, the logs of `train_on_batch` on three consecutive
/// batches (4, 4 and a partial 2 rows) and every weight after each step, then a `fit` of two epochs
/// with a validation split and an `evaluate`. Every engine reproduces them:
/// - logs (losses, accuracies, history, evaluate) within 2e-5 relative (float32 sums in another order);
/// - weights within `weightTolerance` (1e-6) absolute of Keras's after each step: an Adam step moves a
///   weight by up to the learning rate (1e-3 here), so that is 0.1 % of one step (measured: at most
///   2.2e-7 on every engine).
/// - one exception: the attention layer's score bias `V.bias`. Softmax over time is shift-invariant,
///   so its exact gradient is 0; Keras and GraphJIT both compute rounding noise (~1e-9), which Adam's
///   `m/(√v+ε)` turns into steps of up to `lr·|g|/(|g|+ε)`. It is compared within a tenth of the
///   learning rate (1e-4; measured 3.4e-5), and the gradient itself must be noise
///   (`gradientOfShiftInvariantBiasIsNoise`).
@Suite("Training matches Keras step by step")
struct KerasTrainingTests {
    static let engines: [Engine] = [.reference, .jit(tier: .instant), .jit(tier: .optimized)]
    static let weightTolerance: Float = 1e-6
    static let shiftInvariantTolerance: Float = 1e-4

    static func tolerance(_ weight: String) -> Float {
        weight.hasSuffix(".V.bias") ? shiftInvariantTolerance : weightTolerance
    }
    static let logTolerance = 2e-5

    static func expectClose(_ actual: [String: Double], _ expected: [String: Double], _ what: String) {
        #expect(Set(actual.keys) == Set(expected.keys), "\(what): keys \(actual.keys.sorted()) vs Keras \(expected.keys.sorted())")
        for (key, value) in expected {
            guard let mine = actual[key] else { continue }
            #expect(abs(mine - value) <= logTolerance * max(1, abs(value)), "\(what) \(key): \(mine), Keras \(value)")
        }
    }

    /// The weight whose difference from Keras's is the largest relative to its tolerance.
    static func maxDifference(_ model: Model, _ expected: [String: Tensor]) -> (Float, String) {
        var worst: (Float, String) = (0, "")
        for (name, tensor) in expected {
            guard let mine = model.parameters[name] else { return (.infinity, "missing \(name)") }
            let difference = zip(mine.scalars, tensor.scalars).map { abs($0 - $1) }.max() ?? 0
            if difference / tolerance(name) > worst.0 / tolerance(worst.1) { worst = (difference, name) }
        }
        return worst
    }

    @Test("train_on_batch: logs and every weight after each step", arguments: TrainingFixture.caseNames, engines)
    func stepByStep(_ name: String, _ engine: Engine) throws {
        let fixture = try TrainingFixture.load(name)
        let model = try fixture.makeModel()
        let (inputs, targets) = (try fixture.inputs, try fixture.targets)
        for (step, range) in fixture.entry.batches.enumerated() {
            let rows = range[0]..<range[1]
            let logs = try model.trainOnBatch(inputs.map { TrainingData.gather($0, rows) },
                                              targets.map { TrainingData.gather($0, rows) }, engine: engine)
            Self.expectClose(logs, fixture.entry.steps[step], "\(name) step \(step + 1) on \(engine)")
            let (difference, weight) = Self.maxDifference(model, fixture.weights("step\(step + 1)"))
            #expect(difference <= Self.tolerance(weight), "\(name) step \(step + 1) on \(engine): \(weight) differs by \(difference)")
        }
    }

    @Test("fit (2 epochs, validation split) and evaluate", arguments: TrainingFixture.caseNames, engines)
    func fitAndEvaluate(_ name: String, _ engine: Engine) throws {
        let fixture = try TrainingFixture.load(name)
        let model = try fixture.makeModel()
        let record = fixture.entry.fit
        let history = try model.fit(try fixture.inputs, try fixture.targets, batchSize: record.batchSize, epochs: record.epochs,
                                    shuffle: false, validationSplit: record.validationSplit, verbose: .silent, engine: engine)
        #expect(Set(history.history.keys) == Set(record.history.keys))
        for (key, values) in record.history {
            let mine = history.history[key] ?? []
            #expect(mine.count == values.count, "\(name) history \(key)")
            for (a, b) in zip(mine, values) {
                #expect(abs(a - b) <= Self.logTolerance * max(1, abs(b)), "\(name) on \(engine) history \(key): \(mine) vs Keras \(values)")
            }
        }
        let (difference, weight) = Self.maxDifference(model, fixture.weights("fit"))
        #expect(difference <= Self.tolerance(weight), "\(name) after fit on \(engine): \(weight) differs by \(difference)")
        let evaluation = try model.evaluate(try fixture.inputs, try fixture.targets, batchSize: record.batchSize, engine: engine)
        Self.expectClose(evaluation, record.evaluate, "\(name) evaluate on \(engine)")
    }

    @Test("the attention score bias's gradient is rounding noise (softmax over time is shift-invariant)")
    func gradientOfShiftInvariantBiasIsNoise() throws {
        let fixture = try TrainingFixture.load("attention")
        let model = try fixture.makeModel()
        model.compile(optimizer: .sgd(learningRate: 1), loss: .categoricalCrossentropy, metrics: [.accuracy])
        let before = try #require(model.parameters["attention_layer.V.bias"]).scalars[0]
        let kernel = try #require(model.parameters["attention_layer.V.kernel"])
        try model.trainOnBatch(try fixture.inputs, try fixture.targets, engine: .reference)
        // With SGD at learning rate 1 the change is the gradient itself.
        let change = abs(try #require(model.parameters["attention_layer.V.bias"]).scalars[0] - before)
        let kernelChange = zip(try #require(model.parameters["attention_layer.V.kernel"]).scalars, kernel.scalars)
            .map { abs($0 - $1) }.max()!
        #expect(change < 1e-6 && kernelChange > 1e-3, "V.bias moved \(change), V.kernel \(kernelChange)")
    }
}
