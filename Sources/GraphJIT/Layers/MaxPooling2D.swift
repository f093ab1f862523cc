import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// 2-D max pooling over NHWC inputs, as `keras.layers.MaxPooling2D`. Strides default to the pool size.
public final class MaxPooling2D: Layer {
    /// The pooling window's height and width.
    public let poolSize: [Int]
    /// The step between windows, down and across.
    public let strides: [Int]
    /// `valid` (windows inside the input) or `same` (padded to `ceil(n / stride)` outputs).
    public let padding: Padding
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "max_pooling2d" }

    /// The maximum over `poolSize` windows, moved by `strides` (the pool size when `nil`).
    public init(poolSize: [Int] = [2, 2], strides: [Int]? = nil, padding: Padding = .valid, name: String? = nil) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.name = name
    }

    /// Square pools: `MaxPooling2D(poolSize: 2)`.
    public convenience init(poolSize: Int, strides: Int? = nil, padding: Padding = .valid, name: String? = nil) {
        self.init(poolSize: [poolSize, poolSize], strides: strides.map { [$0, $0] }, padding: padding, name: name)
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(poolSize.count == 2 && poolSize.allSatisfy { $0 > 0 },
                                 "poolSize must be two positive extents, got \(poolSize)", in: builder)
        try requireConfiguration(strides.count == 2 && strides.allSatisfy { $0 > 0 },
                                 "strides must be two positive steps, got \(strides)", in: builder)
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count == 4, inputs,
                         expected: "a 4-D input (batch, height, width, channels)", in: builder)
        guard let window = Window2D(size: poolSize, strides: strides, padding: padding,
                                    inputSize: [shape[1], shape[2]]) else {
            throw GraphError.shapeMismatch(
                layer: builder.scope, operation: kerasBaseName, inputShapes: [shape],
                expected: padding == .valid ? "height and width at least the pool size \(poolSize) with padding 'valid'"
                    : "a pool size \(poolSize) and strides \(strides) whose padding fits in Int")
        }
        return try builder.apply(.maxPool2d(window), [x])
    }
}
