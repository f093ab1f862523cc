import GraphJITIR

/// A model as a Keras config describes it (Keras 3's `config.json` or a legacy `.h5`'s
/// `model_config`), checked for shape before any GraphJIT layer is made.
struct KerasModelDescription {
    enum ModelClass: String {
        case sequential = "Sequential"
        case functional = "Functional"
    }

    /// A tensor as Keras configs name it: the `node`-th call of `layer`, output `tensor`.
    struct TensorReference: Hashable, CustomStringConvertible {
        let layer: String
        let node: Int
        let tensor: Int
        var description: String { "['\(layer)', \(node), \(tensor)]" }
    }

    /// An `InputLayer`, with the per-sample shape of its tensor.
    struct InputEntry {
        let name: String
        let shape: [Int]
    }

    /// A layer entry other than an input, with the inputs of each of its calls (functional models).
    struct LayerEntry {
        let config: KerasLayerConfig
        let module: String?
        let registeredName: String?
        let nodes: [[TensorReference]]
    }

    /// The most layers, and calls per layer, a config may describe.
    static let maximumLayers = 100_000
    static let maximumNodes = 10_000

    let file: String
    let modelClass: ModelClass
    let name: String
    let inputs: [InputEntry]
    /// Every non-input layer, in the config's order.
    let layers: [LayerEntry]
    /// Class names of `model.layers` in order, as Keras walks them to name the weight groups
    /// (functional models list their input layers there, sequential ones do not).
    let weightLayerOrder: [(className: String, name: String)]
    let inputReferences: [TensorReference]
    let outputReferences: [TensorReference]
    /// `compile_config` (Keras 3) or the legacy `training_config`, if the model was compiled.
    let compileConfig: JSON?

    /// Parses a model config: `{"class_name": "Sequential" | "Functional" | "Model", "config": {...}}`.
    init(json root: JSON, compileConfig: JSON?, file: String) throws {
        self.file = file
        func error(_ reason: String, at location: String? = nil) -> ModelFileError {
            ModelFileError(.config, file: file, location: location, reason: reason)
        }
        guard let className = root["class_name"]?.stringValue, let config = root["config"], config.members != nil else {
            throw error("the model config is not an object with 'class_name' and 'config'")
        }
        switch className {
        case "Sequential": modelClass = .sequential
        case "Functional", "Model": modelClass = .functional
        default:
            throw ModelFileError(.unsupported, file: file, reason: "model class '\(className)' is not supported "
                                 + "(GraphJIT reads Sequential and Functional models; a subclassed model has no config to rebuild)")
        }
        name = config["name"]?.stringValue ?? (modelClass == .sequential ? "sequential" : "functional")
        self.compileConfig = (compileConfig ?? root["compile_config"]).flatMap { $0.isNull || $0.members?.isEmpty == true ? nil : $0 }
        try Self.checkFloat32(config["dtype"], file: file, location: "model '\(name)'")
        guard let entries = config["layers"]?.arrayValue else { throw error("the model config has no 'layers' list") }
        guard entries.count <= Self.maximumLayers else {
            throw error("the config lists \(entries.count) layers, more than the \(Self.maximumLayers) allowed")
        }

        var inputs: [InputEntry] = []
        var layers: [LayerEntry] = []
        var order: [(String, String)] = []
        var names = Set<String>()
        var automaticNames: [String: Int] = [:]  // Keras's per-class counters, for entries without a name
        for (index, entry) in entries.enumerated() {
            guard let layerClass = entry["class_name"]?.stringValue, let layerConfig = entry["config"], layerConfig.members != nil else {
                throw error("layer \(index) is not an object with 'class_name' and 'config'")
            }
            let layerName: String
            if let given = entry["name"]?.stringValue ?? layerConfig["name"]?.stringValue {
                layerName = given
            } else {
                let base = kerasSnakeCase(layerClass)
                let count = automaticNames[base, default: 0]
                automaticNames[base] = count + 1
                layerName = count == 0 ? base : "\(base)_\(count)"
            }
            guard names.insert(layerName).inserted else { throw error("two layers are named '\(layerName)'", at: "layer '\(layerName)'") }
            let parsed = KerasLayerConfig(file: file, className: layerClass, name: layerName, config: layerConfig)
            try Self.checkFloat32(layerConfig["dtype"], file: file, location: "layer '\(layerName)' (\(layerClass))",
                                  quantizable: layerClass == Dense.kerasClassName)
            if layerClass == "InputLayer" {
                inputs.append(InputEntry(name: layerName, shape: try Self.inputShape(of: parsed)))
                if modelClass == .functional { order.append((layerClass, layerName)) }
                continue
            }
            // The first layer of a Keras 2 Sequential may carry the input shape itself.
            if modelClass == .sequential, inputs.isEmpty, layers.isEmpty,
               let shape = try Self.declaredShape(of: parsed) {
                inputs.append(InputEntry(name: "input_layer", shape: shape))
            }
            let nodes = modelClass == .functional
                ? try Self.nodes(entry["inbound_nodes"], layer: parsed)
                : []
            layers.append(LayerEntry(config: parsed, module: entry["module"]?.stringValue,
                                     registeredName: entry["registered_name"]?.stringValue, nodes: nodes))
            order.append((layerClass, layerName))
        }

        switch modelClass {
        case .sequential:
            if inputs.isEmpty, let shape = config["build_input_shape"] ?? root["build_config"]?["input_shape"],
               !shape.isNull {
                inputs.append(InputEntry(name: "input_layer", shape: try Self.perSample(shape, file: file, location: "model '\(name)'")))
            }
            guard inputs.count == 1 else {
                throw error(inputs.isEmpty ? "the Sequential model declares no input shape (no InputLayer, no build_input_shape)"
                                           : "a Sequential model has one InputLayer, this one has \(inputs.count)")
            }
            guard !layers.isEmpty else { throw error("the Sequential model has no layers") }
            inputReferences = [TensorReference(layer: inputs[0].name, node: 0, tensor: 0)]
            outputReferences = []
        case .functional:
            inputReferences = try Self.references(config["input_layers"], what: "input_layers", file: file)
            outputReferences = try Self.references(config["output_layers"], what: "output_layers", file: file)
            guard !inputReferences.isEmpty, !outputReferences.isEmpty else {
                throw error("a functional model needs 'input_layers' and 'output_layers'")
            }
        }
        self.inputs = inputs
        self.layers = layers
        self.weightLayerOrder = order
    }

