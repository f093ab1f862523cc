/// A convolution's input gradient: `col2im(dy · Kᵀ)`, each patch's gradient added back to the
/// pixels it was taken from. Inputs: `dy [B, OH, OW, F]`, the kernel `[KH, KW, C, F]`.
public struct Conv2DInputGradOp: OperationDefinition {
    /// The forward convolution's window: the kernel's height and width, strides, padding and spatial sizes.
    public let window: Window2D

    /// Creates the input gradient of the convolution over `window`.
    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "conv2d_input_grad" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (dy, k) = (shapes[0], shapes[1])
        try require(dy.count == 4 && Array(dy[1...2]) == window.outputSize && k.count == 4
                    && Array(k[0...1]) == window.size && k[3] == dy[3], "dy of spatial size \(window.outputSize) and a matching kernel")
        return [[dy[0]] + window.inputSize + [k[2]]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (dy, kernel) = (inputs[0], inputs[1])
        let shape = outputShapes[0]
        let (batch, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow, filters) = (dy.shape[1], dy.shape[2], dy.shape[3])
        let kw = window.size[1]
        var out = [A](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let gradient = ((b * oh + oy) * ow + ox) * filters
                    window.forEachTap(outputRow: oy, column: ox) { ky, kx, iy, ix in
                        let pixel = ((b * height + iy) * width + ix) * channels
                        for c in 0..<channels {
                            let base = ((ky * kw + kx) * channels + c) * filters
                            var sum: A = 0
                            for f in 0..<filters { sum += A(kernel.scalars[base + f]) * A(dy.scalars[gradient + f]) }
                            out[pixel + c] += sum
                        }
                    }
                }
            }
        }
        return [Tensor(shape: shape, uncheckedScalars: out.map { Float($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.output].shape
        let filters = graph[node.inputs[1]].shape[3]
        let (oh, ow) = (window.outputSize[0], window.outputSize[1])
        let patch = Int.saturatingProduct(window.size[0], window.size[1], x[3])
        return .anchor(.routine(RoutineLowering("conv2d_input_grad_nhwc", [
            .input(node.inputs[0]), .input(node.inputs[1]), .int(x[0]), .int(x[1]), .int(x[2]), .int(x[3]),
            .int(window.size[0]), .int(window.size[1]), .int(window.strides[0]), .int(window.strides[1]),
            .int(window.padBefore[0]), .int(window.padBefore[1]), .int(oh), .int(ow), .int(filters),
            .output(node.output), .scratch(floats: .saturatingProduct(oh, ow, patch)),
        ], multiplyAdds: .saturatingProduct(x[0], oh, ow, patch, filters))))
    }
}
