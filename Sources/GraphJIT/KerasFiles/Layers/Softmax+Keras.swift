import GraphJITIR

extension Softmax: KerasLayer {
    static var kerasClassName: String { "Softmax" }

    static func make(from config: KerasLayerConfig) throws -> Softmax {
        Softmax(axis: try config.int("axis", default: -1), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("axis", .int(axis))] }

    var kerasVariables: [KerasVariable] { [] }
}
