import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Applies an activation function, as `keras.layers.Activation`.
public final class Activation: Layer {
    /// The activation applied.
    public let function: ActivationFunction
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "activation" }

    /// Applies `function` to its input.
    public init(_ function: ActivationFunction, name: String? = nil) {
        self.function = function
        self.name = name
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try applyActivation(function, to: singleInput(inputs, in: builder), in: &builder)
    }
}
