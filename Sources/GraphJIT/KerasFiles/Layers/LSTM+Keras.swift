import GraphJITIR

extension LSTM: KerasLayer {
    static var kerasClassName: String { "LSTM" }

    static func make(from config: KerasLayerConfig) throws -> LSTM {
        for flag in ["return_state", "go_backwards", "stateful"] {
            try config.require(flag, isOneOf: [.bool(false)], "GraphJIT's LSTM runs forward, stateless, without returning its state")
        }
        for rate in ["dropout", "recurrent_dropout"] {
            try config.require(rate, isOneOf: [.int(0), .number("0.0")], "GraphJIT's LSTM has no internal dropout")
        }
        try config.requireNull(["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                                "kernel_constraint", "recurrent_constraint", "bias_constraint"],
                               "GraphJIT's LSTM has no regularizers or constraints")
        return LSTM(units: try config.int("units"), activation: try config.activation(default: "tanh"),
                    recurrentActivation: try config.activation("recurrent_activation", default: "sigmoid"),
                    returnSequences: try config.bool("return_sequences", default: false),
                    useBias: try config.bool("use_bias", default: true), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] {
        [("units", .int(units)), ("activation", .string(activation.kerasName)),
         ("recurrent_activation", .string(recurrentActivation.kerasName)), ("use_bias", .bool(useBias)),
         ("unit_forget_bias", .bool(true)), ("return_sequences", .bool(returnSequences)), ("return_state", .bool(false)),
         ("go_backwards", .bool(false)), ("stateful", .bool(false)), ("unroll", .bool(false))]
    }

    /// An LSTM keeps its weights in its cell (`lstm/cell/vars/0..2`).
    var kerasVariables: [KerasVariable] {
        KerasVariable.ownVariables(useBias ? ["kernel", "recurrent_kernel", "bias"] : ["kernel", "recurrent_kernel"], under: ["cell"])
    }
}
