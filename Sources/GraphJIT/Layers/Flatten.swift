import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Flattens every axis but the batch axis, as `keras.layers.Flatten`. Lowers to a view, never a copy.
public final class Flatten: Layer {
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "flatten" }

    /// Flattens every axis after the batch axis.
    public init(name: String? = nil) { self.name = name }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        let x = try singleInput(inputs, in: builder)
        let shape = builder.shape(of: x)
        try requireInput(shape.count >= 2, inputs, expected: "at least (batch, features)", in: builder)
        guard let features = shape.dropFirst().checkedElementCount else {
            throw GraphError.shapeMismatch(layer: builder.scope, operation: kerasBaseName, inputShapes: [shape],
                                           expected: "at most \(Int.max) features per sample")
        }
        return try builder.apply(.reshape([shape[0], features]), [x])
    }
}
