import GraphJITIR

extension Dense: KerasLayer {
    static var kerasClassName: String { "Dense" }

    static func make(from config: KerasLayerConfig) throws -> Dense {
        try config.requireNull(["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                "bias_constraint", "lora_rank", "quantization_config"],
                               "GraphJIT's Dense has no regularizers, constraints, LoRA or quantization")
        return Dense(units: try config.int("units"), activation: try config.activation(),
                     useBias: try config.bool("use_bias", default: true), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] {
        [("units", .int(units)), ("activation", .string(activation.kerasName)), ("use_bias", .bool(useBias))]
    }

    var kerasVariables: [KerasVariable] { KerasVariable.ownVariables(useBias ? ["kernel", "bias"] : ["kernel"]) }
}
