import GraphJIT

/// A small model described by the fuzzer's bytes: a `Sequential` stack or a functional graph of the
/// layers in `Sources/GraphJIT/Layers`, with any configuration (absurd values included).
public struct ModelSpec: Equatable, Sendable, CustomStringConvertible {
    public enum LayerSpec: Equatable, Sendable {
        case dense(units: Int, activation: ActivationFunction, useBias: Bool)
        case conv2d(filters: Int, kernelSize: [Int], strides: [Int], padding: Padding,
                    activation: ActivationFunction, useBias: Bool)
        case maxPooling2d(poolSize: [Int], strides: [Int]?, padding: Padding)
        case flatten
        case lstm(units: Int, activation: ActivationFunction, recurrentActivation: ActivationFunction,
                  returnSequences: Bool, useBias: Bool)
        case attention(units: Int)
        case activation(ActivationFunction)
        case softmax(axis: Int)
        case dropout(rate: Double)
        case concatenate(axis: Int)
        /// The layer object of an earlier node, applied again (shared weights).
        case shared(node: Int)
    }

    public struct Node: Equatable, Sendable {
        public var layer: LayerSpec
        /// Indices into the tensors made so far: the model inputs, then each node's output.
        public var inputs: [Int]
        public var name: String?

        public init(_ layer: LayerSpec, inputs: [Int], name: String? = nil) {
            self.layer = layer
            self.inputs = inputs
            self.name = name
        }
    }

    /// `Sequential(inputShape:)` (one input, a chain) or `Model(inputs:outputs:)`.
    public var isSequential: Bool
    /// Per-sample input shapes (one for a sequential model).
    public var inputShapes: [[Int]]
    /// Input names (functional models; `nil`: automatic).
    public var inputNames: [String?]
    public var nodes: [Node]
    /// Tensor indices of the outputs (functional models; a sequential model's is its last node).
    public var outputs: [Int]
    /// The batch size `makeGraph` is asked for (prediction uses it when it is small).
    public var batchSize: Int
    public var seed: UInt64

    public init(isSequential: Bool, inputShapes: [[Int]], inputNames: [String?]? = nil, nodes: [Node], outputs: [Int],
                batchSize: Int, seed: UInt64) {
        self.isSequential = isSequential
        self.inputShapes = inputShapes
        self.inputNames = inputNames ?? inputShapes.map { _ in nil }
        self.nodes = nodes
        self.outputs = outputs
        self.batchSize = batchSize
        self.seed = seed
    }

    // MARK: - Names and values the decoder picks from

    static let activations: [ActivationFunction] = [.linear, .relu, .sigmoid, .tanh, .gelu, .geluTanh, .silu, .softmax]
    static let dropoutRates: [Double] = [0, 0.5, 0.999, 1, -0.5, .nan, .infinity, 1e-300]
    /// Layer names: mostly none (automatic), else ones that collide with automatic names, are
    /// rejected ('', '/'), or would break generated C if pasted unescaped.
    static let layerNames: [String] = [
        "x", "", "a/b", "dense", "dense_1", "line\nint x = 1;", "*/ int y; /*", "nul\u{0}byte", "ü", "quote\"",
        "back\\slash", "a.b", "W", "kernel", "lstm", "??=", "%d%s%n", "\r\n#define float int\n", "tab\tname",
        String(repeating: "long", count: 80), "conv2d.kernel", "__metadata__", "x.W", "-1", "0", "$", "🙂",
        "lstm_1", "input_layer", "softmax", "flatten", "dropout",
    ]

    // MARK: - Decoding

