import GraphJITIR

/// One layer of a model as Keras's `model.layers` lists it: its name, the layer object, and the
/// names and shapes of its weights (`get_weights` / `set_weights` are ``Model/weights(ofLayer:)``
/// and ``Model/setWeights(_:ofLayer:)``).
public struct ModelLayer {
    /// The layer's name in the model (`dense_1`).
    public let name: String
    /// The layer (its configuration: `units`, `activation`, ...).
    public let layer: any Layer
    /// Its weights as the model names them (`kernel`, `bias`; `W.kernel` for a sublayer's), with shapes.
    public let weightShapes: [(name: String, shape: [Int])]
}

extension Model {
    /// The layers in application order (Keras's `model.layers`, input layers left out).
    public var layers: [ModelLayer] {
        get throws {
            let store = parameters
            return try topology.get().layers.map { entry in
                let prefix = entry.name + "."
                let weights = store.names.filter { $0.hasPrefix(prefix) }
                    .map { (String($0.dropFirst(prefix.count)), store[$0]!.shape) }
                return ModelLayer(name: entry.name, layer: entry.layer, weightShapes: weights)
            }
        }
    }

    /// The layer named `name` (Keras's `model.get_layer(name)`).
    /// - Throws: `GraphError.invalidModel(reason:)` naming the layers there are.
    public func layer(named name: String) throws -> ModelLayer {
        let all = try layers
        guard let found = all.first(where: { $0.name == name }) else {
            throw GraphError.invalidModel(reason: "no layer is named '\(name)'; the layers are \(all.map(\.name).joined(separator: ", "))")
        }
        return found
    }

    /// The weights of one layer, by their names under it (`["kernel": …, "bias": …]`).
    public func weights(ofLayer name: String) throws -> [String: Tensor] {
        let layer = try self.layer(named: name)
        return Dictionary(uniqueKeysWithValues: layer.weightShapes.map { ($0.name, parameters["\(name).\($0.name)"]!) })
    }

    /// Replaces some of one layer's weights (Keras's `layer.set_weights`, by name); the model's
    /// other weights stay. Names and shapes are checked before anything changes.
    public func setWeights(_ weights: [String: Tensor], ofLayer name: String) throws {
        let layer = try self.layer(named: name)
        let shapes = Dictionary(uniqueKeysWithValues: layer.weightShapes.map { ($0.name, $0.shape) })
        var all = parameters.dictionary
        for (weight, tensor) in weights {
            guard let shape = shapes[weight] else {
                throw WeightsError.nameMismatch(source: "setWeights(ofLayer: \"\(name)\")", missing: [],
                                                unexpected: ["\(name).\(weight)"])
            }
            guard tensor.shape == shape else {
                throw WeightsError.shapeMismatch(source: "setWeights(ofLayer: \"\(name)\")", name: "\(name).\(weight)",
                                                 expected: shape, actual: tensor.shape)
            }
            all["\(name).\(weight)"] = tensor
        }
        try setParameters(all, source: "setWeights(ofLayer: \"\(name)\")")
    }
}
