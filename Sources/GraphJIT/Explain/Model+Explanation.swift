import GraphJITIR

// MARK: - Intermediate values

extension Model {
    /// The names of the model's computed values, in graph order, for
    /// ``predict(_:extraOutputs:batchSize:engine:)``.
    ///
    /// A layer's output is named by the layer (`dense`, `attention_layer`); every other value is
    /// `<layer>/<operation>`, so `attention_layer/softmax` is the attention layer's weights over
    /// time and `conv2d/conv2d` a convolution before its bias and activation (see
    /// `graphjit dump` for the operations). A layer's output is listed under both names.
    public func valueNames() throws -> [String] {
        let topology = try topology.get()
        let (graph, callOutputs) = try topology.makeGraph(batchSize: 1)
        return topology.valueNames(in: graph, callOutputs: callOutputs).map(\.name)
    }

    /// The name of each attention layer's weights (`attention_layer/softmax`: shape
    /// `(batch, timesteps, 1)`, after the softmax over time), in layer order.
    public func attentionWeightNames() throws -> [String] {
        try topology.get().layers.filter { $0.layer is AttentionLayer }.map { "\($0.name)/softmax" }
    }

    /// Runs the model and returns its outputs followed by the named intermediate values, each with
    /// every sample (`extraOutputs` as ``valueNames()`` lists them).
    ///
    /// The JIT materializes the requested values (fusion writes them to their own buffers instead
    /// of fusing them away); the outputs are the same as `predict(_:batchSize:engine:)`'s.
    /// - Throws: ``ExplanationError/unknownValue(name:available:)``, besides what `predict` throws.
    public func predict(_ inputs: [Tensor], extraOutputs: [String], batchSize: Int = 32,
                        engine: Engine = .jit) throws -> [Tensor] {
        if extraOutputs.isEmpty { return try predict(inputs, batchSize: batchSize, engine: engine) }
        let outputs = (0 ..< (try outputNames().count)).map(InspectedValue.output) + extraOutputs.map(InspectedValue.named)
        return try inspect(inputs, InspectionRequest(outputs: outputs), batchSize: batchSize, engine: engine)
    }

    /// The weights of the model's first attention layer (or of `layer`), `(batch, timesteps, 1)`.
    /// - Throws: ``ExplanationError/noAttentionLayer(requested:)`` when the model has no attention layer
    ///   (or `layer` is not one).
    public func attentionWeights(_ inputs: [Tensor], layer: String? = nil, batchSize: Int = 32,
                                 engine: Engine = .jit) throws -> Tensor {
        let names = try attentionWeightNames()
        guard let name = layer.map({ "\($0)/softmax" }) ?? names.first, names.contains(name) else {
            throw ExplanationError.noAttentionLayer(requested: layer)
        }
        let request = InspectionRequest(outputs: [.named(name)])
        return try inspect(inputs, request, batchSize: batchSize, engine: engine)[0]
    }
}

// MARK: - Gradients

extension Model {
    /// Saliency: the gradient of one class score of each sample with respect to every input,
    /// `∂p[c]/∂x`, as `tf.GradientTape` gives it.
    ///
    /// - Parameters:
    ///   - inputs: one tensor per model input, samples first.
    ///   - classes: the class to explain per sample; by default each sample's top class. For an
    ///     output with more than one axis per sample, an index into its flattened values.
    ///   - output: which model output holds the scores (default the first).
    ///   - logits: differentiate the value before the output's softmax instead of the probability.
    ///   - batchSize: samples per JIT call.
    ///   - engine: the JIT (default) or the reference interpreter.
    /// - Returns: one gradient per input, of the input's shape, and the classes explained.
    public func saliency(_ inputs: [Tensor], classes: [Int]? = nil, output: Int = 0, logits: Bool = false,
                         batchSize: Int = 32, engine: Engine = .jit) throws -> Attribution {
        let classes = try explainedClasses(inputs, classes: classes, output: output, batchSize: batchSize, engine: engine)
        let target: InspectedValue = logits ? .logits(ofOutput: output) : .output(output)
        let request = InspectionRequest(outputs: [], target: target,
                                        withRespectTo: (0 ..< inputs.count).map(InspectedValue.input))
        let cotangent = try oneHotCotangent(classes, scoreShape: try scoreShape(of: output))
        let gradients = try inspect(inputs, request, cotangent: cotangent, batchSize: batchSize, engine: engine)
        return Attribution(values: gradients, classes: classes, scoreDifferences: nil)
    }

