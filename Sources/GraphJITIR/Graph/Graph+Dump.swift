import Foundation

// MARK: - Text dump

extension Graph {
    /// A readable listing: inputs, parameters, states, one line per node, updates, outputs.
    ///
    ///     %0 = input 'input_layer' [1, 64]
    ///     %1 = parameter 'dense.kernel' [64, 128]
    ///     %3 = matmul(%0, %1) [1, 128]            # dense
    public func dump() -> String {
        var lines: [String] = []
        func shape(_ id: ValueID) -> String { self[id].shape.map(String.init).joined(separator: "x") }
        for (position, input) in inputs.enumerated() {
            lines.append("\(input) = input \(position) '\(self[input].name)' : \(shape(input))")
        }
        for parameter in parameters {
            lines.append("\(parameter.value) = parameter '\(parameter.name)' : \(shape(parameter.value))")
        }
        for state in states {
            lines.append("\(state.value) = state '\(state.name)' : \(shape(state.value))")
        }
        for node in nodes {
            let arguments = node.inputs.map(\.description).joined(separator: ", ")
            let attributes = node.operation.attributeDescription
            let results = node.outputs.map(\.description).joined(separator: ", ")
            var line = "\(results) = \(node.operation.mnemonic)(\(arguments))"
            if !attributes.isEmpty { line += " {\(attributes)}" }
            line += " : " + node.outputs.map(shape).joined(separator: ", ")
            lines.append(line.padding(toLength: max(line.count, 64), withPad: " ", startingAt: 0)
                         + "  # \(node.layer)")
        }
        for update in updates {
            lines.append("update '\(self[update.target].name)' (\(update.target)) <- \(update.value)")
        }
        lines.append("return " + outputs.map(\.description).joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
