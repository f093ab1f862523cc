/// NHWC max pooling `x[B, H, W, C] -> [B, OH, OW, C]`; padded taps are ignored (Keras `same`).
///
/// Non-finite taps follow TensorFlow's `MaxPool` (measured with TF 2.21): the maximum starts at
/// `-Float.greatestFiniteMagnitude` (Eigen's `lowest()`), not `-inf`, and NaN taps are skipped. So
/// a NaN among finite taps is dropped, a window of nothing but NaN and `-inf` gives
/// `-greatestFiniteMagnitude`, and `+inf` wins.
public struct MaxPool2DOp: OperationDefinition {
    public let window: Window2D

    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "max_pool2d" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .window }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1)
        let x = shapes[0]
        try require(x.count == 4, "a 4-D NHWC input (batch, height, width, channels)")
        try require(Array(x[1...2]) == window.inputSize, "spatial size \(window.inputSize)")
        return [[x[0]] + window.outputSize + [x[3]]]
    }

    // Specialized for the interpreter's two accumulators: called through the existential, the
    // generic body would otherwise run unspecialized (several times slower).
    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (x, shape) = (inputs[0], outputShapes[0])
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        var maximum = -Float.greatestFiniteMagnitude
                        for py in 0..<window.size[0] {
                            let iy = oy * window.strides[0] - window.padBefore[0] + py
                            guard iy >= 0 && iy < height else { continue }
                            for px in 0..<window.size[1] {
                                let ix = ox * window.strides[1] - window.padBefore[1] + px
                                guard ix >= 0 && ix < width else { continue }
                                let tap = x.scalars[((b * height + iy) * width + ix) * channels + c]
                                if tap > maximum { maximum = tap }  // NaN skipped
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * channels + c] = maximum
                    }
                }
            }
        }
        return [Tensor(shape: shape, scalars: out)]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[0]].shape
        return .stage(.maxPool(window, batch: x[0], channels: x[3]))
    }

    /// Each output's gradient goes to its window's maximal tap.
    public func gradients(of node: GraphNode, outputGradients: [ValueID?], needed: [Bool],
                          into builder: inout GraphBuilder) throws -> [ValueID?] {
        guard let dy = outputGradients[0], needed[0] else { return [nil] }
        return [try builder.apply(Operation(MaxPool2DGradOp(window: window)), [dy, node.inputs[0]])]
    }
}
