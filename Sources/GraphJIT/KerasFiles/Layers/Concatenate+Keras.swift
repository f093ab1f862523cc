import GraphJITIR

extension Concatenate: KerasLayer {
    static var kerasClassName: String { "Concatenate" }

    static func make(from config: KerasLayerConfig) throws -> Concatenate {
        Concatenate(axis: try config.int("axis", default: -1), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("axis", .int(axis))] }

    var kerasVariables: [KerasVariable] { [] }
}
