import GraphJITIR

/// The tutorial's custom layer: any config entry whose `class_name` is `AttentionLayer` with a
/// `units` option, whatever package registered it (`registered_name: "MyLayers>AttentionLayer"`).
extension AttentionLayer: KerasLayer {
    static var kerasClassName: String { "AttentionLayer" }

    static func make(from config: KerasLayerConfig) throws -> AttentionLayer {
        AttentionLayer(units: try config.int("units"), name: config.name)
    }

    func kerasOptions() throws -> [(key: String, value: JSON)] { [("units", .int(units))] }

    /// Its sublayers `W` and `V` keep their own weights (`attention_layer/W/vars/0`, ...), in the
    /// order the layer creates them.
    var kerasVariables: [KerasVariable] {
        KerasVariable.ownVariables(["W.kernel", "W.bias"], under: ["W"]) + KerasVariable.ownVariables(["V.kernel", "V.bias"], under: ["V"])
    }
}
