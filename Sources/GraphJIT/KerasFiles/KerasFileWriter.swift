import Foundation
import GraphJITIR

/// Writes a model as a Keras 3 `.keras` file that Keras loads and predicts with identically:
/// `metadata.json`, `config.json` (Sequential or Functional, each layer with Keras's options,
/// the compile config if compiled) and `model.weights.h5` (weights and the optimizer's state).
struct KerasFileWriter {
    /// The Keras version whose format is written.
    static let kerasVersion = "3.15.1"
    /// Where the tutorial's custom layer is registered when the model was not read from a file.
    static let defaultAttentionOrigin = KerasCustomLayerOrigin(module: "graphjit.layers",
                                                               registeredName: "GraphJIT>AttentionLayer")

    let model: Model
    let source: String

    func write() throws -> Data {
        let topology = try model.topology.get()
        let (graph, callOutputs) = try topology.makeGraph(batchSize: 1)
        let layers = try topology.layers.map { entry -> (name: String, layer: any KerasLayer) in
            guard let layer = entry.layer as? any KerasLayer else {
                throw ModelFileError(.unsupported, file: source, location: "layer '\(entry.name)'",
                                     reason: "\(type(of: entry.layer)) has no Keras equivalent to save")
            }
            if Self.activations(of: layer).contains(.geluTanh) {
                throw ModelFileError(.unsupported, file: source, location: "layer '\(entry.name)'",
                                     reason: "the tanh approximation of GELU has no Keras activation name to save")
            }
            return (entry.name, layer)
        }
        let isSequential = model is Sequential

        // Per-sample shapes of every symbolic tensor: inputs, then each call's output.
        var shapes: [Int: [Int]] = [:]
        for (tensor, input) in zip(topology.inputTensors, topology.inputs) { shapes[tensor] = input.shape }
        for (call, output) in zip(topology.calls, callOutputs) { shapes[call.output] = Array(graph[output].shape.dropFirst()) }
        // Keras's name for every tensor: [layer, node, 0].
        var history: [Int: (String, Int)] = [:]
        for (tensor, input) in zip(topology.inputTensors, topology.inputs) { history[tensor] = (input.name, 0) }
        var nodeCounts: [String: Int] = [:]
        var nodes: [String: [[Int]]] = [:]
        var inputShapes: [String: [Int]] = [:]
        for call in topology.calls {
            let node = nodeCounts[call.name, default: 0]
            nodeCounts[call.name] = node + 1
            history[call.output] = (call.name, node)
            nodes[call.name, default: []].append(call.inputs)
            if inputShapes[call.name] == nil { inputShapes[call.name] = shapes[call.inputs[0]] }
        }
        func kerasTensor(_ tensor: Int) -> JSON {
            let (layer, node) = history[tensor]!
            return .object([("class_name", .string("__keras_tensor__")),
                            ("config", .object([("shape", Self.batchShape(shapes[tensor]!)), ("dtype", .string("float32")),
                                                ("keras_history", .array([.string(layer), .int(node), .int(0)]))]))])
        }
        func reference(_ tensor: Int) -> JSON {
            let (layer, node) = history[tensor]!
            return .array([.string(layer), .int(node), .int(0)])
        }

        // config.json: the layers in the order Keras will list them (`model.layers`), which also
        // numbers the weight groups.
        let inputsByName = Dictionary(topology.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let layersByName = Dictionary(layers.map { ($0.name, $0.layer) }, uniquingKeysWith: { a, _ in a })
        let order = try model.kerasLayerOrder
        var layerEntries: [JSON] = []
        var weightOrder: [(className: String, name: String)] = []
        for name in order {
            if let input = inputsByName[name] {
                var entry: [(key: String, value: JSON)] = [
                    ("module", .string("keras.layers")), ("class_name", .string("InputLayer")),
                    ("config", .object([("batch_shape", Self.batchShape(input.shape)), ("dtype", .string("float32")),
                                        ("sparse", .bool(false)), ("ragged", .bool(false)), ("name", .string(input.name)),
                                        ("optional", .bool(false))])),
                    ("registered_name", .null),
                ]
                if !isSequential {
                    entry += [("name", .string(input.name)), ("inbound_nodes", .array([]))]
                    weightOrder.append(("InputLayer", name))
                }
                layerEntries.append(.object(entry))
                continue
            }
            let layer = layersByName[name]!
            if let mode = Model.quantization(of: layer), let reason = Self.unsavable(layer, mode) {
                throw ModelFileError(.unsupported, file: source, location: "layer '\(name)'",
                                     reason: reason + "; save the weights as .safetensors")
            }
            weightOrder.append((type(of: layer).kerasClassName, name))
            let origin = type(of: layer) == AttentionLayer.self
                ? model.kerasCustomLayers[name] ?? Self.defaultAttentionOrigin : nil
            let config: JSON = .object([("name", .string(name)), ("trainable", .bool(true)), ("dtype", layer.kerasDTypePolicy)]
                                       + (try layer.kerasOptions()))
            var entry: [(key: String, value: JSON)] = [
                ("module", origin.map { $0.module.map(JSON.string) ?? .null } ?? .string("keras.layers")),
                ("class_name", .string(type(of: layer).kerasClassName)), ("config", config),
                ("registered_name", origin.map { $0.registeredName.map(JSON.string) ?? .null } ?? .null),
                ("build_config", .object([("input_shape", Self.buildShape(layer: layer, name: name, inputShapes: inputShapes,
                                                                          nodes: nodes, shapes: shapes))])),
            ]
            if !isSequential {
                let calls: [JSON] = (nodes[name] ?? []).map { inputs in
                    let arguments: JSON = type(of: layer) == Concatenate.self
                        ? .array([.array(inputs.map(kerasTensor))]) : .array(inputs.map(kerasTensor))
                    return .object([("args", arguments), ("kwargs", .object([]))])
                }
                entry += [("name", .string(name)), ("inbound_nodes", .array(calls))]
            }
            layerEntries.append(.object(entry))
        }
        var modelConfig: [(key: String, value: JSON)] = [("name", .string(model.name)), ("trainable", .bool(true))]
        let modelClass: String
        if isSequential {
            modelClass = "Sequential"
            modelConfig += [("dtype", Self.dtypePolicy), ("layers", .array(layerEntries)),
                            ("build_input_shape", Self.batchShape(topology.inputs[0].shape))]
        } else {
            modelClass = "Functional"
            let inputs = topology.inputTensors.map(reference)
            let outputs = topology.outputTensors.map(reference)
            modelConfig += [("layers", .array(layerEntries)),
                            ("input_layers", inputs.count == 1 ? inputs[0] : .array(inputs)),
                            ("output_layers", outputs.count == 1 ? outputs[0] : .array(outputs))]
        }
        var root: [(key: String, value: JSON)] = [
            // Keras writes the functional class's defining module (`keras.Functional` is not importable).
            ("module", .string(isSequential ? "keras" : "keras.src.models.functional")),
            ("class_name", .string(modelClass)), ("config", .object(modelConfig)),
            ("registered_name", isSequential ? .null : .string(modelClass)),
            ("build_config", .object([("input_shape", isSequential ? Self.batchShape(topology.inputs[0].shape) : .null)])),
        ]
        if let configuration = model.trainingConfiguration {
            root.append(("compile_config", KerasCompileConfig.json(for: configuration)))
        }
        let config = Data(JSON.serialize(.object(root)).utf8)

        // metadata.json
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        let metadata = Data(JSON.serialize(.object([("keras_version", .string(Self.kerasVersion)),
                                                    ("date_saved", .string(formatter.string(from: Date())))])).utf8)

        // model.weights.h5
        let layout = KerasWeightsLayout(order: weightOrder, layers: Dictionary(layers.map { ($0.name, $0.layer as any Layer) },
                                                                         uniquingKeysWith: { a, _ in a }))
        let weightsFile = try HDF5File.create(source: "\(source)/\(KerasArchive.weightsName)")
        // A compiled model's optimizer, as Keras builds it when it compiles the loaded model: the
        // trained state, or a fresh one (step 0, zero slots) before the first step.
        var optimizer: (iterations: Int64, learningRate: Float, slots: [Tensor])?
        if let configuration = model.trainingConfiguration {
            let state = model.optimizerState()
            let slots = layout.optimizerSlots(try configuration.optimizer.rule()).map { entry in
                state?.slots[entry.state] ?? Tensor.zeros(model.parameters[entry.parameter]!.shape)
            }
            optimizer = (state?.iterations ?? 0, Float(configuration.optimizer.learningRate), slots)
        }
        try layout.write(model.parameters, optimizer: optimizer, to: weightsFile.root)
        let weights = try weightsFile.image()

        return try KerasArchive.write([(KerasArchive.metadataName, metadata), (KerasArchive.configName, config),
                                       (KerasArchive.weightsName, weights)], source: source)
    }

    // MARK: Pieces

    static let dtypePolicy: JSON = .object([("module", .string("keras")), ("class_name", .string("DTypePolicy")),
                                            ("config", .object([("name", .string("float32"))])), ("registered_name", .null)])

    /// Why a layer compressed in `mode` has no `.keras` form, or `nil` for Keras's own int8 Dense.
    private static func unsavable(_ layer: any KerasLayer, _ mode: QuantizationMode) -> String? {
        if layer is Conv2D || layer is LSTM {
            return "Keras does not quantize \(type(of: layer)) layers, so this \(mode.rawValue) one has no Keras form to save"
        }
        if mode == .bf16 { return "Keras has no weight-only bf16 Dense to save it as" }
        if layer is AttentionLayer {
            return "a custom layer whose Dense sublayers are quantized cannot be saved as .keras: its config does not "
                + "record the quantization, so Keras cannot load such a file (Keras 3.15.1 fails on its own)"
        }
        return nil
    }

    static func batchShape(_ perSample: [Int]) -> JSON { .array([.null] + perSample.map(JSON.int)) }

    /// A layer's `build_config.input_shape`: its first call's input shape (a list of them for
    /// layers that take several inputs).
    private static func buildShape(layer: any KerasLayer, name: String, inputShapes: [String: [Int]],
                                   nodes: [String: [[Int]]], shapes: [Int: [Int]]) -> JSON {
        guard let first = nodes[name]?.first else { return .null }
        if type(of: layer) == Concatenate.self { return .array(first.map { batchShape(shapes[$0]!) }) }
        return batchShape(inputShapes[name]!)
    }

    private static func activations(of layer: any KerasLayer) -> [ActivationFunction] {
        switch layer {
        case let dense as Dense: [dense.activation]
        case let conv as Conv2D: [conv.activation]
        case let lstm as LSTM: [lstm.activation, lstm.recurrentActivation]
        case let activation as Activation: [activation.function]
        default: []
        }
    }
}