    /// Reads a spec from fuzzer bytes. Every byte string decodes to some spec.
    public init(decoding bytes: inout FuzzBytes) {
        let header = bytes.byte()
        isSequential = header & 1 == 0
        let inputCount = isSequential ? 1 : 1 + Int(header >> 1 & 1)
        inputShapes = []
        inputNames = []
        for _ in 0..<inputCount {
            let rank = [1, 2, 3, 1, 2, 3, 0, 4][bytes.choice(8)]
            inputShapes.append((0..<rank).map { _ in bytes.extent() })
            inputNames.append(isSequential ? nil : Self.decodeName(&bytes))
        }
        batchSize = bytes.extent()
        seed = UInt64(bytes.byte())
        let nodeCount = bytes.choice(8)
        nodes = []
        for index in 0..<nodeCount {
            let tensorCount = inputCount + index
            let layer = Self.decodeLayer(&bytes, nodeCount: index)
            var inputs: [Int]
            if isSequential {
                inputs = [tensorCount - 1]
            } else {
                let count = if case .concatenate = layer { 2 + bytes.choice(2) } else { 1 }
                inputs = (0..<count).map { _ in bytes.choice(tensorCount) }
            }
            nodes.append(Node(layer, inputs: inputs, name: Self.decodeName(&bytes)))
        }
        let tensorCount = inputCount + nodeCount
        if isSequential {
            outputs = [tensorCount - 1]
        } else {
            outputs = (0..<(1 + bytes.choice(2))).map { _ in bytes.choice(tensorCount) }
        }
    }

    /// A name: none for bytes below 0xE0, else ``layerNames``[b - 0xE0].
    private static func decodeName(_ bytes: inout FuzzBytes) -> String? {
        let b = bytes.byte()
        return b < 0xE0 ? nil : layerNames[Int(b - 0xE0)]
    }

    private static func encodeName(_ name: String?, into writer: inout FuzzBytesWriter) {
        writer.byte(name.map { UInt8(0xE0 + layerNames.firstIndex(of: $0)!) } ?? 0)
    }

    private static func decodeLayer(_ bytes: inout FuzzBytes, nodeCount: Int) -> LayerSpec {
        func activation() -> ActivationFunction { activations[bytes.choice(activations.count)] }
        func padding() -> Padding { bytes.bool() ? .same : .valid }
        switch bytes.choice(12) {
        case 0, 11: return .dense(units: bytes.extent(), activation: activation(), useBias: bytes.bool())
        case 1:
            return .conv2d(filters: bytes.extent(), kernelSize: bytes.extents(), strides: bytes.extents(),
                           padding: padding(), activation: activation(), useBias: bytes.bool())
        case 2: return .maxPooling2d(poolSize: bytes.extents(), strides: bytes.bool() ? bytes.extents() : nil, padding: padding())
        case 3: return .flatten
        case 4:
            return .lstm(units: bytes.extent(), activation: activation(), recurrentActivation: activation(),
                         returnSequences: bytes.bool(), useBias: bytes.bool())
        case 5: return .attention(units: bytes.extent())
        case 6: return .activation(activation())
        case 7: return .softmax(axis: bytes.axis())
        case 8: return .dropout(rate: dropoutRates[bytes.choice(dropoutRates.count)])
        case 9: return .concatenate(axis: bytes.axis())
        default:
            let node = bytes.choice(max(nodeCount, 1))
            return nodeCount == 0 ? .flatten : .shared(node: node)
        }
    }

    // MARK: - Encoding (seed inputs)

    /// The bytes that decode to this spec. (The seed-corpus writer checks the round trip.)
    public var encoded: [UInt8] {
        var writer = FuzzBytesWriter()
        precondition(isSequential ? inputShapes.count == 1 : (1...2).contains(inputShapes.count))
        writer.byte(isSequential ? 0 : 1 | UInt8(inputShapes.count - 1) << 1)
        for (shape, name) in zip(inputShapes, inputNames) {
            writer.choice([1: 0, 2: 1, 3: 2, 0: 6, 4: 7][shape.count]!)
            for extent in shape { writer.extent(extent) }
            if !isSequential { Self.encodeName(name, into: &writer) }
        }
        writer.extent(batchSize)
        writer.byte(UInt8(seed))
        writer.choice(nodes.count)
        for (index, node) in nodes.enumerated() {
            Self.encode(node.layer, into: &writer)
            if !isSequential {
                if case .concatenate = node.layer { writer.choice(node.inputs.count - 2) }
                for input in node.inputs { writer.choice(input) }
            }
            _ = index
            Self.encodeName(node.name, into: &writer)
        }
        if !isSequential {
            writer.choice(outputs.count - 1)
            for output in outputs { writer.choice(output) }
        }
        return writer.bytes
    }

