import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// A densely connected layer on the last axis: `activation(x · kernel + bias)`, as `keras.layers.Dense`.
///
/// Applied to an input of any rank, it acts on the last axis (a `(batch, T, F)` input gives
/// `(batch, T, units)`). Weights: `kernel` `(F, units)`, glorot-uniform; `bias` `(units)`, zeros.
public final class Dense: Layer {
    /// The number of output features (Keras's `units`).
    public let units: Int
    /// The activation applied to the output (Keras's `activation`).
    public let activation: ActivationFunction
    /// Whether a bias is added (Keras's `use_bias`).
    public let useBias: Bool
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// How the kernel is stored and multiplied: `nil` for float32, `.int8` once the model is
    /// quantized (``Model/quantized(_:layers:)``): then the weights are `kernel` (int8 values as floats),
    /// `bias` and `kernel_scale` `(units)`, as Keras's int8 Dense has them; `.bf16`: `kernel` holds
    /// bfloat16 values (as floats) and `bias`.
    public let quantization: QuantizationMode?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "dense" }

    /// A dense layer of `units` outputs; `activation` after the bias (linear by default).
    /// `quantization` is set by ``Model/quantized(_:layers:)``, not by hand.
    public init(units: Int, activation: ActivationFunction = .linear, useBias: Bool = true, name: String? = nil,
                quantization: QuantizationMode? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.name = name
        self.quantization = quantization
    }

    /// Keras's positional form: `Dense(128, activation: .relu)`.
    public convenience init(_ units: Int, activation: ActivationFunction = .linear, useBias: Bool = true,
                            name: String? = nil) {
        self.init(units: units, activation: activation, useBias: useBias, name: name)
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(units > 0, "units must be positive, got \(units)", in: builder)
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count >= 2, inputs, expected: "at least (batch, features)", in: builder)
        let features = shape[shape.count - 1]
        let kernel = try builder.parameter("kernel", shape: [features, units],
                                           initializer: .glorotUniform(fanIn: features, fanOut: units))
        var y = try builder.kernelProduct(x, kernel: kernel, quantization: quantization)
        if useBias {
            let bias = try builder.parameter("bias", shape: [units], initializer: .zeros)
            y = try builder.apply(.biasAdd, [y, bias])
        }
        return try applyActivation(activation, to: y, in: &builder)
    }
}
