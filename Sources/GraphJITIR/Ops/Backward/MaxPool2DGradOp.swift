/// Max pooling's backward pass: each output gradient goes to the first maximal tap of its window
/// (the first in row-major window order, NaN taps skipped, as the forward pass chooses it); a
/// window with no tap above `-greatestFiniteMagnitude` passes nothing. Inputs: `dy`, the pool's input `x`.
public struct MaxPool2DGradOp: OperationDefinition {
    /// The forward pool's window: its size, strides, padding and spatial sizes.
    public let window: Window2D

    /// Creates the backward pass of the max pooling over `window`.
    public init(window: Window2D) { self.window = window }

    public var mnemonic: String { "max_pool2d_grad" }
    public var attributeDescription: String { window.description }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 2)
        let (dy, x) = (shapes[0], shapes[1])
        try require(x.count == 4 && Array(x[1...2]) == window.inputSize
                    && dy == [x[0]] + window.outputSize + [x[3]], "dy \([x.first ?? 0] + window.outputSize) and x of spatial size \(window.inputSize)")
        return [x]
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (dy, x) = (inputs[0], inputs[1])
        let (batch, channels) = (x.shape[0], x.shape[3])
        let (oh, ow) = (window.outputSize[0], window.outputSize[1])
        let forward = MaxPool2DOp(window: window)
        var out = [A](repeating: 0, count: x.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        if let best = forward.maximumTap(of: x, image: b, row: oy, column: ox, channel: c).index {
                            out[best] += A(dy.scalars[((b * oh + oy) * ow + ox) * channels + c])
                        }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, uncheckedScalars: out.map { Float($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let x = graph[node.inputs[1]].shape
        return .anchor(.routine(RoutineLowering("maxpool_grad_nhwc", [
            .input(node.inputs[0]), .input(node.inputs[1]), .int(x[0]), .int(x[1]), .int(x[2]), .int(x[3]),
            .int(window.size[0]), .int(window.size[1]), .int(window.strides[0]), .int(window.strides[1]),
            .int(window.padBefore[0]), .int(window.padBefore[1]), .int(window.outputSize[0]), .int(window.outputSize[1]),
            .output(node.output),
        ])))
    }
}
