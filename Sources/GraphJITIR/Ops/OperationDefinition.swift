/// Everything about one primitive operation of the static graph, in one place.
///
/// Each operation is one type in one file (`Ops/<Name>.swift`) that conforms to this protocol:
/// its attributes are its stored properties (checked by ``outputShapes(for:)`` when a builder
/// applies the operation, so an illegal one never enters a graph), and it answers every question
/// a pass asks about it:
/// - ``outputShapes(for:)``: shape inference, throwing a ``ShapeExpectation`` that the builder
///   turns into a ``GraphError`` naming the layer;
/// - ``kind``: what fusion decides by;
/// - ``evaluate(_:outputShapes:accumulator:)``: the reference implementation, the oracle;
/// - ``lowering(of:in:)``: its part of the typed kernel plan (a kernel anchor or a stage);
/// - ``gradients(of:outputGradients:needed:into:)``: its gradient rule, which appends the nodes of
///   the backward pass to a builder (``Autodiff`` calls it, last node first).
public protocol OperationDefinition: Hashable, Sendable {
    /// A short lower-case name used in dumps and generated C comments (`matmul`, `bias_add`).
    var mnemonic: String { get }
    /// Attributes for dumps, e.g. `axis=1` or the window geometry (empty when there are none).
    var attributeDescription: String { get }
    /// What the operation does to memory, which is what fusion decides by.
    var kind: OperationKind { get }
    /// The shape of each output for the given input shapes.
    func outputShapes(for inputs: [[Int]]) throws(ShapeExpectation) -> [[Int]]
    /// The reference implementation: plain loops, products and sums accumulated in `A`.
    func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                     accumulator: A.Type) -> [Tensor]
    /// How the node becomes part of a kernel.
    func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering
    /// The gradient rule: given the gradient of the loss with respect to each output of `node`
    /// (`nil` where none flows back), appends the nodes computing the gradient with respect to
    /// each input whose entry in `needed` is `true`, and returns them (`nil` for the others).
    /// The builder's ``GraphBuilder/scope`` is the node's layer with `_grad` appended.
    func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                   into builder: inout GraphBuilder) throws -> [ValueID?]
}

extension OperationDefinition {
    public var attributeDescription: String { "" }

    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        throw GraphError.notDifferentiable(layer: node.layer, operation: mnemonic)
    }
}

/// What an operation does to memory, which is what fusion decides by (TVM's `OpPatternKind`).
public enum OperationKind: Sendable {
    /// A product over a reduced dimension (matmul, convolution): anchors a fused kernel.
    case contraction
    /// Maps each element independently (bias, activations).
    case elementwise
    /// Reduces or normalizes along an axis (softmax, weighted sum).
    case reduction
    /// A sliding-window reduction (pooling).
    case window
    /// Reinterprets memory without touching it.
    case view
    /// Moves data between buffers (concatenation).
    case copy
    /// A loop with a carried state that stays one kernel (the LSTM time loop).
    case recurrence
    /// One call of a runtime routine (most backward operations, losses, optimizer steps): it
    /// anchors a kernel, and elementwise stages may follow it.
    case routine
}

/// What shape inference expected and did not get; the graph builder adds the layer and shapes.
public struct ShapeExpectation: Error, Equatable, Sendable {
    /// What was expected, as the end of the message `expected …` (`a bias of shape [10]`).
    public let expected: String
    /// Creates an expectation from its phrase.
    public init(_ expected: String) { self.expected = expected }
}

extension OperationDefinition {
    /// Throws ``ShapeExpectation`` with `expected` unless `condition` holds.
    func require(_ condition: Bool, _ expected: @autoclosure () -> String) throws(ShapeExpectation) {
        if !condition { throw ShapeExpectation(expected()) }
    }

    /// Requires exactly `count` inputs.
    func require(inputs shapes: [[Int]], count: Int) throws(ShapeExpectation) {
        try require(shapes.count == count, "\(count) input\(count == 1 ? "" : "s")")
    }
}
