import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Shape inference and its errors: every error names the layer (or input) and the shapes involved.
@Suite("Shape inference and shape errors")
struct ShapeErrorTests {
    /// Builds the graph of `model` and returns the error, which must be a ``GraphError``; also checks
    /// that both engines report the same error from `predict`.
    private func graphError(_ model: Model, input: [Int]? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) -> GraphError? {
        let error = #expect(throws: GraphError.self, sourceLocation: sourceLocation) { try model.makeGraph(batchSize: 1) }
        if let input {
            let x = Tensor.zeros([1] + input)
            for engine in [Engine.reference, .jit(tier: .instant)] {
                let fromPredict = #expect(throws: GraphError.self, sourceLocation: sourceLocation) {
                    try model.predict([x], engine: engine)
                }
                #expect(fromPredict == error, sourceLocation: sourceLocation)
            }
        }
        return error
    }

    private func expectDescription(_ error: GraphError?, contains parts: [String],
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        let text = error.map(String.init(describing:)) ?? "(no error)"
        for part in parts {
            #expect(text.contains(part), "'\(part)' missing from: \(text)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Layers on the wrong input

    @Test("Conv2D with a kernel larger than its input (valid padding)")
    func convolutionKernelTooLarge() {
        let model = Sequential(inputShape: [2, 5, 1]) { Conv2D(filters: 4, kernelSize: [3, 3]) }
        let error = graphError(model, input: [2, 5, 1])
        guard case let .shapeMismatch(layer, operation, shapes, _)? = error else {
            Issue.record("expected a shape mismatch, got \(String(describing: error))")
            return
        }
        #expect(layer == "conv2d")
        #expect(operation == "conv2d")
        #expect(shapes == [[1, 2, 5, 1]])
        expectDescription(error, contains: ["layer 'conv2d'", "[1, 2, 5, 1]", "[3, 3]", "valid"])
    }

    @Test("the same Conv2D is fine with 'same' padding")
    func convolutionSamePaddingFits() throws {
        let model = Sequential(inputShape: [2, 5, 1]) { Conv2D(filters: 4, kernelSize: [3, 3], padding: .same) }
        let graph = try model.makeGraph(batchSize: 2)
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 2, 5, 4]])
    }

    @Test("MaxPooling2D with a pool larger than its input")
    func poolTooLarge() {
        let model = Sequential(inputShape: [3, 3, 2]) { MaxPooling2D(poolSize: [4, 2]) }
        let error = graphError(model, input: [3, 3, 2])
        #expect(error == .shapeMismatch(
            layer: "max_pooling2d", operation: "max_pooling2d", inputShapes: [[1, 3, 3, 2]],
            expected: "height and width at least the pool size [4, 2] with padding 'valid'"))
        expectDescription(error, contains: ["layer 'max_pooling2d'", "[1, 3, 3, 2]", "[4, 2]"])
    }

    @Test("Concatenate of inputs whose other axes differ")
    func concatenateMismatch() {
        let a = Input(shape: [3, 4]), b = Input(shape: [2, 5])
        let model = Model(inputs: [a, b], outputs: [Concatenate(axis: -1)([a, b])])
        let error = graphError(model)
        guard case let .shapeMismatch(layer, _, shapes, _)? = error else {
            Issue.record("expected a shape mismatch, got \(String(describing: error))")
            return
        }
        #expect(layer == "concatenate")
        #expect(shapes == [[1, 3, 4], [1, 2, 5]])
        expectDescription(error, contains: ["layer 'concatenate'", "[1, 3, 4], [1, 2, 5]", "except 2"])
    }

    @Test("Concatenate of inputs of different ranks")
    func concatenateRanks() {
        let a = Input(shape: [3, 4]), b = Input(shape: [4])
        let model = Model(inputs: [a, b], outputs: [Concatenate()([a, b])])
        expectDescription(graphError(model), contains: ["layer 'concatenate'", "[1, 3, 4], [1, 4]", "rank"])
    }

    @Test("Concatenate with a single input")
    func concatenateOneInput() {
        let a = Input(shape: [3])
        let model = Model(inputs: [a], outputs: [Concatenate()([a])])
        expectDescription(graphError(model, input: [3]), contains: ["layer 'concatenate'", "[1, 3]", "at least two"])
    }

    @Test("LSTM on a 2-D input")
    func lstmOnMatrix() {
        let model = Sequential(inputShape: [8]) { LSTM(units: 4) }
        let error = graphError(model, input: [8])
        guard case let .shapeMismatch(layer, operation, shapes, _)? = error else {
            Issue.record("expected a shape mismatch, got \(String(describing: error))")
            return
        }
        #expect(layer == "lstm")
        #expect(operation == "lstm")
        #expect(shapes == [[1, 8]])
        expectDescription(error, contains: ["layer 'lstm'", "[1, 8]", "3-D", "2-D"])
    }

    @Test("AttentionLayer on a 4-D input")
    func attentionOnImage() {
        let model = Sequential(inputShape: [4, 4, 2]) { AttentionLayer(units: 3) }
        expectDescription(graphError(model, input: [4, 4, 2]), contains: ["layer 'attention_layer'", "[1, 4, 4, 2]", "3-D"])
    }

    @Test("Dense on a 1-D input (no feature axis)")
    func denseOnVector() {
        let model = Sequential(inputShape: []) { Dense(units: 3) }
        let error = graphError(model, input: [])
        #expect(error == .shapeMismatch(layer: "dense", operation: "dense", inputShapes: [[1]],
                                        expected: "at least (batch, features)"))
        expectDescription(error, contains: ["layer 'dense'", "[1]"])
    }

    @Test("Conv2D and MaxPooling2D on a 3-D input")
    func imageLayersOnSequences() {
        let conv = Sequential(inputShape: [5, 5]) { Conv2D(filters: 2, kernelSize: [2, 2]) }
        expectDescription(graphError(conv, input: [5, 5]), contains: ["layer 'conv2d'", "[1, 5, 5]", "4-D"])
        let pool = Sequential(inputShape: [5, 5]) { MaxPooling2D() }
        expectDescription(graphError(pool, input: [5, 5]), contains: ["layer 'max_pooling2d'", "[1, 5, 5]", "4-D"])
    }

    @Test("the error names the failing layer, not the first one")
    func errorNamesTheFailingLayer() {
        let model = Sequential(inputShape: [6, 6, 1]) {
            Conv2D(filters: 2, kernelSize: [3, 3])       // 4x4
            MaxPooling2D(poolSize: [2, 2])               // 2x2
            Conv2D(filters: 2, kernelSize: [3, 3])       // does not fit
        }
        let error = graphError(model, input: [6, 6, 1])
        expectDescription(error, contains: ["layer 'conv2d_1'", "[1, 2, 2, 2]"])
    }

    // MARK: Bad configurations

    struct BadConfiguration: CustomStringConvertible, Sendable {
        let description: String
        let inputShape: [Int]
        let makeLayer: @Sendable () -> any Layer
        let layerName: String
        let mentions: String
    }

    static let badConfigurations: [BadConfiguration] = [
        .init(description: "Dense units 0", inputShape: [4], makeLayer: { Dense(units: 0) },
              layerName: "dense", mentions: "units must be positive, got 0"),
        .init(description: "Dense units -3", inputShape: [4], makeLayer: { Dense(units: -3) },
              layerName: "dense", mentions: "got -3"),
        .init(description: "Conv2D negative filters", inputShape: [5, 5, 1],
              makeLayer: { Conv2D(filters: -2, kernelSize: [3, 3]) },
              layerName: "conv2d", mentions: "filters must be positive, got -2"),
        .init(description: "Conv2D kernelSize with 3 entries", inputShape: [5, 5, 1],
              makeLayer: { Conv2D(filters: 2, kernelSize: [3, 3, 3]) },
              layerName: "conv2d", mentions: "[3, 3, 3]"),
        .init(description: "Conv2D zero kernel extent", inputShape: [5, 5, 1],
              makeLayer: { Conv2D(filters: 2, kernelSize: [0, 3]) },
              layerName: "conv2d", mentions: "[0, 3]"),
        .init(description: "Conv2D stride 0", inputShape: [5, 5, 1],
              makeLayer: { Conv2D(filters: 2, kernelSize: [3, 3], strides: [0, 1]) },
              layerName: "conv2d", mentions: "strides"),
        .init(description: "MaxPooling2D one-entry pool", inputShape: [4, 4, 1],
              makeLayer: { MaxPooling2D(poolSize: [2]) },
              layerName: "max_pooling2d", mentions: "poolSize"),
        .init(description: "MaxPooling2D negative strides", inputShape: [4, 4, 1],
              makeLayer: { MaxPooling2D(poolSize: [2, 2], strides: [-1, 2]) },
              layerName: "max_pooling2d", mentions: "strides"),
        .init(description: "LSTM units 0", inputShape: [3, 2], makeLayer: { LSTM(units: 0) },
              layerName: "lstm", mentions: "units must be positive"),
        .init(description: "softmax as LSTM activation", inputShape: [3, 2],
              makeLayer: { LSTM(units: 2, activation: .softmax) },
              layerName: "lstm", mentions: "softmax"),
        .init(description: "softmax as LSTM recurrent activation", inputShape: [3, 2],
              makeLayer: { LSTM(units: 2, recurrentActivation: .softmax) },
              layerName: "lstm", mentions: "softmax"),
        .init(description: "AttentionLayer units 0", inputShape: [3, 2], makeLayer: { AttentionLayer(units: 0) },
              layerName: "attention_layer", mentions: "units must be positive"),
        .init(description: "Softmax over the batch axis", inputShape: [3], makeLayer: { Softmax(axis: 0) },
              layerName: "softmax", mentions: "axis 0"),
        .init(description: "Softmax axis out of range", inputShape: [3], makeLayer: { Softmax(axis: 2) },
              layerName: "softmax", mentions: "axis 2"),
    ]

    @Test("invalid layer configurations are reported with the layer's name", arguments: badConfigurations)
    func badConfiguration(_ case_: BadConfiguration) {
        let model = Sequential(inputShape: case_.inputShape) { case_.makeLayer() }
        let error = graphError(model, input: case_.inputShape)
        guard case let .invalidConfiguration(layer, reason)? = error else {
            Issue.record("expected an invalid configuration, got \(String(describing: error))")
            return
        }
        #expect(layer == case_.layerName)
        #expect(reason.contains(case_.mentions), "\(reason)")
        expectDescription(error, contains: ["layer '\(case_.layerName)'", "invalid configuration"])
        // The model exists (construction never throws) but has no weights.
        #expect(model.parameters.names.isEmpty)
    }

    @Test("Concatenate on the batch axis is an invalid configuration")
    func concatenateBatchAxis() {
        let a = Input(shape: [3]), b = Input(shape: [3])
        let model = Model(inputs: [a, b], outputs: [Concatenate(axis: 0)([a, b])])
        expectDescription(graphError(model), contains: ["layer 'concatenate'", "axis 0"])
    }

    @Test("malformed models: non-positive input extents, batch size 0, a foreign Input")
    func malformedModels() {
        let zero = Sequential(inputShape: [0, 3]) { Flatten() }
        #expect(throws: GraphError.invalidModel(reason: "input shape [0, 3] has a non-positive extent")) {
            try zero.makeGraph()
        }
        let fine = Sequential(inputShape: [3]) { Dense(units: 1) }
        #expect(throws: GraphError.invalidModel(reason: "batch size must be positive, got 0")) {
            try fine.makeGraph(batchSize: 0)
        }
        let a = Input(shape: [2]), b = Input(shape: [2])
        let orphan = Model(inputs: [a], outputs: [Concatenate()([a, b])])
        let error = #expect(throws: GraphError.self) { try orphan.makeGraph() }
        #expect(error?.description.contains("Input") == true)
        let notAnInput = Model(inputs: [Dense(units: 2)(a)], outputs: [a])
        #expect(throws: GraphError.self) { try notAnInput.layerNames() }
    }

    /// BUG: a model whose shapes do not fit has no parameter list (`Model.init` swallows the graph
    /// error), and `setParameters` only checks the topology, so loading the right weights into it
    /// fails with a misleading `WeightsError` ("unexpected conv2d.kernel, conv2d.bias") instead of
    /// the shape error that is the real problem.
    @Test("setting weights on a model whose shapes do not fit reports the shape error")
    func weightsOnMalformedModel() {
        let model = Sequential(inputShape: [2, 2, 1]) { Conv2D(filters: 1, kernelSize: [3, 3]) }
        let tensors: [String: Tensor] = ["conv2d.kernel": .zeros([3, 3, 1, 1]), "conv2d.bias": .zeros([1])]
        let error = #expect(throws: (any Error).self) { try model.setParameters(tensors) }
        #expect(error is GraphError, "got \(error.map { "\($0)" } ?? "no error")")
    }

    // MARK: Prediction inputs

    private static func flattenModel() -> Model {
        Sequential(inputShape: [4, 3]) {
            Flatten()
            Dense(units: 2)
        }
    }

    @Test("predict with a wrongly shaped input names the input and both shapes",
          arguments: [Engine.reference, .jit(tier: .instant)])
    func wrongInputShape(_ engine: Engine) {
        let model = Self.flattenModel()
        let error = #expect(throws: GraphError.self) { try model.predict(Tensor.zeros([2, 3, 4]), engine: engine) }
        #expect(error == .inputShapeMismatch(input: "input_layer", expected: [nil, 4, 3], actual: [2, 3, 4]))
        expectDescription(error, contains: ["input 'input_layer'", "(None, 4, 3)", "[2, 3, 4]"])

        let rank = #expect(throws: GraphError.self) { try model.predict(Tensor.zeros([2, 12]), engine: engine) }
        #expect(rank == .inputShapeMismatch(input: "input_layer", expected: [nil, 4, 3], actual: [2, 12]))
        expectDescription(rank, contains: ["input 'input_layer'", "(None, 4, 3)", "[2, 12]", "24 elements"])

        let empty = #expect(throws: GraphError.self) { try model.predict(Tensor.zeros([0, 4, 3]), engine: engine) }
        expectDescription(empty, contains: ["input 'input_layer'", "[0, 4, 3]"])
    }

    @Test("predict with the wrong number of inputs", arguments: [Engine.reference, .jit(tier: .instant)])
    func wrongInputCount(_ engine: Engine) {
        let model = Self.flattenModel()
        let x = Tensor.zeros([1, 4, 3])
        let error = #expect(throws: GraphError.self) { try model.predict([x, x], engine: engine) }
        #expect(error == .inputCountMismatch(expected: 1, actual: 2))
        expectDescription(error, contains: ["takes 1 input", "got 2"])
        #expect(throws: GraphError.inputCountMismatch(expected: 1, actual: 0)) { try model.predict([], engine: engine) }

        let two = KerasFixture.makeModel("two_input_concat")
        let one = #expect(throws: GraphError.self) { try two.predict([Tensor.zeros([1, 8])], engine: engine) }
        expectDescription(one, contains: ["takes 2 inputs", "got 1"])
    }

    @Test("inputs with different batch sizes name the second input", arguments: [Engine.reference, .jit(tier: .instant)])
    func mismatchedBatches(_ engine: Engine) {
        let model = KerasFixture.makeModel("two_input_concat")
        let error = #expect(throws: GraphError.self) {
            try model.predict([Tensor.zeros([2, 8]), Tensor.zeros([3, 6])], engine: engine)
        }
        #expect(error == .inputShapeMismatch(input: "input_layer_1", expected: [2, 6], actual: [3, 6]))
        expectDescription(error, contains: ["input 'input_layer_1'", "(2, 6)", "[3, 6]"])
    }

    @Test("a compiled model rejects inputs of another batch size or element count")
    func compiledModelInputs() throws {
        let model = Self.flattenModel()
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        let batch = #expect(throws: GraphError.self) { try compiled.predict([Tensor.zeros([3, 4, 3])]) }
        #expect(batch == .inputShapeMismatch(input: "input_layer", expected: [2, 4, 3], actual: [3, 4, 3]))

        // Raw buffers: the element count is checked.
        let input = [Float](repeating: 0, count: 23)
        var output = [Float](repeating: 0, count: 4)
        let count = input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                #expect(throws: GraphError.self) { try compiled.run(inputs: [x], outputs: [y]) }
            }
        }
        #expect(count == .inputShapeMismatch(input: "input_layer", expected: [2, 4, 3], actual: [23]))
        expectDescription(count, contains: ["input 'input_layer'", "(2, 4, 3)", "[23]", "23 elements"])

        let good = [Float](repeating: 1, count: 24)
        var short = [Float](repeating: 0, count: 3)
        good.withUnsafeBufferPointer { x in
            short.withUnsafeMutableBufferPointer { y in
                _ = #expect(throws: GraphError.self) { try compiled.run(inputs: [x], outputs: [y]) }
            }
        }
    }

    @Test("Tensor(shape:scalars:) rejects a wrong element count; predict(_: Tensor) needs one output")
    func tensorAndOutputCount() throws {
        #expect(throws: TensorError.elementCountMismatch(shape: [2, 3], count: 5)) {
            try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
        }
        #expect(throws: TensorError.reshapeMismatch(from: [2, 3], to: [4, 2])) {
            try Tensor.zeros([2, 3]).reshaped(to: [4, 2])
        }
        let multitask = TutorialModel.multitask(inputSize: 4)
        let error = #expect(throws: GraphError.self) { try multitask.predict(Tensor.zeros([1, 4]), engine: .reference) }
        expectDescription(error, contains: ["2 outputs"])
    }

    // MARK: Dumps and verification

    @Test("the graph dump lists inputs, parameters, every node with its layer, and shapes")
    func graphDump() throws {
        let dump = try KerasFixture.makeModel("cnn").makeGraph(batchSize: 2).dump()
        let expectedLines = [
            "%0 = input 0 'input_layer' : 2x12x12x3",
            "%1 = parameter 'conv2d.kernel' : 3x3x3x32",
            "parameter 'conv2d.bias' : 32",
            "parameter 'dense_1.kernel' : 128x10",
            "conv2d(%0, %1) {3x3 stride 1x1 valid} : 2x10x10x32",
            "max_pool2d(",
            "{2x2 stride 2x2 valid} : 2x5x5x32",
            "reshape(",
            "{to [2, 800]} : 2x800",
            "softmax(",
            "{axis=1} : 2x10",
            "return ",
        ]
        for line in expectedLines {
            #expect(dump.contains(line), "'\(line)' missing from the dump:\n\(dump)")
        }
        for layer in ["conv2d", "max_pooling2d", "flatten", "dense", "dense_1"] {
            #expect(dump.contains("# \(layer)\n") || dump.hasSuffix("# \(layer)"), "no node of \(layer)")
        }
        let nodes = dump.split(separator: "\n").filter { $0.contains(" # ") }
        // conv2d, bias, relu, pool; reshape; matmul, bias, relu; matmul, bias, softmax
        #expect(nodes.count == 11)
    }

    @Test("the dump shows LSTM attributes and 'same' padding")
    func dumpAttributes() throws {
        let lstm = try KerasFixture.makeModel("lstm_sequences").makeGraph().dump()
        #expect(lstm.contains("units=12 activation=tanh recurrent_activation=sigmoid return_sequences"))
        #expect(lstm.contains("parameter 'lstm_1.recurrent_kernel' : 8x32"))
        let strided = try KerasFixture.makeModel("cnn_strided_same").makeGraph().dump()
        #expect(strided.contains("{3x3 stride 2x2 same pad 1,1} : 1x7x7x8"))
        #expect(strided.contains("{2x2 stride 2x2 same} : 1x4x4x8"))
    }

    @Test("Graph.verify() passes on the tutorial models at several batch sizes", arguments: TutorialModel.allCases)
    func verifyTutorialModels(_ tutorial: TutorialModel) throws {
        let model = tutorial.make()
        for batch in [1, 2, 5] {
            let graph = try model.makeGraph(batchSize: batch)
            try graph.verify()
            #expect(graph.batchSize == batch)
            #expect(graph.outputs.allSatisfy { graph[$0].shape[0] == batch })
        }
    }

    @Test("Graph.verify() passes on every fixture model", arguments: KerasFixture.caseNames)
    func verifyFixtureModels(_ name: String) throws {
        try KerasFixture.makeModel(name).makeGraph(batchSize: 3).verify()
    }

    @Test("tutorial output shapes are inferred from the input shape alone")
    func tutorialShapes() throws {
        let expected: [TutorialModel: [[Int]]] = [
            .cnn: [[4, 10]], .lstm: [[4, 10]], .attention: [[4, 10]], .multitask: [[4, 10], [4, 5]],
            .crossmodal: [[4, 10], [4, 5]],
        ]
        for tutorial in TutorialModel.allCases {
            let graph = try tutorial.make().makeGraph(batchSize: 4)
            #expect(graph.outputs.map { graph[$0].shape } == expected[tutorial], "\(tutorial)")
        }
    }

    // MARK: Window geometry

    struct WindowCase: CustomStringConvertible, Sendable {
        let input: Int, kernel: Int, stride: Int, padding: Padding
        let output: Int?, padBefore: Int
        var description: String { "\(input) k\(kernel) s\(stride) \(padding)" }
    }

    static let windowCases: [WindowCase] = [
        .init(input: 13, kernel: 3, stride: 2, padding: .same, output: 7, padBefore: 1),   // total 2: 1 + 1
        .init(input: 7, kernel: 2, stride: 2, padding: .same, output: 4, padBefore: 0),    // total 1: after
        .init(input: 8, kernel: 5, stride: 1, padding: .same, output: 8, padBefore: 2),    // total 4
        .init(input: 6, kernel: 2, stride: 1, padding: .same, output: 6, padBefore: 0),    // even kernel: after
        .init(input: 6, kernel: 4, stride: 2, padding: .same, output: 3, padBefore: 1),    // total 2
        .init(input: 5, kernel: 1, stride: 3, padding: .same, output: 2, padBefore: 0),    // total 0
        .init(input: 4, kernel: 7, stride: 1, padding: .same, output: 4, padBefore: 3),    // kernel > input
        .init(input: 12, kernel: 3, stride: 1, padding: .valid, output: 10, padBefore: 0),
        .init(input: 11, kernel: 3, stride: 2, padding: .valid, output: 5, padBefore: 0),
        .init(input: 3, kernel: 3, stride: 5, padding: .valid, output: 1, padBefore: 0),
        .init(input: 2, kernel: 3, stride: 1, padding: .valid, output: nil, padBefore: 0),
    ]

    @Test("Window2D resolves output size and padding as TensorFlow does", arguments: windowCases)
    func windowGeometry(_ c: WindowCase) {
        let window = Window2D(size: [c.kernel, 1], strides: [c.stride, 1], padding: c.padding, inputSize: [c.input, 4])
        guard let expected = c.output else {
            #expect(window == nil)
            return
        }
        #expect(window?.outputSize[0] == expected)
        #expect(window?.padBefore[0] == c.padBefore)
        // The second axis is independent: a 1-wide window over 4.
        #expect(window?.outputSize[1] == 4)
        #expect(window?.padBefore[1] == 0)
        if c.padding == .same {
            #expect(expected == (c.input + c.stride - 1) / c.stride)
        }
    }

    @Test("shape inference of a strided 'same' convolution: 13x13 stride 2 -> 7x7, padded 1 before")
    func stridedSameInference() throws {
        let graph = try KerasFixture.makeModel("cnn_strided_same").makeGraph(batchSize: 2)
        let convolution = try #require(graph.nodes.first { $0.operation.is(Conv2DOp.self) })
        let window = try #require(convolution.operation.as(Conv2DOp.self)).window
        #expect(window.inputSize == [13, 13])
        #expect(window.outputSize == [7, 7])
        #expect(window.padBefore == [1, 1])
        #expect(graph[convolution.output].shape == [2, 7, 7, 8])
        let pool = try #require(graph.nodes.first { $0.operation.is(MaxPool2DOp.self) })
        #expect(graph[pool.output].shape == [2, 4, 4, 8])
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 10]])
    }

    @Test("Operation.outputShape rejects inconsistent operands with the layer's name")
    func operationShapeErrors() {
        #expect(throws: GraphError.shapeMismatch(layer: "x", operation: "matmul", inputShapes: [[2, 3], [4, 5]],
                                                 expected: "x[..., K] and kernel [K, N] with matching K")) {
            try Operation.matmul.outputShape(for: [[2, 3], [4, 5]], layer: "x")
        }
        #expect(throws: GraphError.self) { try Operation.biasAdd.outputShape(for: [[2, 3], [4]], layer: "x") }
        #expect(throws: GraphError.self) { try Operation.reshape([7]).outputShape(for: [[2, 3]], layer: "x") }
        #expect(throws: GraphError.self) { try Operation.activation(.relu).outputShape(for: [[2], [2]], layer: "x") }
        #expect(throws: GraphError.self) {
            try Operation.weightedSum(axis: 1).outputShape(for: [[2, 3, 2], [2, 3, 4]], layer: "x")
        }
        let lstm = LSTMAttributes(units: 2, activation: .tanh, recurrentActivation: .sigmoid, returnSequences: false)
        #expect(throws: GraphError.self) { try Operation.lstm(lstm).outputShape(for: [[1, 3, 8], [2, 4]], layer: "x") }
        #expect((try? Operation.lstm(lstm).outputShape(for: [[1, 3, 8], [2, 8]], layer: "x")) == [1, 2])
    }
}