    // MARK: Pieces

    /// Refuses a dtype policy other than float32 (`mixed_float16`, `bfloat16`, ...). A Dense
    /// layer's `QuantizedDTypePolicy` is left to the layer (``KerasQuantization``).
    private static func checkFloat32(_ dtype: JSON?, file: String, location: String, quantizable: Bool = false) throws {
        guard let dtype, !dtype.isNull else { return }
        if dtype["class_name"]?.stringValue?.hasPrefix("Quantized") == true {
            guard quantizable else {
                throw ModelFileError(.unsupported, file: file, location: location,
                                     reason: "a quantized dtype policy (\(dtype["class_name"]!.summary)) is supported on Dense layers only")
            }
            return
        }
        let name = dtype.stringValue ?? dtype["config"]?["name"]?.stringValue
        guard let name else { return }
        guard name == "float32" else {
            throw ModelFileError(.unsupported, file: file, location: location,
                                 reason: "dtype policy '\(name)' is not supported (GraphJIT computes in float32)")
        }
    }

    private static func inputShape(of layer: KerasLayerConfig) throws -> [Int] {
        if layer.value("sparse")?.boolValue == true { throw layer.unsupported("sparse", "inputs are dense tensors") }
        if layer.value("ragged")?.boolValue == true { throw layer.unsupported("ragged", "inputs are dense tensors") }
        if let dtype = layer.value("dtype")?.stringValue, dtype != "float32" {
            throw layer.unsupported("dtype", "inputs are float32")
        }
        guard let shape = try declaredShape(of: layer) else { throw layer.malformed("batch_shape", "the input's shape") }
        return shape
    }

    /// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2), without the batch axis.
    private static func declaredShape(of layer: KerasLayerConfig) throws -> [Int]? {
        guard let value = layer.value("batch_shape") ?? layer.value("batch_input_shape") else { return nil }
        return try perSample(value, file: layer.file, location: "layer '\(layer.name)' (\(layer.className))")
    }

    /// A full shape `[null, d1, d2, ...]` as per-sample extents, every one a positive integer.
    private static func perSample(_ value: JSON, file: String, location: String) throws -> [Int] {
        guard let extents = value.arrayValue, extents.count >= 2, extents.count <= 8 else {
            throw ModelFileError(.config, file: file, location: location,
                                 reason: "input shape \(value.summary) is not [batch, d1, ...] with 1 to 7 axes after the batch")
        }
        return try extents.dropFirst().enumerated().map { axis, extent in
            guard let size = extent.integerValue else {
                throw ModelFileError(.unsupported, file: file, location: location,
                                     reason: "input shape \(value.summary) has a variable extent on axis \(axis + 1); "
                                         + "GraphJIT compiles static shapes")
            }
            guard size > 0, size <= 1 << 31 else {
                throw ModelFileError(.config, file: file, location: location,
                                     reason: "input shape \(value.summary) has extent \(size) on axis \(axis + 1), expected 1 ... 2^31")
            }
            return size
        }
    }