    /// Integrated gradients (Sundararajan et al., as keras-io's `integrated_gradients.py`): for
    /// each sample, the gradients of its class probability at `steps + 1` points on the straight
    /// path from the baseline to the input, averaged by the trapezoidal rule and multiplied by
    /// `input − baseline`.
    ///
    /// By completeness the attributions of a sample sum to about `F(x) − F(baseline)`
    /// (``Attribution/scoreDifferences``); the gap shrinks as `steps` grows.
    /// - Parameters:
    ///   - inputs: one tensor per model input, samples first.
    ///   - baselines: one per input, of one sample's shape (no batch axis); all zeros by default
    ///     (a black image).
    ///   - steps: intervals of the path (keras-io uses 50), at most ``maximumIntegrationSteps``.
    ///   - classes: the class to explain per sample; by default each sample's top class.
    ///   - output: which model output holds the scores.
    ///   - batchSize: path points per JIT call (memory is bounded by it, whatever `steps` is).
    ///   - engine: the JIT (default) or the reference interpreter.
    public func integratedGradients(_ inputs: [Tensor], baselines: [Tensor]? = nil, steps: Int = 50,
                                    classes: [Int]? = nil, output: Int = 0, batchSize: Int = 32,
                                    engine: Engine = .jit) throws -> Attribution {
        guard (1 ... Self.maximumIntegrationSteps).contains(steps) else { throw ExplanationError.stepsOutOfRange(steps) }
        let classes = try explainedClasses(inputs, classes: classes, output: output, batchSize: batchSize, engine: engine)
        let baselines = baselines ?? inputs.map { Tensor.zeros(Array($0.shape.dropFirst())) }
        guard baselines.count == inputs.count else {
            throw ExplanationError.baselineCount(given: baselines.count, inputs: inputs.count)
        }
        for (position, (baseline, input)) in Swift.zip(baselines, inputs).enumerated()
        where baseline.shape != Array(input.shape.dropFirst()) {
            throw ExplanationError.baselineShape(input: position, shape: baseline.shape, expected: Array(input.shape.dropFirst()))
        }
        let sampleScoreShape = try scoreShape(of: output)
        let request = InspectionRequest(outputs: [.output(output)], target: .output(output),
                                        withRespectTo: (0 ..< inputs.count).map(InspectedValue.input))
        let points = steps + 1
        var attributions = inputs.map { [Float](repeating: 0, count: $0.elementCount) }
        var differences: [Float] = []
        for (sample, explained) in classes.enumerated() {
            let xs = try inputs.map { try $0[sample].scalars }
            // The path baseline + (k / steps)(x − baseline), k = 0 ... steps, every input at once,
            // `batchSize` points per call, so memory is bounded by the batch whatever `steps` is.
            // Trapezoidal weights: ½ at both ends, 1 between.
            var sums = xs.map { [Float](repeating: 0, count: $0.count) }
            var first: Float = 0, last: Float = 0
            for chunk in stride(from: 0, to: points, by: batchSize) {
                let ks = chunk ..< min(chunk + batchSize, points)
                let path = Swift.zip(xs, baselines).map { x, baseline in
                    let origin = baseline.scalars
                    var scalars = [Float]()
                    scalars.reserveCapacity(ks.count * x.count)
                    for k in ks {
                        let alpha = Float(k) / Float(steps)
                        for index in x.indices { scalars.append(origin[index] + alpha * (x[index] - origin[index])) }
                    }
                    return Tensor(shape: [ks.count] + baseline.shape, uncheckedScalars: scalars)
                }
                let cotangent = try oneHotCotangent(Array(repeating: explained, count: ks.count), scoreShape: sampleScoreShape)
                let results = try inspect(path, request, cotangent: cotangent, batchSize: batchSize, engine: engine)
                let scores = results[0], width = scores.shape.dropFirst().elementCount
                if ks.contains(0) { first = scores.scalars[explained] }
                if ks.contains(steps) { last = scores.scalars[(steps - chunk) * width + explained] }
                for (position, gradients) in results.dropFirst().enumerated() {
                    let size = xs[position].count
                    for (row, k) in ks.enumerated() {
                        let weight: Float = k == 0 || k == steps ? 0.5 : 1
                        for index in 0 ..< size { sums[position][index] += weight * gradients.scalars[row * size + index] }
                    }
                }
            }
            differences.append(last - first)
            for (position, x) in xs.enumerated() {
                let origin = baselines[position].scalars, size = x.count
                for index in 0 ..< size {
                    attributions[position][sample * size + index] = (x[index] - origin[index]) * sums[position][index] / Float(steps)
                }
            }
        }
        let values = Swift.zip(inputs, attributions).map { Tensor(shape: $0.shape, uncheckedScalars: $1) }
        return Attribution(values: values, classes: classes, scoreDifferences: differences)
    }

