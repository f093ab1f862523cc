import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The tutorial's additive attention layer over `(batch, timesteps, features)`:
///
///     score   = V(tanh(W(x)))              # W = Dense(units), V = Dense(1)
///     weights = softmax(score, axis: time)
///     context = sum over time of weights * x   # (batch, features)
///
/// Weights: `W.kernel`, `W.bias`, `V.kernel`, `V.bias`, named under the layer
/// (`attention_layer.W.kernel`, ...).
public final class AttentionLayer: Layer {
    /// The number of output features (Keras's `units`).
    public let units: Int
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "attention_layer" }
    /// How the `W` and `V` sublayers' kernels are stored (see `Dense.quantization`).
    public let quantization: QuantizationMode?

    /// The tutorial's additive attention with a hidden size of `units`; `quantization` is set by
    /// ``Model/quantized(_:layers:)``.
    public init(units: Int, name: String? = nil, quantization: QuantizationMode? = nil) {
        self.units = units
        self.name = name
        self.quantization = quantization
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(units > 0, "units must be positive, got \(units)", in: builder)
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count == 3, inputs,
                         expected: "a 3-D input (batch, timesteps, features)", in: builder)
        let layerScope = builder.scope
        defer { builder.scope = layerScope }

        builder.scope = layerScope + ".W"
        let hidden = try Dense(units: units, activation: .tanh, quantization: quantization).lower([x], into: &builder)
        builder.scope = layerScope + ".V"
        let score = try Dense(units: 1, quantization: quantization).lower([hidden], into: &builder)
        builder.scope = layerScope
        let weights = try builder.apply(.softmax(axis: 1), [score])
        return try builder.apply(.weightedSum(axis: 1), [weights, x])
    }
}
