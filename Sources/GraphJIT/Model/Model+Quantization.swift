import GraphJITIR

extension Model {
    /// A copy of the model with its weights quantized as Keras 3's `model.quantize(mode)` does
    /// (`.int8`), or stored as bfloat16 (`.bf16`, GraphJIT's own).
    ///
    /// `.int8`: every `Dense` layer, the attention layer's `W` and `V` sublayers included, gets an
    /// int8 kernel, quantized once per output channel,
    /// `s_w = 127 / (max_k |W[k, n]| + 1e-7)`, `Wq = clip(round_half_even(W · s_w), ±127)` (in
    /// float32, as Keras), and multiplies as Keras's int8 Dense does (`Int8MatMulOp`); its weights
    /// are `kernel` (the int8 values), `bias` and `kernel_scale`. Other layers (Conv2D, LSTM) stay
    /// float32, as in Keras. `.bf16`: the same layers' kernels rounded to the nearest bfloat16
    /// (ties to even, `Bf16MatMulOp.rounded(_:)`), stored in 16 bits and multiplied in float32
    /// (`Bf16MatMulOp`). Layer names, inputs, outputs and the compile configuration are kept; the
    /// original model is not changed.
    ///
    /// `layers` goes beyond Keras when asked: ``QuantizedLayers/conv2D`` compresses `Conv2D`
    /// kernels too, ``QuantizedLayers/lstm`` the `LSTM` input kernels (each quantized per output
    /// channel, the patches or timesteps per row). Such a model cannot be saved as `.keras`.
    /// - Throws: ``QuantizationError/alreadyQuantized(layer:mode:)`` for a model with a quantized
    ///   layer (as Keras's `quantize` raises), or what building the model's graph throws.
    public func quantized(_ mode: QuantizationMode, layers: QuantizedLayers = .keras) throws -> Model {
        let topology = try topology.get()
        for (layer, name) in topology.layers.map({ ($0.layer, $0.name) }) {
            if let existing = Self.quantization(of: layer) {
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
            if let dense = layer as? Dense, layers.contains(.dense) {
                result = Dense(units: dense.units, activation: dense.activation, useBias: dense.useBias, name: name,
                               quantization: mode)
            } else if let attention = layer as? AttentionLayer, layers.contains(.dense) {
                result = AttentionLayer(units: attention.units, name: name, quantization: mode)
            } else if let conv = layer as? Conv2D, layers.contains(.conv2D) {
                result = Conv2D(filters: conv.filters, kernelSize: conv.kernelSize, strides: conv.strides,
                                padding: conv.padding, activation: conv.activation, useBias: conv.useBias, name: name,
                                quantization: mode)
            } else if let lstm = layer as? LSTM, layers.contains(.lstm) {
                result = LSTM(units: lstm.units, activation: lstm.activation, recurrentActivation: lstm.recurrentActivation,
                              returnSequences: lstm.returnSequences, useBias: lstm.useBias, name: name, quantization: mode)
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
        try model.setParameters(Self.quantizedWeights(parameters.dictionary, of: model),
                                source: "the \(mode.rawValue) quantization of \(name)")
        if let trainingConfiguration { model.compile(trainingConfiguration) }
        return model
    }

    /// How `layer`'s kernels are stored, `nil` for float32 (or a layer without kernels).
    static func quantization(of layer: any Layer) -> QuantizationMode? {
        (layer as? Dense)?.quantization ?? (layer as? AttentionLayer)?.quantization ?? (layer as? Conv2D)?.quantization
            ?? (layer as? LSTM)?.quantization
    }

    /// The quantized model's weights: each compressed kernel replaced by its quantized values (and,
    /// for int8, joined by its `kernel_scale`); every other weight as it is.
    private static func quantizedWeights(_ weights: [String: Tensor], of model: Model) throws -> [String: Tensor] {
        var result = weights
        for (kernelName, kernel) in compressedKernels(in: try model.makeGraph(batchSize: 1)) {
            guard let float = weights[kernelName] else { continue }
            switch kernel.mode {
            case .int8:
                let (values, scales) = int8Quantized(float)
                result[kernelName] = values
                if let scale = kernel.scale { result[scale] = scales }
            case .bf16:
                result[kernelName] = Tensor(shape: float.shape, uncheckedScalars: float.scalars.map(Bf16MatMulOp.rounded))
            }
        }
        return result
    }

    /// The kernels a compressed matmul of `graph` reads, by parameter name: their mode and, for
    /// int8, the name of their scale. Read off the ops' inputs, so it holds for every layer that
    /// lowers to them.
    static func compressedKernels(in graph: Graph) -> [String: (mode: QuantizationMode, scale: String?)] {
        let names = Dictionary(graph.parameters.map { ($0.value, $0.name) }, uniquingKeysWith: { first, _ in first })
        var kernels: [String: (mode: QuantizationMode, scale: String?)] = [:]
        for node in graph.nodes {
            if node.operation.is(Int8MatMulOp.self), let kernel = names[node.inputs[1]] {
                kernels[kernel] = (.int8, names[node.inputs[2]])
            } else if node.operation.is(Bf16MatMulOp.self), let kernel = names[node.inputs[1]] {
                kernels[kernel] = (.bf16, nil)
            }
        }
        return kernels
    }

    /// Keras's `abs_max_quantize(W, axis=0)` of a `[K, N]` kernel (or `[..., N]`, a convolution's
    /// HWIO, whose leading axes flatten into K): the int8 values (as floats, in the kernel's shape)
    /// and the scale of each output channel, every step one float32 operation in Keras's order.
    static func int8Quantized(_ kernel: Tensor) -> (values: Tensor, scales: Tensor) {
        let n = kernel.shape.last!
        let k = kernel.elementCount / n
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
        return (Tensor(shape: kernel.shape, uncheckedScalars: values), Tensor(shape: [n], uncheckedScalars: scales))
    }
}
