import GraphJITIR

extension MaxPooling2D: KerasLayer {
    static var kerasClassName: String { "MaxPooling2D" }

    static func make(from config: KerasLayerConfig) throws -> MaxPooling2D {
        try config.requireChannelsLast()
        let poolSize = try config.pair("pool_size", default: [2, 2])
        return MaxPooling2D(poolSize: poolSize, strides: try config.pair("strides", default: poolSize),
                            padding: try config.padding(), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] {
        [("pool_size", .ints(poolSize)), ("padding", .string(padding.rawValue)), ("strides", .ints(strides)),
         ("data_format", .string("channels_last"))]
    }

    var kerasVariables: [KerasVariable] { [] }
}
