import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

@Suite("Model API: names, parameters, initialization, weights I/O")
struct ModelAPITests {
    // MARK: Names

    @Test("layers get Keras's automatic names in application order")
    func automaticNames() throws {
        let model = Sequential(inputShape: [4]) {
            Dense(units: 3, activation: .relu)
            Dense(units: 2)
        }
        #expect(try model.layerNames() == ["dense", "dense_1"])
        #expect(model.parameters.names == ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"])
        #expect(try model.inputSignature().map(\.name) == ["input_layer"])
        #expect(model.name == "sequential")
    }

    @Test("each Keras base name counts separately")
    func separateCounters() throws {
        let model = Sequential(inputShape: [6, 6, 1]) {
            Conv2D(filters: 2, kernelSize: [3, 3])
            Activation(.relu)
            Conv2D(filters: 2, kernelSize: [2, 2])
            MaxPooling2D()
            Flatten()
            Dense(units: 3)
            Activation(.tanh)
            Dense(units: 2)
            Softmax()
        }
        #expect(try model.layerNames() == [
            "conv2d", "activation", "conv2d_1", "max_pooling2d", "flatten",
            "dense", "activation_1", "dense_1", "softmax",
        ])
    }

    @Test("the attention layer names its inner Dense weights W and V under its own name")
    func attentionNames() throws {
        let model = TutorialModel.attention(timesteps: 4, features: 3, units: 5)
        #expect(try model.layerNames() == ["attention_layer", "dense"])
        #expect(model.parameters.names == [
            "attention_layer.W.kernel", "attention_layer.W.bias",
            "attention_layer.V.kernel", "attention_layer.V.bias",
            "dense.kernel", "dense.bias",
        ])
        #expect(model.parameters["attention_layer.W.kernel"]?.shape == [3, 5])
        #expect(model.parameters["attention_layer.V.kernel"]?.shape == [5, 1])
        #expect(model.parameters["attention_layer.V.bias"]?.shape == [1])
    }

    @Test("user-given names are kept; automatic names skip names already taken")
    func userNames() throws {
        let model = Sequential(inputShape: [4], name: "classifier") {
            Dense(units: 3, name: "hidden")
            Dense(units: 3, name: "dense_1")
            Dense(units: 3)
            Dense(units: 2)
        }
        #expect(model.name == "classifier")
        #expect(try model.layerNames() == ["hidden", "dense_1", "dense", "dense_2"])
        #expect(model.parameters.names.first == "hidden.kernel")

        let input = Input(shape: [2], name: "features")
        let output = Dense(units: 1, name: "score")(input)
        let functional = Model(inputs: [input], outputs: [output], name: "scorer")
        #expect(try functional.inputSignature().map(\.name) == ["features"])
        #expect(functional.parameters.names == ["score.kernel", "score.bias"])
    }

    @Test("two layers with the same user name make the model fail with an error naming it")
    func duplicateUserNames() throws {
        let model = Sequential(inputShape: [4]) {
            Dense(units: 3, name: "twin")
            Dense(units: 2, name: "twin")
        }
        let error = #expect(throws: GraphError.self) { try model.layerNames() }
        #expect(error == .invalidModel(reason: "two layers are named 'twin'"))
        #expect(error?.description.contains("'twin'") == true)
        #expect(throws: GraphError.self) { try model.makeGraph() }
        #expect(throws: GraphError.self) { try model.summary() }
        #expect(throws: GraphError.self) { try model.predict(Tensor.zeros([1, 4]), engine: .reference) }
        #expect(throws: GraphError.self) { try model.setParameters([:]) }
        #expect(model.parameters.names.isEmpty)
    }

    @Test("a user name equal to an input name is rejected")
    func layerNamedLikeInput() throws {
        let model = Sequential(inputShape: [4]) { Dense(units: 2, name: "input_layer") }
        #expect(throws: GraphError.invalidModel(reason: "two layers are named 'input_layer'")) {
            try model.layerNames()
        }
    }

    // MARK: Tutorial models

    @Test("the tutorial CNN has 3,938,570 parameters, and summary() shows them per layer")
    func tutorialCNNSummary() throws {
        let model = TutorialModel.cnn.make()
        #expect(try model.parameterCount() == 3_938_570)
        #expect(model.parameters.scalarCount == 3_938_570)
        let summary = try model.summary()
        #expect(summary.contains("Model: \"sequential\""))
        #expect(summary.contains("Total params: 3,938,570 (15.02 MB)"))
        #expect(summary.contains("Trainable params: 3,938,570"))
        #expect(summary.contains("Non-trainable params: 0"))

        let rows: [(layer: String, shape: String, count: String)] = [
            ("conv2d (Conv2D)", "(None, 62, 62, 32)", "896"),
            ("max_pooling2d (MaxPooling2D)", "(None, 31, 31, 32)", "0"),
            ("flatten (Flatten)", "(None, 30752)", "0"),
            ("dense (Dense)", "(None, 128)", "3,936,384"),
            ("dense_1 (Dense)", "(None, 10)", "1,290"),
        ]
        let lines = summary.split(separator: "\n").map(String.init)
        for row in rows {
            let line = lines.first { $0.contains(row.layer) }
            #expect(line != nil, "no summary row for \(row.layer) in\n\(summary)")
            #expect(line?.contains(row.shape) == true, "\(row.layer): \(line ?? "")")
            #expect(line?.trimmingCharacters(in: CharacterSet(charactersIn: "│ ")).hasSuffix(row.count) == true,
                    "\(row.layer) should count \(row.count): \(line ?? "")")
        }
        #expect(try model.summary(showingCompileConfiguration: true).contains("Compiled with:"))
    }

    @Test("a functional model's summary lists its input layers")
    func functionalSummary() throws {
        let summary = try TutorialModel.multitask(inputSize: 8).summary()
        #expect(summary.contains("Model: \"functional\""))
        #expect(summary.contains("input_layer (InputLayer)"))
        #expect(summary.contains("dense_2 (Dense)"))
        // 8*128+128 + 128*10+10 + 128*5+5
        #expect(summary.contains("Total params: \(ModelAPITests.grouped(1152 + 1290 + 645))"))
    }

    static func grouped(_ value: Int) -> String { Model.grouped(value) }

    @Test("parameter names of the tutorial models, exactly and in creation order", arguments: TutorialModel.allCases)
    func tutorialParameterNames(_ tutorial: TutorialModel) throws {
        let expected: [String] = switch tutorial {
        case .cnn: ["conv2d.kernel", "conv2d.bias", "dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"]
        case .lstm: ["lstm.kernel", "lstm.recurrent_kernel", "lstm.bias", "dense.kernel", "dense.bias"]
        case .attention: ["attention_layer.W.kernel", "attention_layer.W.bias", "attention_layer.V.kernel",
                          "attention_layer.V.bias", "dense.kernel", "dense.bias"]
        case .multitask: ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias", "dense_2.kernel", "dense_2.bias"]
        case .crossmodal: ["conv2d.kernel", "conv2d.bias", "lstm.kernel", "lstm.recurrent_kernel", "lstm.bias",
                           "dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias", "dense_2.kernel", "dense_2.bias"]
        }
        let model = tutorial.make()
        #expect(model.parameters.names == expected)
        #expect(try model.makeGraph().parameters.map(\.name) == expected)
        #expect(model.trainingConfiguration == TrainingConfiguration(
            optimizer: .adam(), losses: [.categoricalCrossentropy],
            metrics: Array(repeating: .accuracy, count: tutorial.outputCount)))
    }

    @Test("tutorial parameter shapes", arguments: TutorialModel.allCases)
    func tutorialParameterShapes(_ tutorial: TutorialModel) throws {
        let expected: [String: [Int]] = switch tutorial {
        case .cnn: ["conv2d.kernel": [3, 3, 3, 32], "conv2d.bias": [32], "dense.kernel": [30752, 128],
                    "dense.bias": [128], "dense_1.kernel": [128, 10], "dense_1.bias": [10]]
        case .lstm: ["lstm.kernel": [32, 200], "lstm.recurrent_kernel": [50, 200], "lstm.bias": [200],
                     "dense.kernel": [50, 10], "dense.bias": [10]]
        case .attention: ["attention_layer.W.kernel": [64, 64], "attention_layer.W.bias": [64],
                          "attention_layer.V.kernel": [64, 1], "attention_layer.V.bias": [1],
                          "dense.kernel": [64, 10], "dense.bias": [10]]
        case .multitask: ["dense.kernel": [64, 128], "dense.bias": [128], "dense_1.kernel": [128, 10],
                          "dense_1.bias": [10], "dense_2.kernel": [128, 5], "dense_2.bias": [5]]
        case .crossmodal: ["conv2d.kernel": [3, 3, 3, 32], "conv2d.bias": [32], "lstm.kernel": [32, 200],
                           "lstm.recurrent_kernel": [50, 200], "lstm.bias": [200], "dense.kernel": [30752 + 50, 128],
                           "dense.bias": [128], "dense_1.kernel": [128, 10], "dense_1.bias": [10],
                           "dense_2.kernel": [128, 5], "dense_2.bias": [5]]
        }
        let graph = try tutorial.make().makeGraph()
        #expect(Dictionary(uniqueKeysWithValues: graph.parameters.map { ($0.name, $0.shape) }) == expected)
    }

    // MARK: Initialization

    @Test("initialization is reproducible: same seed, same weights; another seed, other weights")
    func seededInitialization() throws {
        func make(_ seed: UInt64) -> Model { TutorialModel.lstm(timesteps: 5, features: 7, units: 6, seed: seed) }
        let a = make(7), b = make(7), c = make(8)
        #expect(a.seed == 7)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters != c.parameters)
        for name in ["lstm.kernel", "lstm.recurrent_kernel", "dense.kernel"] {
            #expect(a.parameters[name] != c.parameters[name], "\(name) should depend on the seed")
        }
        // Biases are zero whatever the seed.
        #expect(a.parameters["lstm.bias"] == c.parameters["lstm.bias"])
        #expect(Sequential(inputShape: [3]) { Dense(units: 2) }.seed == 0)
    }

    @Test("glorot-uniform kernels stay within ±sqrt(6 / (fanIn + fanOut)) and fill the range; biases are zero")
    func glorotLimits() throws {
        let model = Sequential(inputShape: [8, 8, 3], seed: 3) {
            Conv2D(filters: 16, kernelSize: [3, 3])
            Flatten()
            Dense(units: 20)
        }
        let graph = try model.makeGraph()
        var checked = 0
        for spec in graph.parameters {
            let tensor = try #require(model.parameters[spec.name])
            #expect(tensor.shape == spec.shape)
            switch spec.initializer {
            case let .glorotUniform(fanIn, fanOut):
                let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
                let largest = tensor.scalars.map(abs).max() ?? 0
                #expect(largest <= limit, "\(spec.name): \(largest) > \(limit)")
                #expect(largest >= 0.95 * limit, "\(spec.name) does not fill its range: \(largest) vs \(limit)")
                let mean = tensor.scalars.reduce(0, +) / Float(tensor.elementCount)
                #expect(abs(mean) < 0.1 * limit, "\(spec.name) mean \(mean)")
                checked += 1
            case .zeros:
                #expect(tensor.scalars.allSatisfy { $0 == 0 }, "\(spec.name) should be zero")
            case .ones:
                #expect(tensor.scalars.allSatisfy { $0 == 1 }, "\(spec.name) should be one")
            case .orthogonal, .unitForgetBias:
                Issue.record("unexpected initializer \(spec.initializer) for \(spec.name)")
            }
        }
        #expect(checked == 2)
        // Fan-in and fan-out are Keras's: receptive field × channels for a convolution.
        #expect(graph.parameters[0].initializer == .glorotUniform(fanIn: 3 * 3 * 3, fanOut: 3 * 3 * 16))
        #expect(graph.parameters[2].initializer == .glorotUniform(fanIn: 6 * 6 * 16, fanOut: 20))
    }

    @Test("the LSTM recurrent kernel (u, 4u) is orthogonal: U·Uᵀ = I within 1e-5",
          arguments: [(units: 50, seed: UInt64(0)), (units: 7, seed: 11), (units: 1, seed: 5)])
    func orthogonalRecurrentKernel(_ configuration: (units: Int, seed: UInt64)) throws {
        let u = configuration.units
        let model = TutorialModel.lstm(timesteps: 3, features: 4, units: u, seed: configuration.seed)
        let kernel = try #require(model.parameters["lstm.recurrent_kernel"])
        #expect(kernel.shape == [u, 4 * u])
        var worst: Double = 0
        for i in 0..<u {
            for j in 0..<u {
                var dot = 0.0
                for k in 0..<(4 * u) {
                    dot += Double(kernel.scalars[i * 4 * u + k]) * Double(kernel.scalars[j * 4 * u + k])
                }
                worst = max(worst, abs(dot - (i == j ? 1 : 0)))
            }
        }
        #expect(worst <= 1e-5, "max |U·Uᵀ - I| = \(worst)")
        // Keras's unit_forget_bias: [0_u, 1_u, 0_2u] in gate order i, f, c, o.
        let bias = try #require(model.parameters["lstm.bias"]).scalars
        #expect(bias == (0..<(4 * u)).map { $0 >= u && $0 < 2 * u ? 1 : 0 })
    }

    // MARK: Configuration

    @Test("compile records the configuration exactly, and summary reports it")
    func compileRecordsConfiguration() throws {
        let model = Sequential(inputShape: [3]) { Dense(units: 2, activation: .softmax) }
        #expect(model.trainingConfiguration == nil)
        #expect(try !model.summary(showingCompileConfiguration: true).contains("Compiled with"))
        model.compile(optimizer: .adam(learningRate: 0.01), loss: .categoricalCrossentropy, metrics: [.accuracy])
        let configuration = try #require(model.trainingConfiguration)
        #expect(configuration.optimizer == .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        #expect(configuration.optimizer != .adam())
        #expect(configuration.loss == .categoricalCrossentropy)
        #expect(configuration.loss?.rawValue == "categorical_crossentropy")
        #expect(configuration.metrics == [.accuracy])
        #expect(try model.summary(showingCompileConfiguration: true).contains("loss categorical_crossentropy"))
        // Compiling again replaces the configuration.
        model.compile(optimizer: .adam(), loss: .categoricalCrossentropy)
        #expect(model.trainingConfiguration?.metrics == [])
    }

    // MARK: Shared layers

    @Test("a layer applied twice shares one set of weights")
    func sharedLayer() throws {
        let shared = Dense(units: 4, activation: .tanh)
        let input = Input(shape: [4])
        let output = shared(shared(input))
        let model = Model(inputs: [input], outputs: [output])
        #expect(try model.layerNames() == ["dense"])
        #expect(model.parameters.names == ["dense.kernel", "dense.bias"])
        let graph = try model.makeGraph()
        #expect(graph.parameters.count == 2)
        #expect(graph.nodes.filter { $0.operation == .matmul }.count == 2)
        #expect(Set(graph.nodes.filter { $0.operation == .matmul }.map { $0.inputs[1] }).count == 1)

        // The result is the same layer applied twice by hand.
        let weights = randomParameters(for: model, seed: 21)
        try model.setParameters(weights)
        let x = Tensor.seededNormal([2, 4], seed: 22)
        let twice = try model.predict(x, engine: .reference)
        let single = Sequential(inputShape: [4]) { Dense(units: 4, activation: .tanh) }
        try single.setParameters(weights)
        let once = try single.predict(x, engine: .reference)
        let expected = try single.predict(once, engine: .reference)
        #expect(Difference(twice, expected).maxAbsolute == 0)
        let jit = try model.predict(x, engine: .jit(tier: .instant))
        #expect(Difference(jit, expected).maxAbsolute <= 1e-5)
    }

    @Test("a layer shared by two inputs with different feature sizes fails with a shape error")
    func sharedLayerShapeConflict() throws {
        let shared = Dense(units: 2)
        let a = Input(shape: [3]), b = Input(shape: [5])
        let model = Model(inputs: [a, b], outputs: [Concatenate()([shared(a), shared(b)])])
        let error = #expect(throws: GraphError.self) { try model.makeGraph() }
        #expect(error?.description.contains("dense") == true)
        #expect(error?.description.contains("[5, 2]") == true)
        #expect(error?.description.contains("[3, 2]") == true)
    }

    // MARK: Weights I/O

    @Test("weights round-trip through a safetensors file")
    func saveLoadRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appending(path: "model.safetensors")

        let original = TutorialModel.attention(timesteps: 6, features: 4, units: 3, seed: 1)
        try original.setParameters(randomParameters(for: original, seed: 2))
        try original.saveWeights(to: url)

        let file = try Safetensors.read(contentsOf: url)
        #expect(file.names == original.parameters.names.sorted())
        #expect(file.metadata["format"] == "graphjit")
        #expect(file.metadata["model"] == "sequential")

        let restored = TutorialModel.attention(timesteps: 6, features: 4, units: 3, seed: 99)
        #expect(restored.parameters != original.parameters)
        try restored.loadWeights(from: url)
        #expect(restored.parameters == original.parameters)
        #expect(restored.parameters.names == original.parameters.names)

        let x = Tensor.seededNormal([2, 6, 4], seed: 3)
        #expect(try restored.predict(x, engine: .reference) == original.predict(x, engine: .reference))
    }

    @Test("loading weights replaces a cached JIT compilation")
    func loadingWeightsInvalidatesJIT() throws {
        let model = Sequential(inputShape: [3]) { Dense(units: 2) }
        let x = Tensor.seededNormal([1, 3], seed: 1)
        let before = try model.predict(x, engine: .jit(tier: .instant))
        try model.setParameters(randomParameters(for: model, seed: 4))
        let after = try model.predict(x, engine: .jit(tier: .instant))
        let reference = try model.predict(x, engine: .reference)
        #expect(after != before)
        #expect(Difference(after, reference).maxAbsolute <= 1e-5)
    }

    enum WeightsDefect: String, CaseIterable, CustomStringConvertible {
        case missing, extra, wrongShape
        var description: String { rawValue }
    }

    @Test("weights with a missing, extra or misshapen tensor are rejected with an error naming it",
          arguments: WeightsDefect.allCases)
    func badWeights(_ defect: WeightsDefect) throws {
        let model = TutorialModel.lstm(timesteps: 4, features: 3, units: 2)
        var tensors = randomParameters(for: model, seed: 5)
        let expected: WeightsError
        let named: String
        switch defect {
        case .missing:
            tensors["lstm.recurrent_kernel"] = nil
            named = "lstm.recurrent_kernel"
            expected = .nameMismatch(source: "model.safetensors", missing: [named], unexpected: [])
        case .extra:
            tensors["lstm_1.kernel"] = .zeros([3, 8])
            named = "lstm_1.kernel"
            expected = .nameMismatch(source: "model.safetensors", missing: [], unexpected: [named])
        case .wrongShape:
            tensors["dense.kernel"] = .zeros([10, 2])
            named = "dense.kernel"
            expected = .shapeMismatch(source: "model.safetensors", name: named, expected: [2, 10], actual: [10, 2])
        }
        let before = model.parameters

        // Through setParameters ...
        let error = #expect(throws: WeightsError.self) { try model.setParameters(tensors, source: "model.safetensors") }
        #expect(error == expected)
        #expect(error?.description.contains(named) == true, "\(error.map(String.init(describing:)) ?? "")")
        #expect(model.parameters == before, "a failed load must leave the weights unchanged")

        // ... and through a file, whose name the error carries.
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appending(path: "model.safetensors")
        try Safetensors.write(tensors, to: url)
        let fromFile = #expect(throws: WeightsError.self) { try model.loadWeights(from: url) }
        #expect(fromFile == expected)
        #expect(fromFile?.description.contains("model.safetensors") == true)
        #expect(model.parameters == before)
    }

    @Test("a wrongly shaped tensor's error gives both shapes")
    func shapeErrorText() throws {
        let error = WeightsError.shapeMismatch(source: "w.safetensors", name: "dense.kernel", expected: [2, 10], actual: [10, 2])
        #expect(error.description == "weights from w.safetensors: 'dense.kernel' has shape [10, 2], the model expects [2, 10]")
    }

    @Test("a truncated safetensors file is rejected and the weights are kept")
    func truncatedFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = TutorialModel.multitask(inputSize: 6)
        let url = directory.appending(path: "weights.safetensors")
        try model.saveWeights(to: url)
        let bytes = try Data(contentsOf: url)
        let before = model.parameters

        for keep in [bytes.count - 4, bytes.count / 2, 12, 4] {
            let truncated = directory.appending(path: "truncated-\(keep).safetensors")
            try bytes.prefix(keep).write(to: truncated)
            let error = #expect(throws: SafetensorsError.self) { try model.loadWeights(from: truncated) }
            #expect(error?.file == truncated)
            #expect(error?.description.contains("truncated-\(keep).safetensors") == true)
            #expect(model.parameters == before)
        }
        // A missing file is Foundation's error, not a crash.
        #expect(throws: (any Error).self) { try model.loadWeights(from: directory.appending(path: "absent.safetensors")) }
    }
}
