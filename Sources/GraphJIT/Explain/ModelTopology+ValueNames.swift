import GraphJITIR

extension ModelTopology {
    /// The names under which a model's computed values can be asked for, in graph order.
    ///
    /// - A layer's output is named by the layer (`dense`, `attention_layer`); a shared layer's
    ///   later calls add `#1`, `#2`, ... (`dense#1`). A sublayer's output (the last value it
    ///   computes) is named by its scope (`attention_layer.W`).
    /// - Every other value is `<layer>/<operation>`: `attention_layer/softmax` is the attention
    ///   layer's weights over time, `attention_layer.W/tanh` its hidden projection,
    ///   `conv2d/conv2d` a convolution before its bias and activation. A repeated operation in one
    ///   layer adds `_1`, `_2`; a node's further outputs add `:1`, `:2` (an LSTM's cell states).
    ///
    /// Layer names cannot contain `/`, so no name is both.
    func valueNames(in graph: Graph, callOutputs: [ValueID]) -> [(name: String, value: ValueID)] {
        var layerOutputNames: [ValueID: String] = [:]
        var callCounts: [String: Int] = [:]
        for (call, output) in zip(calls, callOutputs) {
            let count = callCounts[call.name, default: 0]
            callCounts[call.name] = count + 1
            if layerOutputNames[output] == nil { layerOutputNames[output] = count == 0 ? call.name : "\(call.name)#\(count)" }
        }
        let callNames = Set(calls.map(\.name))
        var lastNodeOfSublayer: [String: Int] = [:]
        for node in graph.nodes where !callNames.contains(node.layer) { lastNodeOfSublayer[node.layer] = node.index }
        var operationCounts: [String: Int] = [:]
        var named: [(name: String, value: ValueID)] = []
        for node in graph.nodes {
            let base = "\(node.layer)/\(node.operation.mnemonic)"
            let count = operationCounts[base, default: 0]
            operationCounts[base] = count + 1
            let stem = count == 0 ? base : "\(base)_\(count)"
            for (position, value) in node.outputs.enumerated() {
                named.append((position == 0 ? stem : "\(stem):\(position)", value))
                if let layerName = layerOutputNames[value] { named.append((layerName, value)) }
            }
            if lastNodeOfSublayer[node.layer] == node.index, layerOutputNames[node.output] == nil {
                named.append((node.layer, node.output))
            }
        }
        return named
    }
}
