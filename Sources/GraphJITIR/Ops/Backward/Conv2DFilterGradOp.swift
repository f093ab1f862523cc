/// A convolution's kernel gradient: `dK[kh, kw, c, f] = Σ_{b, oy, ox} x[b, oy·s + kh − p, ox·s + kw − p, c] ·
/// dy[b, oy, ox, f]`, i.e. `im2col(x)ᵀ · dy` summed over the images. Inputs: `x`, `dy`; the kernel's
/// height and width come from the window.
public struct Conv2DFilterGradOp: OperationDefinition {
    /// The forward convolution's window: the kernel's height and width, strides, padding and spatial sizes.
    public let window: Window2D

    /// Creates the kernel gradient of the convolution over `window`.
    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "conv2d_filter_grad" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (x, dy) = (shapes[0], shapes[1])
        try require(x.count == 4 && Array(x[1...2]) == window.inputSize && dy.count == 4 && dy[0] == x[0]
                    && Array(dy[1...2]) == window.outputSize, "x of spatial size \(window.inputSize) and dy of \(window.outputSize)")
        return [window.size + [x[3], dy[3]]]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, dy) = (inputs[0], inputs[1])
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow, filters) = (dy.shape[1], dy.shape[2], dy.shape[3])
        let (kh, kw) = (window.size[0], window.size[1])
        var out = [A](repeating: 0, count: kh * kw * channels * filters)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let gradient = ((b * oh + oy) * ow + ox) * filters
                    window.forEachTap(outputRow: oy, column: ox) { ky, kx, iy, ix in
                        let input = ((b * height + iy) * width + ix) * channels
                        for c in 0..<channels {
                            let value = A(x.scalars[input + c])
                            let base = ((ky * kw + kx) * channels + c) * filters
                            for f in 0..<filters { out[base + f] += value * A(dy.scalars[gradient + f]) }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outputShapes[0], uncheckedScalars: out.map { Float($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[0]].shape
        let filters = graph[node.inputs[1]].shape[3]
        let (oh, ow) = (window.outputSize[0], window.outputSize[1])
        let patch = Int.saturatingProduct(window.size[0], window.size[1], x[3])
        return .anchor(.routine(RoutineLowering("conv2d_filter_grad_nhwc", [
            .input(node.inputs[0]), .input(node.inputs[1]), .int(x[0]), .int(x[1]), .int(x[2]), .int(x[3]),
            .int(window.size[0]), .int(window.size[1]), .int(window.strides[0]), .int(window.strides[1]),
            .int(window.padBefore[0]), .int(window.padBefore[1]), .int(oh), .int(ow), .int(filters),
            .output(node.output), .scratch(floats: .saturatingProduct(oh, ow, patch)),
        ], multiplyAdds: .saturatingProduct(x[0], oh, ow, patch, filters))))
    }
}