    /// Grad-CAM (keras-io's `grad_cam.py`): the activations `A` of a convolutional layer weighted by
    /// the mean gradient of the class logit over each channel, `ReLU(Σₖ αₖ Aₖ)`, per sample.
    ///
    /// - Parameters:
    ///   - inputs: one tensor per model input, samples first.
    ///   - layer: the convolutional layer; by default the model's last `Conv2D`.
    ///   - classes: the class to explain per sample; by default each sample's top class.
    ///   - output: which model output holds the scores; its logits are differentiated.
    ///   - batchSize: samples per JIT call.
    ///   - engine: the JIT (default) or the reference interpreter.
    public func gradCAM(_ inputs: [Tensor], layer: String? = nil, classes: [Int]? = nil, output: Int = 0,
                        batchSize: Int = 32, engine: Engine = .jit) throws -> GradCAM {
        let convolutions = try topology.get().layers.filter { $0.layer is Conv2D }.map(\.name)
        guard let layer = layer ?? convolutions.last, convolutions.contains(layer) else {
            throw ExplanationError.notAConvolution(layer: layer, convolutions: convolutions)
        }
        let classes = try explainedClasses(inputs, classes: classes, output: output, batchSize: batchSize, engine: engine)
        let request = InspectionRequest(outputs: [.named(layer)], target: .logits(ofOutput: output),
                                        withRespectTo: [.named(layer)])
        let cotangent = try oneHotCotangent(classes, scoreShape: try scoreShape(of: output))
        let results = try inspect(inputs, request, cotangent: cotangent, batchSize: batchSize, engine: engine)
        let (activations, gradients) = (results[0], results[1])
        let (samples, height, width, channels) = (activations.shape[0], activations.shape[1], activations.shape[2],
                                                  activations.shape[3])
        var raw = [Float](repeating: 0, count: samples * height * width)
        var normalized = raw
        let pixels = height * width
        for sample in 0 ..< samples {
            let base = sample * pixels * channels
            var alpha = [Float](repeating: 0, count: channels)
            for pixel in 0 ..< pixels {
                for channel in 0 ..< channels { alpha[channel] += gradients.scalars[base + pixel * channels + channel] }
            }
            for channel in 0 ..< channels { alpha[channel] /= Float(pixels) }
            var largest: Float = 0
            for pixel in 0 ..< pixels {
                var sum: Float = 0
                for channel in 0 ..< channels { sum += alpha[channel] * activations.scalars[base + pixel * channels + channel] }
                raw[sample * pixels + pixel] = max(sum, 0)
                largest = max(largest, raw[sample * pixels + pixel])
            }
            if largest > 0 {
                for pixel in 0 ..< pixels { normalized[sample * pixels + pixel] = raw[sample * pixels + pixel] / largest }
            }
        }
        return GradCAM(heatmaps: Tensor(shape: [samples, height, width], uncheckedScalars: normalized),
                       rawHeatmaps: Tensor(shape: [samples, height, width], uncheckedScalars: raw),
                       classes: classes, layer: layer)
    }
}

