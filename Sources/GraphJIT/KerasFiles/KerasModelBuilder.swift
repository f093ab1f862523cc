import GraphJITIR

/// Where a custom layer (the tutorial's `AttentionLayer`) came from in a Keras file: its
/// `module` and `registered_name`, written back unchanged when the model is saved.
struct KerasCustomLayerOrigin: Equatable {
    let module: String?
    let registeredName: String?
}

extension KerasModelDescription {
    /// The GraphJIT model the description declares: the same layers, names and connections.
    /// Dangling or cyclic connections, unknown layer classes and unsupported options are errors.
    func makeModel(seed: UInt64 = 0) throws -> Model {
        var made: [String: any KerasLayer] = [:]
        var customLayers: [String: KerasCustomLayerOrigin] = [:]
        for entry in layers {
            guard let type = KerasLayerRegistry.type(named: entry.config.className) else {
                throw ModelFileError(.unsupported, file: file, location: "layer '\(entry.config.name)'",
                                     reason: "unknown layer class '\(entry.config.className)' "
                                         + "(GraphJIT reads \(KerasLayerRegistry.supportedNames))")
            }
            made[entry.config.name] = try type.make(from: entry.config)
            if type == AttentionLayer.self {
                customLayers[entry.config.name] = KerasCustomLayerOrigin(module: entry.module, registeredName: entry.registeredName)
            }
        }
        let model: Model
        switch modelClass {
        case .sequential:
            model = Sequential(inputShape: inputs[0].shape, inputName: inputs[0].name, name: name, seed: seed,
                               layers: layers.map { made[$0.config.name]! })
        case .functional:
            model = try functionalModel(layers: made, seed: seed)
        }
        model.kerasCustomLayers = customLayers
        do {
            _ = try model.makeGraph(batchSize: 1)
        } catch let error as GraphError {
            // (The graph error names the layer and the shapes itself.)
            throw ModelFileError(.config, file: file, reason: "the model it describes does not fit together: \(error)")
        }
        return model
    }

    /// Applies every layer call once its inputs exist, the earliest listed first (so a config in
    /// Keras's order is applied in that order), with a worklist: each made tensor wakes the calls
    /// waiting for it, so the work is n log n in the calls whatever their order. What is left over
    /// waits on a tensor that never comes (a dangling or cyclic connection).
    private func functionalModel(layers made: [String: any KerasLayer], seed: UInt64) throws -> Model {
        var tensors: [TensorReference: SymbolicTensor] = [:]
        var nextNode = [Int](repeating: 0, count: layers.count)
        // The layer whose next call waits for a tensor, by that tensor (one wait per layer at a time).
        var waiting: [TensorReference: [Int]] = [:]
        var ready = IndexHeap()

        /// Queues layer `index` if its next call's inputs all exist, else parks it on a missing one.
        func schedule(_ index: Int) {
            guard nextNode[index] < layers[index].nodes.count else { return }
            if let missing = layers[index].nodes[nextNode[index]].first(where: { tensors[$0] == nil }) {
                waiting[missing, default: []].append(index)
            } else {
                ready.insert(index)
            }
        }
        func produced(_ reference: TensorReference, _ tensor: SymbolicTensor) {
            tensors[reference] = tensor
            for index in waiting.removeValue(forKey: reference) ?? [] { schedule(index) }
        }

        for input in inputs {
            produced(TensorReference(layer: input.name, node: 0, tensor: 0), Input(shape: input.shape, name: input.name))
        }
        for index in layers.indices { schedule(index) }
        while let index = ready.popMinimum() {
            let entry = layers[index]
            let arguments = entry.nodes[nextNode[index]].map { tensors[$0]! }
            let layer = made[entry.config.name]!
            let output = entry.config.className == "Concatenate" || arguments.count > 1 ? layer(arguments) : layer(arguments[0])
            let reference = TensorReference(layer: entry.config.name, node: nextNode[index], tensor: 0)
            nextNode[index] += 1
            produced(reference, output)
            schedule(index)
        }

        if let (index, entry) = layers.enumerated().first(where: { nextNode[$0.offset] < $0.element.nodes.count }) {
            let known = Set(inputs.map(\.name) + layers.map(\.config.name))
            let missing = entry.nodes[nextNode[index]].first { tensors[$0] == nil }!
            let reason = !known.contains(missing.layer)
                ? "its input \(missing) names a layer that is not in the config (a dangling connection)"
                : missing.tensor != 0 ? "its input \(missing) asks for output \(missing.tensor); GraphJIT layers have one output"
                : "its input \(missing) is never made (a cyclic connection, or a call that does not exist)"
            throw ModelFileError(.config, file: file, location: "layer '\(entry.config.name)' (\(entry.config.className))",
                                 reason: reason)
        }
        func resolve(_ references: [TensorReference], _ what: String) throws -> [SymbolicTensor] {
            try references.map { reference in
                guard let tensor = tensors[reference] else {
                    throw ModelFileError(.config, file: file, reason: "\(what) \(reference) is not a tensor of the model")
                }
                return tensor
            }
        }
        return Model(inputs: try resolve(inputReferences, "model input"), outputs: try resolve(outputReferences, "model output"),
                     name: name, seed: seed)
    }
}

/// A min-heap of layer indices: the ready call listed earliest in the config comes first.
private struct IndexHeap {
    private var elements: [Int] = []

    mutating func insert(_ value: Int) {
        elements.append(value)
        var child = elements.count - 1
        while child > 0, elements[(child - 1) / 2] > elements[child] {
            elements.swapAt(child, (child - 1) / 2)
            child = (child - 1) / 2
        }
    }

    mutating func popMinimum() -> Int? {
        guard let first = elements.first else { return nil }
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < elements.count, elements[left] < elements[smallest] { smallest = left }
                if right < elements.count, elements[right] < elements[smallest] { smallest = right }
                if smallest == parent { break }
                elements.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
