import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Randomly zeroes a fraction `rate` of its inputs during training, as `keras.layers.Dropout`.
///
/// At inference (every graph GraphJIT builds today) it is the identity and adds no operation;
/// Keras scales the kept units by `1 / (1 - rate)` during training only, so inference outputs
/// are unscaled too. It has no weights.
public final class Dropout: Layer {
    /// The fraction of the input units to drop, in `[0, 1)`.
    public let rate: Double
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "dropout" }

    /// Drops a fraction `rate` of the units while training (the identity at inference).
    public init(rate: Double, name: String? = nil) {
        self.rate = rate
        self.name = name
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireConfiguration(rate >= 0 && rate < 1, "rate must be in [0, 1), got \(rate)", in: builder)
        return try singleInput(inputs, in: builder)
    }
}
