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
            throw ModelFileError(.config, file: file, reason: "the model it describes does not fit together: \(error)")
        }
        return model
    }

    /// Applies every layer call once its inputs exist, until all are made; what is left over
    /// waits on a tensor that never comes (a dangling or cyclic connection).
    private func functionalModel(layers made: [String: any KerasLayer], seed: UInt64) throws -> Model {
        var tensors: [TensorReference: SymbolicTensor] = [:]
        for input in inputs {
            tensors[TensorReference(layer: input.name, node: 0, tensor: 0)] = Input(shape: input.shape, name: input.name)
        }
        let known = Set(inputs.map(\.name) + layers.map(\.config.name))
        var nextNode = [Int](repeating: 0, count: layers.count)
        var remaining = layers.reduce(0) { $0 + $1.nodes.count }
        while remaining > 0 {
            var progressed = false
            for (index, entry) in layers.enumerated() where nextNode[index] < entry.nodes.count {
                let node = entry.nodes[nextNode[index]]
                guard let arguments = Optional(node.compactMap { tensors[$0] }), arguments.count == node.count else { continue }
                let layer = made[entry.config.name]!
                tensors[TensorReference(layer: entry.config.name, node: nextNode[index], tensor: 0)] =
                    entry.config.className == "Concatenate" || arguments.count > 1 ? layer(arguments) : layer(arguments[0])
                nextNode[index] += 1
                remaining -= 1
                progressed = true
            }
            if !progressed {
                let (index, entry) = layers.enumerated().first { nextNode[$0.offset] < $0.element.nodes.count }!
                let missing = entry.nodes[nextNode[index]].first { tensors[$0] == nil }!
                let reason = !known.contains(missing.layer)
                    ? "its input \(missing) names a layer that is not in the config (a dangling connection)"
                    : missing.tensor != 0 ? "its input \(missing) asks for output \(missing.tensor); GraphJIT layers have one output"
                    : "its input \(missing) is never made (a cyclic connection, or a call that does not exist)"
                throw ModelFileError(.config, file: file, location: "layer '\(entry.config.name)' (\(entry.config.className))",
                                     reason: reason)
            }
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
