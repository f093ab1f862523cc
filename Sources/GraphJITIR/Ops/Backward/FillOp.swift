/// A constant tensor: every element `value` (the seed of a backward pass, a loss weight).
public struct FillOp: OperationDefinition {
    public let value: Float
    public let shape: [Int]

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
