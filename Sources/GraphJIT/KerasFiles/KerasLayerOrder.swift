/// The order of a functional model's `model.layers` as Keras 3 computes it when it rebuilds a
/// model (keras/src/ops/function.py `map_graph`): layers by decreasing depth from the outputs,
/// ties broken by when a depth-first walk from the outputs first met them. A `.keras` file's
/// weight groups are numbered in this order, so a file GraphJIT writes lists its layers in it.
struct KerasLayerOrder {
    /// A call of a layer (or an input), the calls whose outputs it takes.
    struct Node {
        let operation: String
        let parents: [Int]
    }

    /// Layer and input names in Keras's order.
    let names: [String]

    /// `nodes` in any order; `outputs` are the nodes making the model's outputs, in order;
    /// `inputs` are the input nodes, in order (an input nothing uses still gets a place, last).
    init(nodes: [Node], outputs: [Int], inputs: [Int]) {
        // Depth-first from each output: nodes finished after their parents; operations indexed
        // when first met (before their parents). An explicit stack: a deep model must not
        // exhaust the thread's stack.
        var finished = Set<Int>()
        var started = Set<Int>()
        var ordered: [Int] = []
        var operationIndex: [String: Int] = [:]
        for output in outputs {
            var stack: [(node: Int, nextParent: Int)] = [(output, 0)]
            while let (node, nextParent) = stack.popLast() {
                if nextParent == 0 {
                    guard !finished.contains(node), started.insert(node).inserted else { continue }
                    if operationIndex[nodes[node].operation] == nil { operationIndex[nodes[node].operation] = operationIndex.count }
                }
                let parents = nodes[node].parents
                if nextParent < parents.count {
                    stack.append((node, nextParent + 1))
                    stack.append((parents[nextParent], 0))
                } else {
                    finished.insert(node)
                    ordered.append(node)
                }
            }
        }

        // Depths: an output is 0, a parent one more than its deepest child; a shared layer the
        // deepest of its calls.
        var nodeDepth: [Int: Int] = [:]
        var operationDepth: [String: Int] = [:]
        for node in ordered.reversed() {
            var depth = nodeDepth[node, default: 0]
            depth = max(depth, operationDepth[nodes[node].operation, default: 0])
            operationDepth[nodes[node].operation] = depth
            nodeDepth[node] = depth
            for parent in nodes[node].parents { nodeDepth[parent] = max(depth + 1, nodeDepth[parent, default: 0]) }
        }
        // Inputs nothing uses: depth 0, before the rest of that depth, in input order (Keras
        // gives them index -1 and a stable sort keeps their order).
        var unused: [String: Int] = [:]
        for input in inputs where operationDepth[nodes[input].operation] == nil {
            operationDepth[nodes[input].operation] = 0
            unused[nodes[input].operation] = unused.count
        }
        names = operationDepth.keys.sorted { a, b in
            let (depthA, depthB) = (operationDepth[a]!, operationDepth[b]!)
            if depthA != depthB { return depthA > depthB }
            switch (unused[a], unused[b]) {
            case let (x?, y?): return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return operationIndex[a]! < operationIndex[b]!
            }
        }
    }
}

extension ModelTopology {
    /// Keras's `model.layers` order for this topology seen as a functional model.
    var kerasFunctionalOrder: [String] {
        // Node per input tensor, then per call.
        var producer: [Int: Int] = [:]
        var nodes: [KerasLayerOrder.Node] = []
        for (tensor, input) in zip(inputTensors, inputs) {
            producer[tensor] = nodes.count
            nodes.append(KerasLayerOrder.Node(operation: input.name, parents: []))
        }
        let firstCall = nodes.count
        for (index, call) in calls.enumerated() { producer[call.output] = firstCall + index }
        for call in calls {
            nodes.append(KerasLayerOrder.Node(operation: call.name, parents: call.inputs.compactMap { producer[$0] }))
        }
        return KerasLayerOrder(nodes: nodes, outputs: outputTensors.compactMap { producer[$0] },
                               inputs: Array(0 ..< firstCall)).names
    }
}

extension Model {
    /// Input and layer names in the order Keras 3 lists them in a `.keras` file's config (and its
    /// rebuilt model's `layers`, which also numbers the weight groups): a Sequential's input, then
    /// its layers in order; a functional model's in `map_graph` order.
    var kerasLayerOrder: [String] {
        get throws {
            let topology = try topology.get()
            return self is Sequential ? topology.inputs.map(\.name) + topology.layers.map(\.name) : topology.kerasFunctionalOrder
        }
    }
}
