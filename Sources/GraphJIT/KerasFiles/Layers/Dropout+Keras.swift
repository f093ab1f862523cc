import GraphJITIR

extension Dropout: KerasLayer {
    static var kerasClassName: String { "Dropout" }

    static func make(from config: KerasLayerConfig) throws -> Dropout {
        try config.requireNull(["noise_shape"], "GraphJIT's Dropout drops single units")
        return Dropout(rate: try config.double("rate", default: 0), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("rate", .double(rate))] }

    var kerasVariables: [KerasVariable] { [] }
}
