import GraphJITIR

extension Flatten: KerasLayer {
    static var kerasClassName: String { "Flatten" }

    static func make(from config: KerasLayerConfig) throws -> Flatten {
        try config.requireChannelsLast()
        return Flatten(name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("data_format", .string("channels_last"))] }

    var kerasVariables: [KerasVariable] { [] }
}
