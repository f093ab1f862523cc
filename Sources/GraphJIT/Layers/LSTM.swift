import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// A long short-term memory layer over `(batch, timesteps, features)`, as `keras.layers.LSTM`.
///
/// Weights, in Keras's layout and gate order (i, f, c, o): `kernel` `(features, 4·units)`,
/// glorot-uniform; `recurrent_kernel` `(units, 4·units)`, orthogonal; `bias` `(4·units)`, zeros but
/// ones on the forget gate (Keras's `unit_forget_bias=True`). State starts at zero.
public final class LSTM: Layer {
    /// The number of output features (Keras's `units`).
    public let units: Int
    /// The activation applied to the output (Keras's `activation`).
    public let activation: ActivationFunction
    /// The gates' activation (Keras's `recurrent_activation`).
    public let recurrentActivation: ActivationFunction
    /// Whether every step's output is returned, `(batch, timesteps, units)`, or only the last.
    public let returnSequences: Bool
    /// Whether a bias is added (Keras's `use_bias`).
    public let useBias: Bool
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// How the input kernel (every timestep's projection, one matmul) is stored and multiplied,
    /// `nil` for float32; the recurrent kernel stays float32. GraphJIT's own (Keras does not quantize
    /// LSTMs): each timestep's input row is quantized as an int8 Dense layer's is. Set by
    /// ``Model/quantized(_:layers:)`` with `.lstm`, not by hand.
    public let quantization: QuantizationMode?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "lstm" }

    /// An LSTM of `units` cells; `returnSequences` keeps every step's output (batch, timesteps, units)
    /// instead of the last one.
    public init(units: Int, activation: ActivationFunction = .tanh,
                recurrentActivation: ActivationFunction = .sigmoid, returnSequences: Bool = false,
                useBias: Bool = true, name: String? = nil, quantization: QuantizationMode? = nil) {
        self.quantization = quantization
        self.units = units
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
        self.useBias = useBias
        self.name = name
    }

    /// Keras's positional form: `LSTM(50, returnSequences: true)`.
    public convenience init(_ units: Int, activation: ActivationFunction = .tanh,
                            recurrentActivation: ActivationFunction = .sigmoid, returnSequences: Bool = false,
                            useBias: Bool = true, name: String? = nil) {
        self.init(units: units, activation: activation, recurrentActivation: recurrentActivation,
                  returnSequences: returnSequences, useBias: useBias, name: name)
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(units > 0, "units must be positive, got \(units)", in: builder)
        try requireConfiguration(units <= Int.max / 4, "units \(units) is too large: the kernels have 4·units columns",
                                 in: builder)
        guard let elementwise = activation.elementwise, let recurrentElementwise = recurrentActivation.elementwise else {
            throw GraphError.invalidConfiguration(layer: builder.scope, reason: "activations must be elementwise (not softmax)")
        }
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count == 3, inputs,
                         expected: "a 3-D input (batch, timesteps, features); got a \(shape.count)-D one",
                         in: builder)
        let features = shape[2]
        let kernel = try builder.parameter("kernel", shape: [features, 4 * units],
                                           initializer: .glorotUniform(fanIn: features, fanOut: 4 * units))
        let recurrentKernel = try builder.parameter("recurrent_kernel", shape: [units, 4 * units],
                                                    initializer: .orthogonal)
        var projected = try builder.kernelProduct(x, kernel: kernel, quantization: quantization)
        if useBias {
            let bias = try builder.parameter("bias", shape: [4 * units], initializer: .unitForgetBias(units: units))
            projected = try builder.apply(.biasAdd, [projected, bias])
        }
        let attributes = LSTMAttributes(units: units, activation: elementwise,
                                        recurrentActivation: recurrentElementwise,
                                        returnSequences: returnSequences)
        return try builder.apply(.lstm(attributes), [projected, recurrentKernel])
    }
}
