import Foundation

/// Softmax over one axis (a non-negative index), max-subtracted. Input: `x`; output: of `x`'s
/// shape.
///
/// Non-finite entries follow TensorFlow 2.21 (measured, CPU): the maximum skips NaN entries; `-inf`
/// entries give 0; a row with a `+inf` or NaN entry gives NaN at those entries and 0 everywhere else
/// (there `x - max` is NaN, elsewhere `-inf` or finite, and the row is not normalized by the NaN
/// sum); a row of nothing but `-inf` (and NaN) is all NaN. TensorFlow's oneDNN kernel also writes
/// NaN to a few other entries of a row that holds a NaN, depending on its vector lanes; GraphJIT
/// writes 0 there.
public struct SoftmaxOp: OperationDefinition {
    /// The axis normalized over (a non-negative index).
    public let axis: Int

    /// Creates a softmax over `axis`.
    public init(axis: Int) { self.axis = axis }

    public var mnemonic: String { "softmax" }
    public var attributeDescription: String { "axis=\(axis)" }
    public var kind: OperationKind { .reduction }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        try require(axis >= 0 && axis < shapes[0].count, "an input with axis \(axis)")
        return shapes
    }

    /// The `[outer, extent, inner]` view of `shape` around the axis.
    func geometry(of shape: [Int]) -> (outer: Int, extent: Int, inner: Int) {
        let extent = shape[axis]
        let inner = shape[(axis + 1)...].elementCount
        return (shape.elementCount / max(extent * inner, 1), extent, inner)
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let x = inputs[0]
        let (outer, extent, inner) = geometry(of: x.shape)
        var out = x
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * extent * inner + i
                var maximum = -Float.infinity
                for e in 0..<extent where x.scalars[base + e * inner] > maximum {  // NaN skipped
                    maximum = x.scalars[base + e * inner]
                }
                var sum = 0.0
                var exps = [Double](repeating: 0, count: extent)
                for e in 0..<extent {
                    exps[e] = exp(Double(x.scalars[base + e * inner] - maximum))
                    sum += exps[e]
                }
                // A NaN sum: a NaN or +inf entry (x - max is NaN there), or a row of -inf.
                for e in 0..<extent {
                    out.scalars[base + e * inner] = sum.isNaN ? (exps[e].isNaN ? .nan : 0) : Float(exps[e] / sum)
                }
            }
        }
        return [out]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let (outer, extent, inner) = geometry(of: graph[node.outputs[0]].shape)
        return .stage(.softmax(outer: outer, extent: extent, inner: inner))
    }

    /// `dx = y ⊙ (dy − Σ y·dy)` over the axis.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0], needed[0] else { return [nil] }
        return [try builder.apply(Operation(SoftmaxGradOp(axis: axis)), [dy, node.output])]
    }
}
