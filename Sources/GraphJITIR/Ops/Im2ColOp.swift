/// The patches a convolution multiplies: `x[B, H, W, C] -> [B, OH, OW, KH·KW·C]`, each output
/// position's window in (ky, kx, c) order, zero where it covers padding. A quantized convolution
/// is this followed by a compressed matmul with the HWIO kernel (whose rows are in the same order).
public struct Im2ColOp: OperationDefinition {
    /// The window's geometry, resolved once (so the reference and the C agree on padding).
    public let window: Window2D

    /// The patches of `window` (its input size must be the input's spatial size).
    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "im2col" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        let x = shapes[0]
        try require(x.count == 4, "a 4-D NHWC input (batch, height, width, channels)")
        try require(Array(x[1...2]) == window.inputSize, "spatial size \(window.inputSize)")
        return [[x[0]] + window.outputSize + [window.size[0] * window.size[1] * x[3]]]
    }

    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, shape) = (inputs[0], outputShapes[0])
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow, depth) = (shape[1], shape[2], shape[3])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0 ..< batch {
            for oy in 0 ..< oh {
                for ox in 0 ..< ow {
                    let row = ((b * oh + oy) * ow + ox) * depth
                    window.forEachTap(outputRow: oy, column: ox) { ky, kx, iy, ix in
                        let source = ((b * height + iy) * width + ix) * channels
                        let target = row + (ky * window.size[1] + kx) * channels
                        for c in 0 ..< channels { out[target + c] = x.scalars[source + c] }
                    }
                }
            }
        }
        return [Tensor(shape: shape, uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[0]].shape
        return .anchor(.routine(RoutineLowering("im2col_batch_nhwc", [
            .int(x[0]), .input(node.inputs[0]), .int(x[1]), .int(x[2]), .int(x[3]), .int(window.size[0]),
            .int(window.size[1]), .int(window.strides[0]), .int(window.strides[1]), .int(window.padBefore[0]),
            .int(window.padBefore[1]), .int(window.outputSize[0]), .int(window.outputSize[1]), .output(node.output),
        ])))
    }
}
