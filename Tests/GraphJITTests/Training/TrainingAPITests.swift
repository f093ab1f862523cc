import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// `fit`'s options, callbacks, history and progress line, and what training leaves in the model.
@Suite("Training API: fit, callbacks, history, progress")
struct TrainingAPITests {
    static func data(samples: Int = 20, seed: UInt64 = 3) -> (x: Tensor, y: Tensor) {
        var generator = SeededGenerator(seed: seed)
        let x = generator.normalTensor(shape: [samples, 5])
        let y = Tensor(shape: [samples, 3], uncheckedScalars: (0..<(samples * 3)).map { $0 % 3 == ($0 / 3) % 3 ? 1 : 0 })
        return (x, y)
    }

    static func model(seed: UInt64 = 2) -> Model {
        let model = Sequential(inputShape: [5], seed: seed) {
            Dense(units: 8, activation: .relu)
            Dense(units: 3, activation: .softmax)
        }
        model.compile(optimizer: .adam(learningRate: 0.01), loss: .categoricalCrossentropy, metrics: [.accuracy])
        return model
    }

    @Test("shuffled fit is reproducible from its seed, and another seed trains differently")
    func seededShuffle() throws {
        let (x, y) = Self.data()
        let runs = try [UInt64(1), 1, 2].map { seed in
            let model = Self.model()
            try model.fit([x], [y], batchSize: 4, epochs: 2, verbose: .silent, seed: seed)
            return model.parameters.dictionary
        }
        #expect(runs[0] == runs[1])
        #expect(runs[0] != runs[2])
    }

