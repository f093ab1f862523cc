import GraphJIT

/// A compiled model with its input and output buffers allocated once, so that timing it measures
/// `CompiledModel.run` alone: no tensor conversion and no allocation per call.
final class PreparedCall {
    let compiled: CompiledModel
    private let inputs: [UnsafeMutableBufferPointer<Float>]
    private let readOnlyInputs: [UnsafeBufferPointer<Float>]
    private let outputs: [UnsafeMutableBufferPointer<Float>]

    init(_ compiled: CompiledModel, inputs tensors: [Tensor]) {
        self.compiled = compiled
        self.inputs = tensors.map { tensor in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensor.elementCount)
            _ = buffer.initialize(from: tensor.scalars)
            return buffer
        }
        self.readOnlyInputs = inputs.map { UnsafeBufferPointer($0) }
        self.outputs = compiled.graph.outputs.map {
            UnsafeMutableBufferPointer<Float>.allocate(capacity: compiled.graph[$0].shape.elementCount)
        }
    }

    deinit {
        inputs.forEach { $0.deallocate() }
        outputs.forEach { $0.deallocate() }
    }

    /// One call of the compiled plan on the prepared buffers.
    func callAsFunction() throws {
        try compiled.run(inputs: readOnlyInputs, outputs: outputs)
    }
}
