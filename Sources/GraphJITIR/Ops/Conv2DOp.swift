/// NHWC convolution: `x[B, H, W, C]`, kernel `[KH, KW, C, F]` (HWIO) `-> [B, OH, OW, F]`.
public struct Conv2DOp: OperationDefinition {
    /// The window's geometry, resolved once (so the reference and the C agree on padding).
    public let window: Window2D

    /// Creates a convolution over `window`; the input's spatial size must be the window's input size.
    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "conv2d" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .contraction }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (x, k) = (shapes[0], shapes[1])
        try require(x.count == 4, "a 4-D NHWC input (batch, height, width, channels)")
        try require(k.count == 4 && k[0] == window.size[0] && k[1] == window.size[1] && k[2] == x[3],
                    "kernel [\(window.size[0]), \(window.size[1]), \(x[3]), filters]")
        try require(Array(x[1...2]) == window.inputSize, "spatial size \(window.inputSize)")
        return [[x[0]] + window.outputSize + [k[3]]]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, kernel, shape) = (inputs[0], inputs[1], outputShapes[0])
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kw, filters) = (kernel.shape[1], kernel.shape[3])
        let (oh, ow) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for f in 0..<filters {
                        var sum: A = 0
                        window.forEachTap(outputRow: oy, column: ox) { ky, kx, iy, ix in
                            let inputBase = ((b * height + iy) * width + ix) * channels
                            let kernelBase = (ky * kw + kx) * channels * filters + f
                            for c in 0..<channels {
                                sum += A(x.scalars[inputBase + c]) * A(kernel.scalars[kernelBase + c * filters])
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * filters + f] = Float(sum)
                    }
                }
            }
        }
        return [Tensor(shape: shape, uncheckedScalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[0]].shape
        return .anchor(.convolution(x: node.inputs[0], kernel: node.inputs[1], window: window, batch: x[0],
                                    channels: x[3], filters: graph[node.inputs[1]].shape[3]))
    }

    /// `dx = col2im(dy · Kᵀ)`, `dK = im2col(x)ᵀ · dy`.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0] else { return [nil, nil] }
        let dx = needed[0] ? try builder.apply(Operation(Conv2DInputGradOp(window: window)), [dy, node.inputs[1]]) : nil
        let dk = needed[1] ? try builder.apply(Operation(Conv2DFilterGradOp(window: window)), [node.inputs[0], dy]) : nil
        return [dx, dk]
    }
}
