import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// A Keras-style layer: configuration plus a lowering into static-graph operations.
///
/// Layers hold configuration only. Their weights live in the model's `ParameterStore` under
/// `<layer name>.<weight>`, and every shape is inferred from the input shape, so no layer asks
/// for its input size. Layers are classes because identity matters: applying one layer object
/// twice shares its weights, as in Keras.
public protocol Layer: AnyObject {
    /// The Keras base name used for automatic naming (`dense`, `conv2d`, ...).
    var kerasBaseName: String { get }
    /// The name given by the user, or `nil` for an automatic Keras-style name.
    var name: String? { get }
    /// Lowers the layer applied to `inputs` (full shapes, batch first) into `builder`, whose
    /// `GraphBuilder.scope` is this layer's name. Returns the output value.
    func lower(_ inputs: [ValueID], into builder: inout GraphBuilder) throws -> ValueID
}

// MARK: - Functional application

extension Layer {
    /// Applies the layer to a symbolic tensor (functional API): `Dense(units: 10)(x)`.
    public func callAsFunction(_ input: SymbolicTensor) -> SymbolicTensor {
        SymbolicTensor(layer: self, inputs: [input])
    }

    /// Applies the layer to several symbolic tensors: `Concatenate()([a, b])`.
    public func callAsFunction(_ inputs: [SymbolicTensor]) -> SymbolicTensor {
        SymbolicTensor(layer: self, inputs: inputs)
    }
}

// MARK: - Helpers for lowering

extension Layer {
    /// Throws `GraphError.invalidConfiguration` unless `condition` holds.
    func requireConfiguration(_ condition: Bool, _ reason: @autoclosure () -> String,
                              in builder: GraphBuilder) throws {
        if !condition { throw GraphError.invalidConfiguration(layer: builder.scope, reason: reason()) }
    }

    /// Throws `GraphError.shapeMismatch` for the layer's inputs unless `condition` holds.
    func requireInput(_ condition: Bool, _ inputs: [ValueID], expected: @autoclosure () -> String,
                      in builder: GraphBuilder) throws {
        if !condition {
            throw GraphError.shapeMismatch(layer: builder.scope, operation: kerasBaseName,
                                           inputShapes: inputs.map { builder.shape(of: $0) },
                                           expected: expected())
        }
    }

    /// Requires exactly one input and returns it.
    func singleInput(_ inputs: [ValueID], in builder: GraphBuilder) throws -> ValueID {
        try requireInput(inputs.count == 1, inputs, expected: "exactly one input", in: builder)
        return inputs[0]
    }

    /// Applies an activation function: elementwise ones as ``Operation/activation(_:)``,
    /// softmax over the last axis; linear adds nothing.
    func applyActivation(_ function: ActivationFunction, to value: ValueID,
                         in builder: inout GraphBuilder) throws -> ValueID {
        switch function {
        case .linear: value
        case .softmax: try builder.apply(.softmax(axis: builder.shape(of: value).count - 1), [value])
        case let .elementwise(elementwise): try builder.apply(.activation(elementwise), [value])
        }
    }
}