    /// The inputs of each call of a functional layer: Keras 3's `[{"args": [...], "kwargs": {}}]`
    /// or Keras 2's `[[["dense", 0, 0, {}], ...]]`.
    private static func nodes(_ value: JSON?, layer: KerasLayerConfig) throws -> [[TensorReference]] {
        let location = "layer '\(layer.name)' (\(layer.className))"
        func error(_ reason: String) -> ModelFileError { ModelFileError(.config, file: layer.file, location: location, reason: reason) }
        guard let value, !value.isNull else { return [] }
        guard let nodes = value.arrayValue else { throw error("'inbound_nodes' is not a list") }
        guard nodes.count <= maximumNodes else { throw error("more than \(maximumNodes) inbound nodes") }
        return try nodes.map { node in
            var references: [TensorReference] = []
            if node.members != nil {  // Keras 3
                try collect(node["args"] ?? .array([]), into: &references, file: layer.file, location: location)
                for (key, argument) in node["kwargs"]?.members ?? [] {
                    var tensors: [TensorReference] = []
                    try collect(argument, into: &tensors, file: layer.file, location: location)
                    guard tensors.isEmpty else {
                        throw ModelFileError(.unsupported, file: layer.file, location: location,
                                             reason: "the layer is called with a tensor as keyword argument '\(key)'")
                    }
                }
            } else if let calls = node.arrayValue {  // Keras 2: one [layer, node, tensor, kwargs] per input
                for call in calls {
                    guard let parts = call.arrayValue, parts.count >= 3, let name = parts[0].stringValue,
                          let index = parts[1].integerValue, let tensor = parts[2].integerValue
                    else { throw error("inbound node entry \(call.summary) is not [layer, node, tensor, kwargs]") }
                    references.append(TensorReference(layer: name, node: index, tensor: tensor))
                }
            } else {
                throw error("inbound node \(node.summary) is neither Keras 3's {args, kwargs} nor Keras 2's list")
            }
            guard !references.isEmpty else { throw error("an inbound node has no input tensor") }
            return references
        }
    }

    /// Every `__keras_tensor__` in a call's arguments, in order (nested lists flattened).
    private static func collect(_ value: JSON, into references: inout [TensorReference], file: String, location: String,
                                depth: Int = 0) throws {
        guard depth < 16 else { throw ModelFileError(.config, file: file, location: location, reason: "call arguments nest too deep") }
        if let elements = value.arrayValue {
            for element in elements { try collect(element, into: &references, file: file, location: location, depth: depth + 1) }
        } else if value["class_name"]?.stringValue == "__keras_tensor__" {
            guard let history = value["config"]?["keras_history"]?.arrayValue, history.count == 3,
                  let layer = history[0].stringValue, let node = history[1].integerValue, let tensor = history[2].integerValue
            else {
                throw ModelFileError(.config, file: file, location: location,
                                     reason: "a tensor argument has no valid keras_history [layer, node, tensor]")
            }
            references.append(TensorReference(layer: layer, node: node, tensor: tensor))
        }
    }

    /// `input_layers` / `output_layers`: one `[name, node, tensor]`, a list of them, or a dict of them.
    private static func references(_ value: JSON?, what: String, file: String) throws -> [TensorReference] {
        func one(_ entry: JSON) throws -> TensorReference {
            guard let parts = entry.arrayValue, parts.count == 3, let name = parts[0].stringValue,
                  let node = parts[1].integerValue, let tensor = parts[2].integerValue else {
                throw ModelFileError(.config, file: file, reason: "'\(what)' entry \(entry.summary) is not [layer, node, tensor]")
            }
            return TensorReference(layer: name, node: node, tensor: tensor)
        }
        guard let value, !value.isNull else { return [] }
        if let members = value.members { return try members.map { try one($0.value) } }
        guard let elements = value.arrayValue else { throw ModelFileError(.config, file: file, reason: "'\(what)' is not a list") }
        if elements.first?.stringValue != nil { return [try one(value)] }
        guard elements.count <= maximumLayers else { throw ModelFileError(.config, file: file, reason: "'\(what)' is too long") }
        return try elements.map(one)
    }
}
