/// A constant tensor: every element `value` (the seed of a backward pass, a loss weight).
/// No inputs; output: a tensor of `shape`.
public struct FillOp: OperationDefinition {
    /// The value of every element.
    public let value: Float
    /// The output's shape; shape inference requires a non-empty shape of positive extents.
    public let shape: [Int]

    /// Creates a tensor of `shape` with every element `value`.
    public init(value: Float, shape: [Int]) {
        self.value = value
        self.shape = shape
    }

    public var mnemonic: String { "fill" }
    public var attributeDescription: String { "\(value) \(shape)" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 0)
        try require(!shape.isEmpty && shape.allSatisfy { $0 > 0 }, "a shape of positive extents")
        return [shape]
    }

    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        [Tensor(repeating: value, shape: shape)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        .anchor(.routine(RoutineLowering("fill", [.output(node.output), .int(shape.elementCount), .float(value)])))
    }
}
