import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Applies an activation function, as `keras.layers.Activation`.
public final class Activation: Layer {
    public let function: ActivationFunction
    public let name: String?
    public var kerasBaseName: String { "activation" }

    /// Applies `function` to its input.
    public init(_ function: ActivationFunction, name: String? = nil) {
        self.function = function
        self.name = name
    }

    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try applyActivation(function, to: singleInput(inputs, in: builder), in: &builder)
    }
}
