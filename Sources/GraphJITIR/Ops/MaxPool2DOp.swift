/// NHWC max pooling `x[B, H, W, C] -> [B, OH, OW, C]`; padded taps are ignored (Keras `same`).
///
/// Non-finite taps follow TensorFlow's `MaxPool` (measured with TF 2.21): the maximum starts at
/// `-Float.greatestFiniteMagnitude` (Eigen's `lowest()`), not `-inf`, and NaN taps are skipped. So
/// a NaN among finite taps is dropped, a window of nothing but NaN and `-inf` gives
/// `-greatestFiniteMagnitude`, and `+inf` wins.
public struct MaxPool2DOp: OperationDefinition {
    /// The pooling window's geometry: its size, strides, padding and spatial sizes.
    public let window: Window2D

    /// Creates a max pooling over `window`; the input's spatial size must be the window's input size.
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
        let (batch, channels) = (x.shape[0], x.shape[3])
        let (oh, ow) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        out[((b * oh + oy) * ow + ox) * channels + c] = maximumTap(of: x, image: b, row: oy, column: ox,
                                                                                   channel: c).value
                    }
                }
            }
        }
        return [Tensor(shape: shape, uncheckedScalars: out)]
    }

    /// The maximum of one channel of one window of the NHWC tensor `x` and the index in `x` of the
    /// first tap holding it (`nil` when no tap exceeds the starting value): TensorFlow's rule, the
    /// forward value and where the backward pass sends the gradient.
    func maximumTap(of x: Tensor, image b: Int, row oy: Int, column ox: Int, channel c: Int) -> (value: Float, index: Int?) {
        let (height, width, channels) = (x.shape[1], x.shape[2], x.shape[3])
        var maximum = -Float.greatestFiniteMagnitude
        var best: Int?
        window.forEachTap(outputRow: oy, column: ox) { _, _, iy, ix in
            let at = ((b * height + iy) * width + ix) * channels + c
            if x.scalars[at] > maximum {  // NaN skipped; the first maximum wins
                maximum = x.scalars[at]
                best = at
            }
        }
        return (maximum, best)
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
