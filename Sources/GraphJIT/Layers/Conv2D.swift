import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// A 2-D convolution over NHWC inputs, as `keras.layers.Conv2D`.
///
/// Weights: `kernel` `(kernelHeight, kernelWidth, inputChannels, filters)` (HWIO, Keras's layout),
/// glorot-uniform; `bias` `(filters)`, zeros.
public final class Conv2D: Layer {
    /// The number of output channels.
    public let filters: Int
    /// The window's height and width.
    public let kernelSize: [Int]
    /// The step between windows, down and across.
    public let strides: [Int]
    /// `valid` (windows inside the input) or `same` (padded to `ceil(n / stride)` outputs).
    public let padding: Padding
    /// The activation applied to the output (Keras's `activation`).
    public let activation: ActivationFunction
    /// Whether a bias is added (Keras's `use_bias`).
    public let useBias: Bool
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// How the kernel is stored and multiplied, `nil` for float32. GraphJIT's own (Keras does not
    /// quantize convolutions): each output position's patch is quantized as an int8 Dense layer's
    /// input row is, against the kernel quantized per filter. Set by
    /// ``Model/quantized(_:layers:)`` with `.conv2D`, not by hand.
    public let quantization: QuantizationMode?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "conv2d" }

    /// A convolution of `filters` output channels over `kernelSize` (height, width) windows, moved by
    /// `strides`, with `valid` or `same` padding; `activation` after the bias.
    public init(filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid,
                activation: ActivationFunction = .linear, useBias: Bool = true, name: String? = nil,
                quantization: QuantizationMode? = nil) {
        self.quantization = quantization
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        self.name = name
    }

    /// Keras's positional form with square windows: `Conv2D(32, kernelSize: 3, activation: .relu)`.
    public convenience init(_ filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                            activation: ActivationFunction = .linear, useBias: Bool = true, name: String? = nil) {
        self.init(filters: filters, kernelSize: [kernelSize, kernelSize], strides: [strides, strides], padding: padding,
                  activation: activation, useBias: useBias, name: name)
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(filters > 0, "filters must be positive, got \(filters)", in: builder)
        try requireConfiguration(kernelSize.count == 2 && kernelSize.allSatisfy { $0 > 0 },
                                 "kernelSize must be two positive extents, got \(kernelSize)", in: builder)
        try requireConfiguration(strides.count == 2 && strides.allSatisfy { $0 > 0 },
                                 "strides must be two positive steps, got \(strides)", in: builder)
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count == 4, inputs,
                         expected: "a 4-D input (batch, height, width, channels)", in: builder)
        guard let window = Window2D(size: kernelSize, strides: strides, padding: padding,
                                    inputSize: [shape[1], shape[2]]) else {
            throw GraphError.shapeMismatch(
                layer: builder.scope, operation: kerasBaseName, inputShapes: [shape],
                expected: padding == .valid ? "height and width at least the kernel size \(kernelSize) with padding 'valid'"
                    : "a kernel \(kernelSize) and strides \(strides) whose padding fits in Int")
        }
        let channels = shape[3]
        // Saturating: an absurd kernel's weight shape is refused by `parameter` right after.
        let receptive = Int.saturatingProduct(kernelSize[0], kernelSize[1])
        let kernel = try builder.parameter(
            "kernel", shape: kernelSize + [channels, filters],
            initializer: .glorotUniform(fanIn: Int.saturatingProduct(receptive, channels),
                                       fanOut: Int.saturatingProduct(receptive, filters)))
        var y = quantization == nil ? try builder.apply(.conv2d(window), [x, kernel])
            : try builder.kernelProduct(try builder.apply(Operation(Im2ColOp(window: window)), [x]), kernel: kernel,
                                        quantization: quantization)
        if useBias {
            let bias = try builder.parameter("bias", shape: [filters], initializer: .zeros)
            y = try builder.apply(.biasAdd, [y, bias])
        }
        return try applyActivation(activation, to: y, in: &builder)
    }
}