    private static func encode(_ layer: LayerSpec, into writer: inout FuzzBytesWriter) {
        func activation(_ value: ActivationFunction) { writer.choice(activations.firstIndex(of: value)!) }
        func padding(_ value: Padding) { writer.bool(value == .same) }
        switch layer {
        case let .dense(units, act, useBias):
            writer.choice(0); writer.extent(units); activation(act); writer.bool(useBias)
        case let .conv2d(filters, kernelSize, strides, pad, act, useBias):
            writer.choice(1); writer.extent(filters); writer.extents(kernelSize); writer.extents(strides)
            padding(pad); activation(act); writer.bool(useBias)
        case let .maxPooling2d(poolSize, strides, pad):
            writer.choice(2); writer.extents(poolSize); writer.bool(strides != nil)
            if let strides { writer.extents(strides) }
            padding(pad)
        case .flatten: writer.choice(3)
        case let .lstm(units, act, recurrent, returnSequences, useBias):
            writer.choice(4); writer.extent(units); activation(act); activation(recurrent)
            writer.bool(returnSequences); writer.bool(useBias)
        case let .attention(units): writer.choice(5); writer.extent(units)
        case let .activation(act): writer.choice(6); activation(act)
        case let .softmax(axis): writer.choice(7); writer.axis(axis)
        case let .dropout(rate):
            writer.choice(8)
            writer.choice(dropoutRates.firstIndex { $0 == rate || ($0.isNaN && rate.isNaN) }!)
        case let .concatenate(axis): writer.choice(9); writer.axis(axis)
        case let .shared(node): writer.choice(10); writer.choice(node)
        }
    }

    // MARK: - Building

    /// The layer objects, one per node (a shared node reuses its target's object).
    public func makeLayers() -> [any Layer] {
        var layers: [any Layer] = []
        for node in nodes {
            let name = node.name
            let layer: any Layer = switch node.layer {
            case let .dense(units, activation, useBias):
                Dense(units: units, activation: activation, useBias: useBias, name: name)
            case let .conv2d(filters, kernelSize, strides, padding, activation, useBias):
                Conv2D(filters: filters, kernelSize: kernelSize, strides: strides, padding: padding,
                       activation: activation, useBias: useBias, name: name)
            case let .maxPooling2d(poolSize, strides, padding):
                MaxPooling2D(poolSize: poolSize, strides: strides, padding: padding, name: name)
            case .flatten: Flatten(name: name)
            case let .lstm(units, activation, recurrentActivation, returnSequences, useBias):
                LSTM(units: units, activation: activation, recurrentActivation: recurrentActivation,
                     returnSequences: returnSequences, useBias: useBias, name: name)
            case let .attention(units): AttentionLayer(units: units, name: name)
            case let .activation(function): Activation(function, name: name)
            case let .softmax(axis): Softmax(axis: axis, name: name)
            case let .dropout(rate): Dropout(rate: rate, name: name)
            case let .concatenate(axis): Concatenate(axis: axis, name: name)
            case let .shared(node): layers[node]
            }
            layers.append(layer)
        }
        return layers
    }

    /// The model, built through the public API exactly as a user would write it.
    public func makeModel(layers: [any Layer]) -> Model {
        if isSequential {
            return Sequential(inputShape: inputShapes[0], seed: seed) {
                for layer in layers { layer }
            }
        }
        var tensors = zip(inputShapes, inputNames).map { Input(shape: $0, name: $1) }
        let inputs = tensors
        for (node, layer) in zip(nodes, layers) {
            let arguments = node.inputs.map { tensors[$0] }
            tensors.append(arguments.count == 1 ? layer(arguments[0]) : layer(arguments))
        }
        return Model(inputs: inputs, outputs: outputs.map { tensors[$0] }, seed: seed)
    }

