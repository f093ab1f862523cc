/// Builds a ``Graph`` one node at a time, inferring and checking every shape as it goes.
///
/// Layers lower themselves through a builder. The builder tracks the layer being lowered (its
/// ``scope``) so that shape errors and parameter names carry the layer's name.
public struct GraphBuilder: Sendable {
    /// The graph built so far; ``finish(outputs:)`` sets its outputs and verifies it.
    public private(set) var graph = Graph()
    /// The name of the layer being lowered; parameters are named `<scope>.<weight>`.
    public var scope: String = ""
    private var parameterIndex: [String: Int] = [:]

    /// Creates a builder with an empty graph and an empty ``scope``.
    public init() {}

    /// A builder that goes on from a finished graph (to append a loss, a backward pass and an
    /// optimizer step to a model's forward graph); the graph's outputs are cleared.
    public init(continuing graph: Graph) {
        self.graph = graph
        self.graph.outputs = []
        for (index, spec) in graph.parameters.enumerated() { parameterIndex[spec.name] = index }
    }

    // MARK: Values

    /// Adds a model input of the given full shape (batch first); throws unless every extent is
    /// positive and the element count is at most ``Graph/maximumElementCount``.
    public mutating func addInput(named name: String, shape: [Int]) throws -> ValueID {
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw GraphError.invalidConfiguration(layer: name, reason: "input '\(name)' would have shape \(shape): "
                                                  + "every extent must be positive")
        }
        try Self.checkSize(of: shape, what: "input '\(name)'", layer: name)
        let id = appendValue(shape: shape, role: .input(graph.inputs.count), name: name)
        graph.inputs.append(id)
        graph.inputNames.append(name)
        return id
    }

    /// The parameter `<scope>.<suffix>`, created on first use. A layer applied twice (shared
    /// weights) gets the same value back; a different shape under the same name is an error.
    public mutating func parameter(_ suffix: String, shape: [Int],
                                   initializer: ParameterInitializer) throws -> ValueID {
        let name = scope.isEmpty ? suffix : "\(scope).\(suffix)"
        guard !graph.states.contains(where: { $0.name == name }) else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "\(name) is already a state")
        }
        if let existing = parameterIndex[name] {
            let spec = graph.parameters[existing]
            guard spec.shape == shape else {
                throw GraphError.shapeMismatch(layer: scope, operation: "parameter \(name)",
                                               inputShapes: [shape],
                                               expected: "the shared weight's shape \(spec.shape)")
            }
            return spec.value
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "weight \(name) would have shape \(shape)")
        }
        try Self.checkSize(of: shape, what: "weight \(name)", layer: scope)
        let id = appendValue(shape: shape, role: .parameter(name), name: name)
        parameterIndex[name] = graph.parameters.count
        graph.parameters.append(ParameterSpec(name: name, shape: shape, initializer: initializer, value: id))
        return id
    }

    /// The state `<scope>.<suffix>`, created (as zeros) on first use; asking again with the same
    /// shape returns the same value.
    public mutating func state(_ suffix: String, shape: [Int]) throws -> ValueID {
        let name = scope.isEmpty ? suffix : "\(scope).\(suffix)"
        if let existing = graph.states.first(where: { $0.name == name }) {
            guard existing.shape == shape else {
                throw GraphError.shapeMismatch(layer: scope, operation: "state \(name)", inputShapes: [shape],
                                               expected: "the existing state's shape \(existing.shape)")
            }
            return existing.value
        }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "state \(name) would have shape \(shape)")
        }
        try Self.checkSize(of: shape, what: "state \(name)", layer: scope)
        guard parameterIndex[name] == nil else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "\(name) is already a parameter")
        }
        let id = appendValue(shape: shape, role: .state(name), name: name)
        graph.states.append(StateSpec(name: name, shape: shape, value: id))
        return id
    }

    /// Records that after each call the persistent value `target` (a parameter or a state) holds
    /// `value`, which must have its shape. Each target is updated at most once per graph.
    public mutating func update(_ target: ValueID, with value: ValueID) throws {
        let name = graph[target].name
        guard graph[target].role.isPersistent else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "\(name) is not a parameter or a state; only "
                                                  + "persistent values can be updated")
        }
        guard graph[value].shape == graph[target].shape else {
            throw GraphError.shapeMismatch(layer: scope, operation: "update of \(name)",
                                           inputShapes: [graph[value].shape],
                                           expected: "the updated value's shape \(graph[target].shape)")
        }
        guard !graph.updates.contains(where: { $0.target == target }) else {
            throw GraphError.invalidConfiguration(layer: scope, reason: "\(name) is updated twice in one call")
        }
        graph.updates.append(StateUpdate(target: target, value: value))
    }

    /// The shape of a value built so far.
    public func shape(of value: ValueID) -> [Int] { graph[value].shape }

    // MARK: Nodes

    /// Appends `operation` applied to `inputs` and returns its first output; throws when the
    /// shapes do not fit.
    @discardableResult
    public mutating func apply(_ operation: Operation, _ inputs: [ValueID]) throws -> ValueID {
        try applyReturningAll(operation, inputs)[0]
    }

    /// Appends `operation` applied to `inputs` and returns every output, in order.
    public mutating func applyReturningAll(_ operation: Operation, _ inputs: [ValueID]) throws -> [ValueID] {
        let shapes = inputs.map { graph[$0].shape }
        let outputShapes = try operation.outputShapes(for: shapes, layer: scope)
        for shape in outputShapes { try Self.checkSize(of: shape, what: operation.mnemonic, layer: scope) }
        let nodeIndex = graph.nodes.count
        let outputs = outputShapes.enumerated().map { position, shape in
            appendValue(shape: shape, role: .computed(node: nodeIndex, output: position),
                        name: position == 0 ? scope : "\(scope)_\(position)")
        }
        graph.nodes.append(GraphNode(index: nodeIndex, operation: operation, inputs: inputs,
                                     outputs: outputs, layer: scope))
        return outputs
    }

    /// Marks the model outputs and returns the verified graph.
    public mutating func finish(outputs: [ValueID]) throws -> Graph {
        graph.outputs = outputs
        try graph.verify()
        return graph
    }

    /// Throws unless `shape` has no negative extent and at most ``Graph/maximumElementCount``
    /// elements, so that no size arithmetic on graph values can overflow.
    private static func checkSize(of shape: [Int], what: String, layer: String) throws {
        guard shape.allSatisfy({ $0 >= 0 }), let count = shape.checkedElementCount,
              count <= Graph.maximumElementCount else {
            throw GraphError.invalidConfiguration(
                layer: layer, reason: "\(what) would have shape \(shape): more than \(Graph.maximumElementCount) "
                    + "elements (2^40), beyond any machine's memory")
        }
    }

    private mutating func appendValue(shape: [Int], role: ValueRole, name: String) -> ValueID {
        let id = ValueID(index: graph.values.count)
        graph.values.append(GraphValue(id: id, shape: shape, role: role, name: name))
        return id
    }
}
