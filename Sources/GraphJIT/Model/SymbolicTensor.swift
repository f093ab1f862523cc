import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Synchronization

/// A placeholder for a tensor in a model being declared with the functional API.
///
/// `Input(shape:)` makes one; applying a layer to symbolic tensors makes another. A ``Model``
/// collects the layers between its inputs and outputs. Shapes are inferred when the model is
/// built into a graph, where errors are thrown with the layer's name.
public final class SymbolicTensor: @unchecked Sendable {  // `origin` is written only by `deinit`, when
                                                          // no other reference to the tensor exists.
    /// Where the tensor comes from.
    enum Origin: @unchecked Sendable {  // Layers are configured once and never mutated afterwards.
        case input(shape: [Int], name: String?)
        case layer(any Layer, inputs: [SymbolicTensor])
    }

    private(set) var origin: Origin
    /// Creation order: layers are named in the order they are applied, as Keras does.
    let sequenceNumber: Int

    private static let counter = Atomic<Int>(0)

    init(origin: Origin) {
        self.origin = origin
        self.sequenceNumber = Self.counter.add(1, ordering: .relaxed).newValue
    }

    convenience init(layer: any Layer, inputs: [SymbolicTensor]) {
        self.init(origin: .layer(layer, inputs: inputs))
    }

    /// Releases the chain of tensors this one was computed from iteratively: released one by one,
    /// each freeing its inputs, a 100,000-layer chain would recurse that deep and overflow the stack.
    deinit {
        var pending = takeInputs()
        while var tensor = pending.popLast() {
            // Only a tensor nobody else holds dies here; take its inputs first so its deinit is shallow.
            if isKnownUniquelyReferenced(&tensor) { pending.append(contentsOf: tensor.takeInputs()) }
        }
    }

    /// Moves the inputs out of `origin` (leaving the array uniquely held by the caller).
    private func takeInputs() -> [SymbolicTensor] {
        guard case let .layer(_, inputs) = origin else { return [] }
        origin = .input(shape: [], name: nil)
        return inputs
    }
}

/// A model input of the given per-sample shape (the batch dimension is implicit), as `keras.Input`.
///
///     let x = Input(shape: [64])
///     let y = Dense(units: 10, activation: .softmax)(x)
///     let model = Model(inputs: [x], outputs: [y])
public func Input(shape: [Int], name: String? = nil) -> SymbolicTensor {  // swiftlint:disable:this identifier_name
    SymbolicTensor(origin: .input(shape: shape, name: name))
}