    // MARK: - Description

    /// Swift source that builds this model.
    public var description: String {
        func list(_ values: [Int]) -> String { "[" + values.map(literal).joined(separator: ", ") + "]" }
        func literal(_ value: Int) -> String {
            switch value {
            case .max: "Int.max"
            case .min: "Int.min"
            case 1 << 62: "1 << 62"
            case 1 << 32: "1 << 32"
            default: String(value)
            }
        }
        func activation(_ function: ActivationFunction) -> String {
            switch function {
            case .softmax: ".softmax"
            case let .elementwise(elementwise): ".\(elementwise)".replacingOccurrences(of: "gelu_tanh", with: "geluTanh")
            }
        }
        func named(_ name: String?) -> String { name.map { ", name: \(String(reflecting: $0))" } ?? "" }
        func layer(_ node: Node) -> String {
            switch node.layer {
            case let .dense(units, act, useBias):
                "Dense(units: \(literal(units)), activation: \(activation(act)), useBias: \(useBias)\(named(node.name)))"
            case let .conv2d(filters, kernelSize, strides, padding, act, useBias):
                "Conv2D(filters: \(literal(filters)), kernelSize: \(list(kernelSize)), strides: \(list(strides)), "
                    + "padding: .\(padding), activation: \(activation(act)), useBias: \(useBias)\(named(node.name)))"
            case let .maxPooling2d(poolSize, strides, padding):
                "MaxPooling2D(poolSize: \(list(poolSize)), strides: \(strides.map(list) ?? "nil"), padding: .\(padding)\(named(node.name)))"
            case .flatten: "Flatten(\(named(node.name).dropFirst(2)))"
            case let .lstm(units, act, recurrent, returnSequences, useBias):
                "LSTM(units: \(literal(units)), activation: \(activation(act)), recurrentActivation: \(activation(recurrent)), "
                    + "returnSequences: \(returnSequences), useBias: \(useBias)\(named(node.name)))"
            case let .attention(units): "AttentionLayer(units: \(literal(units))\(named(node.name)))"
            case let .activation(act): "Activation(\(activation(act))\(named(node.name)))"
            case let .softmax(axis): "Softmax(axis: \(literal(axis))\(named(node.name)))"
            case let .dropout(rate): "Dropout(rate: \(rate)\(named(node.name)))"
            case let .concatenate(axis): "Concatenate(axis: \(literal(axis))\(named(node.name)))"
            case let .shared(index): "l\(index)  // shared"
            }
        }
        var lines: [String] = []
        if isSequential {
            lines.append("let model = Sequential(inputShape: \(list(inputShapes[0])), seed: \(seed)) {")
            for node in nodes { lines.append("    " + layer(node)) }
            lines.append("}")
        } else {
            for (index, (shape, name)) in zip(inputShapes, inputNames).enumerated() {
                lines.append("let t\(index) = Input(shape: \(list(shape))\(named(name)))")
            }
            for (index, node) in nodes.enumerated() {
                let tensor = inputShapes.count + index
                if case .shared = node.layer {} else { lines.append("let l\(index) = \(layer(node))") }
                let target = if case let .shared(shared) = node.layer { "l\(shared)" } else { "l\(index)" }
                let arguments = node.inputs.map { "t\($0)" }
                lines.append("let t\(tensor) = \(target)(\(arguments.count == 1 ? arguments[0] : "[" + arguments.joined(separator: ", ") + "]"))")
            }
            let inputs = inputShapes.indices.map { "t\($0)" }.joined(separator: ", ")
            lines.append("let model = Model(inputs: [\(inputs)], outputs: [\(outputs.map { "t\($0)" }.joined(separator: ", "))], seed: \(seed))")
        }
        lines.append("// makeGraph(batchSize: \(literal(batchSize)))")
        return lines.joined(separator: "\n")
    }
}
