import GraphJITIR

extension Dense: KerasLayer {
    static var kerasClassName: String { "Dense" }

    static func make(from config: KerasLayerConfig) throws -> Dense {
        try config.requireNull(["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                "bias_constraint", "lora_rank"],
                               "GraphJIT's Dense has no regularizers, constraints or LoRA")
        return Dense(units: try config.int("units"), activation: try config.activation(),
                     useBias: try config.bool("use_bias", default: true), name: config.name,
                     quantization: try KerasQuantization.mode(of: config))
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] {
        [("units", .int(units)), ("activation", .string(activation.kerasName)), ("use_bias", .bool(useBias))]
            + (quantization.map { [("quantization_config", KerasQuantization.quantizationConfig($0))] } ?? [])
    }

    var kerasDTypePolicy: JSON { quantization.map(KerasQuantization.dtypePolicy) ?? KerasFileWriter.dtypePolicy }

    /// Keras's `vars`: kernel, bias; an int8 layer's kernel (int8) and `kernel_scale` after them,
    /// neither trained, so Keras lists the bias first in `layer.weights`.
    var kerasVariables: [KerasVariable] {
        guard quantization != nil else { return KerasVariable.ownVariables(useBias ? ["kernel", "bias"] : ["kernel"]) }
        let stored = KerasVariable.ownVariables(useBias ? ["kernel", "bias", "kernel_scale"] : ["kernel", "kernel_scale"])
        let kernel = KerasVariable(weight: "kernel", path: stored[0].path, isTrainable: false, storage: .int8)
        let scale = KerasVariable(weight: "kernel_scale", path: stored.last!.path, isTrainable: false)
        return (useBias ? [stored[1]] : []) + [kernel, scale]
    }
}
