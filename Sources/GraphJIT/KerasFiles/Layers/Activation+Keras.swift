import GraphJITIR

extension Activation: KerasLayer {
    static var kerasClassName: String { "Activation" }

    static func make(from config: KerasLayerConfig) throws -> Activation {
        Activation(try config.activation(), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("activation", .string(function.kerasName))] }

    var kerasVariables: [KerasVariable] { [] }
}
