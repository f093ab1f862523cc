import Foundation
import GraphJIT

/// A tutorial model's compressed variants, `model.quantized(mode)` for every mode, beside the
/// float32 model: the benchmark times each at every batch size and measures, once per model, how
/// far its outputs move from the float32 model's. `beyondKeras` holds the variants that compress
/// every layer GraphJIT can (`layers: .all`), for models where that is more than Keras's Dense
/// layers (the CNN's Conv2D, the LSTM's input kernel).
struct QuantizedVariants {
    let name: String
    let float32: Model
    let variants: [(mode: QuantizationMode, model: Model)]
    let beyondKeras: [(mode: QuantizationMode, model: Model)]

    init(_ model: Model, name: String) throws {
        self.name = name
        self.float32 = model
        self.variants = try QuantizationMode.allCases.map { ($0, try model.quantized($0)) }
        self.beyondKeras = try Swift.zip(QuantizationMode.allCases, variants).compactMap { mode, keras in
            let all = try model.quantized(mode, layers: .all)
            return try all.weightBytes() == keras.model.weightBytes() ? nil : (mode, all)
        }
    }

    /// Each variant against the float32 model on `samples` seeded standard-normal inputs: the
    /// largest absolute difference over all outputs, the top-1 agreement of each output, and the
    /// weight bytes. With a directory, the inputs are written there as
    /// `io/<model>.accuracy.input.npy` for the peers.
    func accuracy(samples: Int, exportingTo directory: URL?) throws -> [QuantizationRecord] {
        try accuracy(of: variants, samples: samples, exportingTo: directory)
    }

    /// ``accuracy(samples:exportingTo:)`` of the given variants.
    func accuracy(of variants: [(mode: QuantizationMode, model: Model)], samples: Int, exportingTo directory: URL?)
        throws -> [QuantizationRecord] {
        var generator = SeededGenerator(seed: 2)
        let inputs = try float32.inputSignature().map { generator.normalTensor(shape: [samples] + $0.shape) }
        if let directory, inputs.count == 1 {
            let io = directory.appendingPathComponent("io")
            try FileManager.default.createDirectory(at: io, withIntermediateDirectories: true)
            try NPY.write(inputs[0], to: io.appendingPathComponent("\(name).accuracy.input.npy"))
        }
        let expected = try float32.predict(inputs, batchSize: 64)
        return try variants.map { mode, model in
            let outputs = try model.predict(inputs, batchSize: 64)
            let largest = Swift.zip(outputs, expected).map { Difference($0, $1).maxAbsolute }.max() ?? 0
            let agreement = Swift.zip(outputs, expected).map { output, reference in
                let matches = Swift.zip(output.argmax(), reference.argmax()).filter { $0 == $1 }.count
                return Double(matches) / Double(samples)
            }
            return QuantizationRecord(model: name, mode: mode.rawValue, weight_bytes_fp32: try float32.weightBytes(),
                                      weight_bytes: try model.weightBytes(), max_abs_diff_vs_fp32: Double(largest),
                                      top1_agreement: agreement, samples: samples)
        }
    }
}
