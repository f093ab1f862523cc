import GraphJITIR

extension Model {
    /// A copy of the model with its weights quantized as Keras 3's `model.quantize(mode)` does.
    ///
    /// `.int8`: every `Dense` layer, the attention layer's `W` and `V` sublayers included, gets an
    /// int8 kernel, quantized once per output channel,
    /// `s_w = 127 / (max_k |W[k, n]| + 1e-7)`, `Wq = clip(round_half_even(W · s_w), ±127)` (in
    /// float32, as Keras), and multiplies as Keras's int8 Dense does (`Int8MatMulOp`); its weights
    /// are `kernel` (the int8 values), `bias` and `kernel_scale`. Other layers (Conv2D, LSTM) stay
    /// float32, as in Keras. Layer names, inputs, outputs and the compile configuration are kept;
    /// the original model is not changed.
    /// - Throws: ``QuantizationError/alreadyQuantized(layer:mode:)`` for a model with a quantized
    ///   layer (as Keras's `quantize` raises), or what building the model's graph throws.
    public func quantized(_ mode: QuantizationMode) throws -> Model {
        let topology = try topology.get()
        for (layer, name) in topology.layers.map({ ($0.layer, $0.name) }) {
            if let existing = (layer as? Dense)?.quantization ?? (layer as? AttentionLayer)?.quantization {
                throw QuantizationError.alreadyQuantized(layer: name, mode: existing)
            }
        }
        let names = Dictionary(uniqueKeysWithValues: topology.layers.map { (ObjectIdentifier($0.layer), $0.name) })
        var mapped: [ObjectIdentifier: any Layer] = [:]
        func quantize(_ layer: any Layer) -> any Layer {
            let key = ObjectIdentifier(layer)
            if let known = mapped[key] { return known }
            let name = names[key]
            var result: any Layer = layer
            if let dense = layer as? Dense {
                result = Dense(units: dense.units, activation: dense.activation, useBias: dense.useBias, name: name,
                               quantization: mode)
            } else if let attention = layer as? AttentionLayer {
                result = AttentionLayer(units: attention.units, name: name, quantization: mode)
            }
            mapped[key] = result
            return result
        }
        // The same calls on the same tensors, with the quantized layers.
        var tensors: [Int: SymbolicTensor] = [:]
        let inputs = zip(topology.inputTensors, topology.inputs).map { tensor, entry in
            let input = Input(shape: entry.shape, name: entry.name)
            tensors[tensor] = input
            return input
        }
        for call in topology.calls {
            let layer = quantize(call.layer)
            tensors[call.output] = SymbolicTensor(layer: layer, inputs: call.inputs.map { tensors[$0]! })
        }
        let model = Model(inputs: inputs, outputs: topology.outputTensors.map { tensors[$0]! }, name: name, seed: seed)
        try model.setParameters(Self.quantizedWeights(parameters.dictionary, of: model, mode: mode),
                                source: "the int8 quantization of \(name)")
        if let trainingConfiguration { model.compile(trainingConfiguration) }
        return model
    }

    /// The quantized model's weights: each int8 Dense kernel `<layer>.kernel` replaced by its int8
    /// values and joined by `<layer>.kernel_scale`; every other weight as it is.
    private static func quantizedWeights(_ weights: [String: Tensor], of model: Model, mode: QuantizationMode) throws
        -> [String: Tensor] {
        var result = weights
        for spec in try model.makeGraph(batchSize: 1).parameters where spec.name.hasSuffix(".kernel_scale") {
            let kernelName = String(spec.name.dropLast("_scale".count))
            guard let kernel = weights[kernelName] else { continue }
            let (values, scales) = int8Quantized(kernel)
            result[kernelName] = values
            result[spec.name] = scales
        }
        return result
    }

    /// Keras's `abs_max_quantize(W, axis=0)` of a `[K, N]` kernel: the int8 values (as floats) and
    /// the scale of each output channel, every step one float32 operation in Keras's order.
    static func int8Quantized(_ kernel: Tensor) -> (values: Tensor, scales: Tensor) {
        let (k, n) = (kernel.shape[0], kernel.shape[1])
        var largest = [Float](repeating: 0, count: n)
        for row in 0 ..< k {
            for column in 0 ..< n { largest[column] = max(largest[column], abs(kernel.scalars[row * n + column])) }
        }
        let scales = largest.map(Int8MatMulOp.scale(forLargest:))
        var values = [Float](repeating: 0, count: k * n)
        for row in 0 ..< k {
            for column in 0 ..< n {
                values[row * n + column] = Int8MatMulOp.quantized(kernel.scalars[row * n + column], scale: scales[column])
            }
        }
        return (Tensor(shape: [k, n], uncheckedScalars: values), Tensor(shape: [n], uncheckedScalars: scales))
    }
}
