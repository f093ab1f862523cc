/// `x[..., start ..< start + length, ...]` along one axis: a concatenation's gradient.
public struct SliceOp: OperationDefinition {
    /// The axis sliced (a non-negative index).
    public let axis: Int
    /// The first index kept on ``axis``.
    public let start: Int
    /// How many indices are kept on ``axis`` (positive).
    public let length: Int

    /// Creates a slice of `length` entries from `start` on `axis`; shape inference checks that they
    /// lie within the input.
    public init(axis: Int, start: Int, length: Int) {
        self.axis = axis
        self.start = start
        self.length = length
    }

    public var mnemonic: String { "slice" }
    public var attributeDescription: String { "axis=\(axis) \(start)..<\(start + length)" }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        let x = shapes[0]
        try require(axis >= 0 && axis < x.count && start >= 0 && length > 0 && start + length <= x[axis],
                    "an input with \(start + length) or more entries on axis \(axis)")
        var out = x
        out[axis] = length
        return [out]
    }

    /// The `[outer, chunk]` geometry: `outer` rows, each a chunk of `row` floats of which `count`
    /// from `offset` are kept.
    func geometry(of x: [Int]) -> (outer: Int, row: Int, offset: Int, count: Int) {
        let inner = x[(axis + 1)...].elementCount
        return (x[..<axis].elementCount, x[axis] * inner, start * inner, length * inner)
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (outer, row, offset, count) = geometry(of: inputs[0].shape)
        var out: [Float] = []
        out.reserveCapacity(outer * count)
        for o in 0..<outer { out.append(contentsOf: inputs[0].scalars[(o * row + offset)..<(o * row + offset + count)]) }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let (outer, row, offset, count) = geometry(of: graph[node.inputs[0]].shape)
        return .anchor(.routine(RoutineLowering("slice_rows", [
            .int(outer), .input(node.inputs[0]), .int(row), .int(offset), .int(count), .output(node.output),
        ])))
    }
}
