import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The layers between a model's inputs and outputs, in application order, with their names.
///
/// Built once from the symbolic tensors. Layers get Keras-style automatic names in the order they
/// are first applied (`dense`, `dense_1`, ...) unless the user named them.
struct ModelTopology {
    struct InputEntry {
        let name: String
        /// Per-sample shape (no batch axis).
        let shape: [Int]
    }

    struct LayerCall {
        let layer: any Layer
        let name: String
        /// Indices into `tensors` (the symbolic tensors in creation order).
        let inputs: [Int]
        let output: Int
    }

    let inputs: [InputEntry]
    let calls: [LayerCall]
    /// Tensor index of each model input, in order.
    let inputTensors: [Int]
    /// Tensor index of each model output, in order.
    let outputTensors: [Int]
    /// Distinct layers in application order with their names.
    let layers: [(name: String, layer: any Layer)]

    /// The name of the layer producing each output (an input's name for an output that is an
    /// input): Keras's `model.output_names`, the prefixes of per-output log keys.
    var outputNames: [String] {
        outputTensors.map { tensor in
            calls.last(where: { $0.output == tensor })?.name
                ?? zip(inputTensors, inputs).first(where: { $0.0 == tensor })?.1.name ?? "output"
        }
    }

    init(inputs: [SymbolicTensor], outputs: [SymbolicTensor]) throws {
        guard !inputs.isEmpty else { throw GraphError.invalidModel(reason: "a model needs at least one input") }
        guard !outputs.isEmpty else { throw GraphError.invalidModel(reason: "a model needs at least one output") }

        // Collect every tensor reachable backwards from the outputs.
        var seen: [ObjectIdentifier: SymbolicTensor] = [:]
        var stack = outputs
        while let tensor = stack.popLast() {
            guard seen[ObjectIdentifier(tensor)] == nil else { continue }
            seen[ObjectIdentifier(tensor)] = tensor
            if case let .layer(_, layerInputs) = tensor.origin { stack.append(contentsOf: layerInputs) }
        }
        for input in inputs where seen[ObjectIdentifier(input)] == nil {
            seen[ObjectIdentifier(input)] = input  // an unused input is still an input
        }
        let ordered = seen.values.sorted { $0.sequenceNumber < $1.sequenceNumber }
        var index: [ObjectIdentifier: Int] = [:]
        for (position, tensor) in ordered.enumerated() { index[ObjectIdentifier(tensor)] = position }

        // Inputs: every input-origin tensor must be one of the declared inputs.
        let declared = Set(inputs.map(ObjectIdentifier.init))
        var names = KerasNamer()
        var inputEntries: [InputEntry] = []
        for input in inputs {
            guard case let .input(shape, name) = input.origin else {
                throw GraphError.invalidModel(reason: "model inputs must be made by Input(shape:)")
            }
            guard shape.allSatisfy({ $0 > 0 }) else {
                throw GraphError.invalidModel(reason: "input shape \(shape) has a non-positive extent")
            }
            inputEntries.append(InputEntry(name: try names.claim(name, base: "input_layer"), shape: shape))
        }
        for tensor in ordered {
            if case .input = tensor.origin, !declared.contains(ObjectIdentifier(tensor)) {
                throw GraphError.invalidModel(
                    reason: "an output depends on an Input that is not among the model's inputs")
            }
        }

        // Layer calls in application order; a layer applied twice keeps one name (shared weights).
        var layerNames: [ObjectIdentifier: String] = [:]
        var layers: [(name: String, layer: any Layer)] = []
        var calls: [LayerCall] = []
        for tensor in ordered {
            guard case let .layer(layer, layerInputs) = tensor.origin else { continue }
            let key = ObjectIdentifier(layer)
            let name: String
            if let existing = layerNames[key] {
                name = existing
            } else {
                name = try names.claim(layer.name, base: layer.kerasBaseName)
                layerNames[key] = name
                layers.append((name, layer))
            }
            calls.append(LayerCall(layer: layer, name: name,
                                   inputs: layerInputs.map { index[ObjectIdentifier($0)]! },
                                   output: index[ObjectIdentifier(tensor)]!))
        }

        self.inputs = inputEntries
        self.calls = calls
        self.layers = layers
        self.inputTensors = inputs.map { index[ObjectIdentifier($0)]! }
        self.outputTensors = outputs.map { index[ObjectIdentifier($0)]! }
    }

    /// Lowers every layer into a static graph for `batchSize`, recording each call's output value.
    func makeGraph(batchSize: Int) throws -> (graph: Graph, callOutputs: [ValueID]) {
        guard batchSize > 0 else {
            throw GraphError.invalidModel(reason: "batch size must be positive, got \(batchSize)")
        }
        var builder = GraphBuilder()
        var values: [Int: ValueID] = [:]
        for (entry, tensor) in zip(inputs, inputTensors) {
            values[tensor] = try builder.addInput(named: entry.name, shape: [batchSize] + entry.shape)
        }
        var callOutputs: [ValueID] = []
        for call in calls {
            builder.scope = call.name
            let output = try call.layer.lower(call.inputs.map { values[$0]! }, into: &builder)
            values[call.output] = output
            callOutputs.append(output)
        }
        let graph = try builder.finish(outputs: outputTensors.map { values[$0]! })
        return (graph, callOutputs)
    }
}

/// Hands out Keras-style unique names: `base`, `base_1`, `base_2`, ...; user names are kept.
struct KerasNamer {
    private var used: Set<String> = []
    private var counters: [String: Int] = [:]

    mutating func claim(_ requested: String?, base: String) throws -> String {
        if let requested {
            // As Keras: names are path components, so '/' is not allowed. Checked on the bytes: a
            // combining mark after '/' makes a Character that is not "/" but whose UTF-8 still holds it.
            // (Generated C escapes names byte by byte anyway; see CText.)
            guard !requested.isEmpty, !requested.utf8.contains(UInt8(ascii: "/")) else {
                throw GraphError.invalidModel(reason: "layer name '\(requested)' must be non-empty and cannot contain '/'")
            }
            guard used.insert(requested).inserted else {
                throw GraphError.invalidModel(reason: "two layers are named '\(requested)'")
            }
            return requested
        }
        while true {
            let count = counters[base, default: 0]
            counters[base] = count + 1
            let candidate = count == 0 ? base : "\(base)_\(count)"
            if used.insert(candidate).inserted { return candidate }
        }
    }
}
