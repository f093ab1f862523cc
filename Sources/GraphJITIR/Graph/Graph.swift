/// The identity of a value (a tensor) in a ``Graph``.
public struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Index into ``Graph/values``.
    public let index: Int
    public static func < (lhs: ValueID, rhs: ValueID) -> Bool { lhs.index < rhs.index }
    public var description: String { "%\(index)" }
}

/// How a value comes into being.
public enum ValueRole: Equatable, Hashable, Sendable {
    /// The model input with this position.
    case input(Int)
    /// A named parameter (`<layer>.<weight>`): a trainable weight.
    case parameter(String)
    /// A named non-trainable persistent value (an optimizer moment, a step counter): it keeps its
    /// contents from one call to the next and changes only through ``Graph/updates``.
    case state(String)
    /// Output number `output` of the node with this index.
    case computed(node: Int, output: Int)

    /// The name of a persistent value (a parameter or a state), `nil` for inputs and computed values.
    ///
    /// Persistent values live outside a call's arena, are shared by every plan compiled from one
    /// model, and are the sources of every derived weight format.
    public var persistentName: String? {
        switch self {
        case let .parameter(name), let .state(name): name
        case .input, .computed: nil
        }
    }

    /// Whether the value is a parameter or a state.
    public var isPersistent: Bool { persistentName != nil }
}

/// A tensor of the graph: its static shape and where it comes from.
public struct GraphValue: Equatable, Sendable {
    /// The value's identity: its index in ``Graph/values``.
    public let id: ValueID
    /// The value's static shape, batch first for values that have a batch axis.
    public let shape: [Int]
    /// Where the value comes from: a model input, a parameter, a state or a node's output.
    public let role: ValueRole
    /// A readable name: the input's or parameter's name, or the producing layer's.
    public let name: String
}

/// One operation applied to values, producing one value or several (``outputs``).
public struct GraphNode: Equatable, Sendable {
    /// The node's position in ``Graph/nodes``, which is topological order.
    public let index: Int
    /// The operation the node applies.
    public let operation: Operation
    /// The values the node reads, in the operation's operand order.
    public let inputs: [ValueID]
    /// The values the node defines, in the operation's output order.
    public let outputs: [ValueID]
    /// The first (for most operations the only) output.
    public var output: ValueID { outputs[0] }
    /// The model layer this node was lowered from (e.g. `conv2d`, `attention_layer`).
    public let layer: String
}

/// How a parameter is initialized, as Keras does by default.
public enum ParameterInitializer: Equatable, Hashable, Sendable {
    /// Uniform in `±sqrt(6 / (fanIn + fanOut))`.
    case glorotUniform(fanIn: Int, fanOut: Int)
    /// A (semi-)orthogonal matrix, for recurrent kernels.
    case orthogonal
    /// All zeros, for biases.
    case zeros
    /// All ones, for scales (an int8 kernel's `kernel_scale` before quantization sets it).
    case ones
    /// An LSTM bias with Keras's `unit_forget_bias`: zeros, except ones on the forget gate's
    /// block (`[0_u, 1_u, 0_2u]` in gate order i, f, c, o).
    case unitForgetBias(units: Int)
}

/// A parameter the graph needs: its full name, shape and default initializer.
public struct ParameterSpec: Equatable, Sendable {
    /// The full name, `<layer>.<weight>` (`dense.kernel`).
    public let name: String
    /// The weight's shape.
    public let shape: [Int]
    /// How the weight is initialized when the model creates fresh weights.
    public let initializer: ParameterInitializer
    /// The graph value holding the parameter (its role is ``ValueRole/parameter(_:)``).
    public let value: ValueID
}

/// A non-trainable persistent value the graph keeps between calls: its name and shape. States start
/// at zero, as Keras's optimizer variables do.
public struct StateSpec: Equatable, Sendable {
    /// The full name (`optimizer.iterations`, `optimizer.dense.kernel.momentum`).
    public let name: String
    /// The state's shape.
    public let shape: [Int]
    /// The graph value holding the state (its role is ``ValueRole/state(_:)``).
    public let value: ValueID
}

/// After a call, the persistent value ``target`` (a parameter or a state) holds ``value``.
///
/// Updates are functional, as in XLA's input/output aliasing: every node of the call reads the
/// old contents, and the new ones replace them when the call ends. The compiler lets the kernel
/// computing ``value`` write straight into the target's storage when nothing reads the old
/// contents afterwards, so most updates are in place.
public struct StateUpdate: Equatable, Hashable, Sendable {
    /// The persistent value (a parameter or a state) whose contents are replaced.
    public let target: ValueID
    /// The value computed in the call that becomes the target's new contents (of the target's shape).
    public let value: ValueID

    /// Records that `target` holds `value` after a call; ``GraphBuilder/update(_:with:)`` checks
    /// that the target is persistent and the shapes agree.
    public init(target: ValueID, value: ValueID) {
        self.target = target
        self.value = value
    }
}

/// A static computation graph: every shape known, nodes in topological order.
///
/// Graphs are built by ``GraphBuilder`` (which infers and checks every shape as nodes are added)
/// and are immutable values afterwards; passes produce new graphs or plans from them.
public struct Graph: Equatable, Sendable {
    /// Every value, indexed by ``ValueID/index``.
    public internal(set) var values: [GraphValue] = []
    /// Every node, in topological order.
    public internal(set) var nodes: [GraphNode] = []
    /// Model inputs, in order.
    public internal(set) var inputs: [ValueID] = []
    /// Model outputs, in order.
    public internal(set) var outputs: [ValueID] = []
    /// Parameters in creation order.
    public internal(set) var parameters: [ParameterSpec] = []
    /// Names of the model inputs (Keras input layer names), in order.
    public internal(set) var inputNames: [String] = []
    /// Non-trainable persistent values in creation order.
    public internal(set) var states: [StateSpec] = []
    /// The new contents of persistent values after a call, at most one per target.
    public internal(set) var updates: [StateUpdate] = []

    /// The most elements one value may have (2^40 floats: 4 TiB). ``GraphBuilder`` refuses larger
    /// shapes, so products of a few extents of graph values fit comfortably in `Int`; what fits in
    /// memory is the ``MemoryBudget``'s business.
    public static let maximumElementCount = 1 << 40

    /// The value's metadata.
    public subscript(value: ValueID) -> GraphValue { values[value.index] }

    /// The batch size the graph was built for.
    public var batchSize: Int { inputs.first.map { self[$0].shape[0] } ?? 1 }

    /// The node producing `value`, if it is computed.
    public func producer(of value: ValueID) -> GraphNode? {
        if case let .computed(node, _) = self[value].role { return nodes[node] }
        return nil
    }

    /// For each value, the indices of the nodes that read it.
    public func consumers() -> [[Int]] {
        var result = Array(repeating: [Int](), count: values.count)
        for node in nodes {
            for input in node.inputs where !result[input.index].contains(node.index) {
                result[input.index].append(node.index)
            }
        }
        return result
    }
}
