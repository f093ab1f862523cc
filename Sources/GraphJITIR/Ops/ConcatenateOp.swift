/// Concatenation of several inputs along one axis (a non-negative index).
/// Inputs: two or more tensors of one rank whose extents agree except on the axis, joined in
/// order; output: their shape with the extents on the axis summed.
public struct ConcatenateOp: OperationDefinition {
    /// The axis the inputs are joined along (a non-negative index).
    public let axis: Int

    /// Creates a concatenation along `axis`.
    public init(axis: Int) { self.axis = axis }

    public var mnemonic: String { "concatenate" }
    public var attributeDescription: String { "axis=\(axis)" }
    public var kind: OperationKind { .copy }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(shapes.count >= 2, "at least 2 inputs")
        let rank = shapes[0].count
        try require(axis >= 0 && axis < rank, "inputs with axis \(axis)")
        for shape in shapes {
            try require(shape.count == rank, "inputs of equal rank \(rank)")
            for d in 0..<rank where d != axis {
                try require(shape[d] == shapes[0][d], "equal extents on every axis except \(axis)")
            }
        }
        var output = shapes[0]
        output[axis] = shapes.map { $0[axis] }.reduce(0, +)
        return [output]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let shape = outputShapes[0]
        let outer = shape[..<axis].elementCount
        var out: [Float] = []
        out.reserveCapacity(shape.elementCount)
        for o in 0..<outer {
            for input in inputs {
                let chunk = input.shape[axis...].elementCount
                out.append(contentsOf: input.scalars[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return [Tensor(shape: shape, uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        .anchor(.concatenation(inputs: node.inputs, outer: graph[node.outputs[0]].shape[..<axis].elementCount,
                               chunks: node.inputs.map { graph[$0].shape[axis...].elementCount }))
    }

    /// Each input's gradient is its slice of the output's.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0] else { return node.inputs.map { _ in nil } }
        var start = 0
        var result: [ValueID?] = []
        for (input, isNeeded) in zip(node.inputs, needed) {
            let length = builder.shape(of: input)[axis]
            result.append(isNeeded ? try builder.apply(Operation(SliceOp(axis: axis, start: start, length: length)), [dy]) : nil)
            start += length
        }
        return result
    }
}
