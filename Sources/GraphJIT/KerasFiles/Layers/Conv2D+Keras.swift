import GraphJITIR

extension Conv2D: KerasLayer {
    static var kerasClassName: String { "Conv2D" }

    static func make(from config: KerasLayerConfig) throws -> Conv2D {
        try config.requireChannelsLast()
        try config.require("dilation_rate", isOneOf: [.int(1), .ints([1, 1])], "GraphJIT's Conv2D has no dilation")
        try config.require("groups", isOneOf: [.int(1)], "GraphJIT's Conv2D has no grouped convolution")
        try config.requireNull(["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                "bias_constraint", "lora_rank"],
                               "GraphJIT's Conv2D has no regularizers, constraints or LoRA")
        return Conv2D(filters: try config.int("filters"), kernelSize: try config.pair("kernel_size"),
                      strides: try config.pair("strides", default: [1, 1]), padding: try config.padding(),
                      activation: try config.activation(), useBias: try config.bool("use_bias", default: true),
                      name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] {
        [("filters", .int(filters)), ("kernel_size", .ints(kernelSize)), ("strides", .ints(strides)),
         ("padding", .string(padding.rawValue)), ("data_format", .string("channels_last")),
         ("dilation_rate", .ints([1, 1])), ("groups", .int(1)), ("activation", .string(activation.kerasName)),
         ("use_bias", .bool(useBias))]
    }

    var kerasVariables: [KerasVariable] { KerasVariable.ownVariables(useBias ? ["kernel", "bias"] : ["kernel"]) }
}
