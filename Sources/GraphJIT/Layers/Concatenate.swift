import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Concatenates its inputs along one axis, as `keras.layers.Concatenate`.
public final class Concatenate: Layer {
    /// The axis, counted on the full shape (batch included); negative counts from the end.
    public let axis: Int
    /// The name given by the user, or `nil` for Keras's automatic name.
    public let name: String?
    /// The base of Keras's automatic names for this layer.
    public var kerasBaseName: String { "concatenate" }

    /// Concatenates its inputs along `axis` (the last by default).
    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        self.name = name
    }

    /// Lowers the layer into graph operations (see `Layer`).
    public func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID {
        try requireInput(inputs.count >= 2, inputs, expected: "at least two inputs", in: builder)
        let rank = builder.shape(of: inputs[0]).count
        let resolved = axis < 0 ? axis + rank : axis
        try requireConfiguration(resolved >= 1 && resolved < rank,
                                 "axis \(axis) is not a non-batch axis of rank-\(rank) inputs", in: builder)
        return try builder.apply(.concatenate(axis: resolved), inputs)
    }
}
