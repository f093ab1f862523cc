import GraphJITIR

/// One weight as the model stores it: its name, its number of values and the bytes they take.
struct StoredWeight: Sendable, Hashable {
    /// The weight's name in the parameter store (`dense.kernel`).
    let name: String
    /// Its number of values.
    let values: Int
    /// Bytes per value: 1 for an int8 kernel, 4 for float32.
    let bytesPerValue: Int
    /// Whether it belongs to a quantized layer (the quantized kernel or its scale), which Keras
    /// counts as non-trainable.
    let isQuantized: Bool

    /// The bytes the weight takes.
    var bytes: Int { values * bytesPerValue }
}

extension Model {
    /// Every weight as stored: an int8 kernel (the `kernel` beside a `kernel_scale`) at 1 byte a
    /// value, its scale and every other weight at 4.
    func storedWeights() throws -> [StoredWeight] {
        let specs = try makeGraph(batchSize: 1).parameters
        let scales = Set(specs.map(\.name).filter { $0.hasSuffix(".kernel_scale") })
        let int8Kernels = Set(scales.map { String($0.dropLast("_scale".count)) })
        return specs.map { spec in
            StoredWeight(name: spec.name, values: spec.shape.elementCount,
                         bytesPerValue: int8Kernels.contains(spec.name) ? 1 : 4,
                         isQuantized: scales.contains(spec.name) || int8Kernels.contains(spec.name))
        }
    }

    /// The bytes the model's weights take as GraphJIT stores them: an int8 kernel 1 byte a value,
    /// every other weight (a kernel's scales included) 4. The float32 model's figure is its
    /// parameter count times 4.
    /// - Throws: what building the model's graph throws.
    public func weightBytes() throws -> Int {
        try storedWeights().reduce(0) { $0 + $1.bytes }
    }
}
