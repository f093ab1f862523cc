import GraphJITIR

/// One weight as the model stores it: its name, its number of values and the bytes they take.
struct StoredWeight: Sendable, Hashable {
    /// The weight's name in the parameter store (`dense.kernel`).
    let name: String
    /// Its number of values.
    let values: Int
    /// Bytes per value: 1 for an int8 kernel, 2 for a bf16 one, 4 for float32.
    let bytesPerValue: Int
    /// Whether it belongs to a quantized layer (the quantized kernel or its scale), which Keras
    /// counts as non-trainable.
    let isQuantized: Bool

    /// The bytes the weight takes.
    var bytes: Int { values * bytesPerValue }
}

extension Model {
    /// Every weight as stored: an int8 kernel at 1 byte a value, a bf16 kernel at 2, an int8
    /// kernel's scale and every other weight at 4.
    func storedWeights() throws -> [StoredWeight] {
        let graph = try makeGraph(batchSize: 1)
        let kernels = Self.compressedKernels(in: graph)
        let scales = Set(kernels.values.compactMap(\.scale))
        return graph.parameters.map { spec in
            let mode = kernels[spec.name]?.mode
            return StoredWeight(name: spec.name, values: spec.shape.elementCount,
                                bytesPerValue: mode == .int8 ? 1 : mode == .bf16 ? 2 : 4,
                                isQuantized: mode != nil || scales.contains(spec.name))
        }
    }

    /// The bytes the model's weights take as GraphJIT stores them: an int8 kernel 1 byte a value,
    /// a bf16 kernel 2, every other weight (an int8 kernel's scales included) 4. The float32
    /// model's figure is its parameter count times 4.
    /// - Throws: what building the model's graph throws.
    public func weightBytes() throws -> Int {
        try storedWeights().reduce(0) { $0 + $1.bytes }
    }
}