// MARK: - Running inspections

extension Model {
    /// The most steps ``integratedGradients(_:baselines:steps:classes:output:batchSize:engine:)``
    /// takes (keras-io uses 50; past a few hundred the integral no longer changes in float32).
    public static let maximumIntegrationSteps = 100_000

    /// The per-sample shape of output `output`'s scores.
    private func scoreShape(of output: Int) throws -> [Int] {
        let names = try outputNames()
        guard names.indices.contains(output) else { throw ExplanationError.noSuchOutput(index: output, outputs: names) }
        let graph = try makeGraph(batchSize: 1)
        return Array(graph[graph.outputs[output]].shape.dropFirst())
    }

    /// The classes to explain: `classes` checked against the output, or each sample's top class.
    private func explainedClasses(_ inputs: [Tensor], classes: [Int]?, output: Int, batchSize: Int,
                                  engine: Engine) throws -> [Int] {
        let scoreCount = try scoreShape(of: output).elementCount
        let samples = inputs.first?.shape.first ?? 0
        if let classes {
            guard classes.count == samples else { throw ExplanationError.classCount(classes: classes.count, samples: samples) }
            if let bad = classes.first(where: { !(0 ..< scoreCount).contains($0) }) {
                throw ExplanationError.classOutOfRange(class: bad, output: try outputNames()[output], scores: scoreCount)
            }
            return classes
        }
        let scores = try predict(inputs, batchSize: batchSize, engine: engine)[output]
        return try scores.reshaped(to: [samples, scoreCount]).argmax()
    }

    /// One one-hot row per class, each of the output's per-sample shape.
    private func oneHotCotangent(_ classes: [Int], scoreShape: [Int]) throws -> Tensor {
        try Tensor.oneHot(classes, classes: scoreShape.elementCount).reshaped(to: [classes.count] + scoreShape)
    }

    /// Runs an inspection plan over `inputs` (then the cotangent, when it differentiates).
    func inspect(_ inputs: [Tensor], _ request: InspectionRequest, cotangent: Tensor? = nil, batchSize: Int,
                 engine: Engine) throws -> [Tensor] {
        let all = inputs + (cotangent.map { [$0] } ?? [])
        return try runInBatches(all, extraInputs: cotangent == nil ? 0 : 1, batchSize: batchSize, engine: engine,
                                purpose: .inspection(request)) { batch in
            try makeInspectionGraph(batchSize: batch, request)
        }
    }

    /// The forward graph for `batchSize` extended as `request` asks.
    func makeInspectionGraph(batchSize: Int, _ request: InspectionRequest) throws -> Graph {
        let topology = try topology.get()
        let (forward, callOutputs) = try topology.makeGraph(batchSize: batchSize)
        let named = topology.valueNames(in: forward, callOutputs: callOutputs)
        let names = Dictionary(named.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        func resolve(_ value: InspectedValue) throws -> ValueID {
            switch value {
            case let .input(index):
                guard forward.inputs.indices.contains(index) else {
                    throw GraphError.inputCountMismatch(expected: forward.inputs.count, actual: index + 1)
                }
                return forward.inputs[index]
            case let .output(index), let .logits(index):
                guard forward.outputs.indices.contains(index) else {
                    throw ExplanationError.noSuchOutput(index: index, outputs: topology.outputNames)
                }
                let output = forward.outputs[index]
                if case .logits = value { return forward.logits(of: output) ?? output }
                return output
            case let .named(name):
                guard let found = names[name] else { throw ExplanationError.unknownValue(name: name, available: named.map(\.name)) }
                return found
            }
        }
        return try InspectionGraph(forward: forward, outputs: request.outputs.map(resolve),
                                   differentiating: request.target.map(resolve),
                                   withRespectTo: request.withRespectTo.map(resolve)).graph
    }
}