    @Test("training updates what predict, parameters and saveWeights see; the JIT and the reference agree")
    func trainedWeightsEverywhere() throws {
        let (x, y) = Self.data()
        let jit = Self.model(), reference = Self.model()
        let jitHistory = try jit.fit([x], [y], batchSize: 8, epochs: 3, shuffle: false, verbose: .silent)
        let referenceHistory = try reference.fit([x], [y], batchSize: 8, epochs: 3, shuffle: false, verbose: .silent,
                                                 engine: .reference)
        for (a, b) in zip(jitHistory.history["loss"]!, referenceHistory.history["loss"]!) { #expect(abs(a - b) <= 1e-5) }
        #expect(jitHistory.history["loss"]!.last! < jitHistory.history["loss"]!.first!, "the loss goes down")
        let viaJIT = try jit.predict(x)
        let viaReference = try jit.predict(x, engine: .reference)
        #expect(zip(viaJIT.scalars, viaReference.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(zip(viaJIT.scalars, try reference.predict(x, engine: .reference).scalars).allSatisfy { abs($0 - $1) <= 1e-4 })
        let url = FileManager.default.temporaryDirectory.appending(path: "graphjit-trained-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try jit.saveWeights(to: url)
        let reloaded = Self.model(seed: 99)
        try reloaded.loadWeights(from: url)
        #expect(reloaded.parameters.dictionary == jit.parameters.dictionary)
    }

    @Test("compiling again starts a fresh optimizer")
    func recompileResetsOptimizer() throws {
        let (x, y) = Self.data()
        let first = Self.model()
        let initial = first.parameters.dictionary
        let logs = try first.trainOnBatch([x], [y])
        try first.trainOnBatch([x], [y])
        try first.setParameters(initial)
        first.compile(optimizer: .adam(learningRate: 0.01), loss: .categoricalCrossentropy, metrics: [.accuracy])
        let again = try first.trainOnBatch([x], [y])
        #expect(again == logs)
        let fresh = Self.model()
        try fresh.trainOnBatch([x], [y])
        #expect(fresh.parameters.dictionary == first.parameters.dictionary)
    }

    @Test("validation data and split add val_ keys; evaluate's order is Keras's")
    func validation() throws {
        let (x, y) = Self.data()
        let model = Self.model()
        let split = try model.fit([x], [y], batchSize: 5, epochs: 2, shuffle: false, validationSplit: 0.25, verbose: .silent)
        #expect(Set(split.history.keys) == ["loss", "accuracy", "val_loss", "val_accuracy"])
        #expect(split.params == ["verbose": 0, "epochs": 2, "steps": 3])
        let (vx, vy) = Self.data(samples: 6, seed: 9)
        let given = try model.fit([x], [y], batchSize: 5, epochs: 1, validationData: ([vx], [vy]), verbose: .silent)
        let evaluation = try model.evaluate([vx], [vy], batchSize: 5)
        #expect(abs(given.history["val_loss"]![0] - evaluation["loss"]!) <= 1e-6)
        #expect(try model.metricsNames() == ["loss", "accuracy"])
        let multitask = TutorialModel.multitask(inputSize: 5, hidden: 4)
        multitask.compile(optimizer: .adam(), loss: .categoricalCrossentropy, metrics: [.accuracy, .accuracy])
        #expect(try multitask.metricsNames() == ["loss", "dense_1_loss", "dense_2_loss", "dense_1_accuracy", "dense_2_accuracy"])
        let json = try JSONSerialization.jsonObject(with: split.jsonData()) as? [String: [Double]]
        #expect(json?["val_loss"] == split.history["val_loss"])
    }

    @Test("EarlyStopping stops and restores the best weights; ModelCheckpoint saves per epoch")
    func callbacks() throws {
        let (x, y) = Self.data()
        let model = Self.model()
        // A huge learning rate makes the loss rise after the first epoch.
        model.compile(optimizer: .sgd(learningRate: 5), loss: .categoricalCrossentropy, metrics: [.accuracy])
        let stopper = EarlyStopping(monitor: "loss", patience: 1, restoreBestWeights: true)
        let directory = FileManager.default.temporaryDirectory.appending(path: "graphjit-checkpoints-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = ModelCheckpoint(url: directory.appending(path: "weights-{epoch}.safetensors"))
        let history = try model.fit([x], [y], batchSize: 20, epochs: 30, shuffle: false, verbose: .silent,
                                    callbacks: [stopper, checkpoint])
        let losses = history.history["loss"]!
        #expect(losses.count < 30, "stopped early: \(losses)")
        let best = losses.indices.min { losses[$0] < losses[$1] }!
        #expect(stopper.stoppedEpoch == losses.count - 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files.count == losses.count && files.first == "weights-01.safetensors")
        // Restored: the weights saved after the best epoch.
        let saved = try Safetensors.read(contentsOf: directory.appending(path: String(format: "weights-%02d.safetensors", best + 1)))
        #expect(saved.tensors == model.parameters.dictionary)
    }

    @Test("the progress line is Keras's")
    func progressLine() {
        let line = ProgressBar.render(current: 25, target: 25, elapsed: 1.6, perStep: 0.041,
                                      logs: ["loss": 2.33121, "accuracy": 0.105], final: true)
        let plain = line.replacingOccurrences(of: "\u{1b}[1m", with: "").replacingOccurrences(of: "\u{1b}[0m", with: "")
            .replacingOccurrences(of: "\u{1b}[32m", with: "").replacingOccurrences(of: "\u{1b}[37m", with: "")
        #expect(plain == "25/25 ━━━━━━━━━━━━━━━━━━━━ 2s 41ms/step - accuracy: 0.1050 - loss: 2.3312")
        #expect(ProgressBar.value(0.0005) == "5.0000e-04")
        #expect(ProgressBar.stepTime(2.4) == "2s/step" && ProgressBar.stepTime(0.0004) == "400us/step")
        #expect(ProgressBar.duration(75) == "1:15" && ProgressBar.duration(3700) == "1:01:40")
    }

    @Test("Keras's dict form: losses, metrics and loss weights by output name train as the list form does")
    func dictForm() throws {
        var generator = SeededGenerator(seed: 8)
        let x = generator.normalTensor(shape: [12, 6])
        let y1 = Tensor(shape: [12, 10], uncheckedScalars: (0..<120).map { $0 % 10 == ($0 / 10) % 10 ? 1 : 0 })
        let y2 = Tensor(shape: [12, 5], uncheckedScalars: (0..<60).map { $0 % 5 == ($0 / 5) % 5 ? 1 : 0 })
        let listed = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 4)
        listed.compile(optimizer: .adam(), losses: [.categoricalCrossentropy, .meanSquaredError], metrics: [.accuracy, .accuracy],
                       lossWeights: [1, 0.5])
        let named = TutorialModel.multitask(inputSize: 6, hidden: 8, seed: 4)
        named.compile(optimizer: .adam(), losses: ["dense_2": .meanSquaredError, "dense_1": .categoricalCrossentropy],
                      metrics: ["dense_1": [.accuracy], "dense_2": [.accuracy]], lossWeights: ["dense_2": 0.5])
        let a = try listed.fit([x], [y1, y2], batchSize: 4, epochs: 2, shuffle: false, verbose: .silent)
        let b = try named.fit([x], [y1, y2], batchSize: 4, epochs: 2, shuffle: false, verbose: .silent)
        #expect(a.history == b.history)
        #expect(listed.parameters.dictionary == named.parameters.dictionary)
        named.compile(optimizer: .adam(), losses: ["dense_1": .categoricalCrossentropy, "head": .meanSquaredError])
        TrainingInputTests.expectError("not outputs: head; missing: dense_2") {
            try named.fit([x], [y1, y2], verbose: .silent)
        }
    }
}
