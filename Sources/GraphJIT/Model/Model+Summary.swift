import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

// MARK: - Summary

extension Model {
    /// A table of layers, output shapes and parameter counts, as Keras's `model.summary()` prints.
    ///
    ///     Model: "sequential"
    ///     ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓
    ///     ┃ Layer (type)                  ┃ Output Shape           ┃     Param # ┃
    ///     ...
    ///      Total params: 3,938,570 (15.02 MB)
    public func summary() throws -> String {
        func shapeText(_ shape: [Int]) -> String {
            "(None" + shape.map { ", \($0)" }.joined() + ")"
        }
        let rows = try summaryRows().map { ("\($0.layer) (\($0.type))", shapeText($0.outputShape), Self.grouped($0.parameters)) }

        let widths = [max(31, rows.map(\.0.count).max() ?? 0), max(22, rows.map(\.1.count).max() ?? 0), 13]
        func line(_ left: String, _ fill: String, _ join: String, _ right: String) -> String {
            left + widths.map { String(repeating: fill, count: $0 + 2) }.joined(separator: join) + right
        }
        func row(_ cells: (String, String, String), bar: String) -> String {
            let first = cells.0.padding(toLength: widths[0], withPad: " ", startingAt: 0)
            let second = cells.1.padding(toLength: widths[1], withPad: " ", startingAt: 0)
            let third = String(repeating: " ", count: max(0, widths[2] - cells.2.count)) + cells.2
            return "\(bar) \(first) \(bar) \(second) \(bar) \(third) \(bar)"
        }

        var lines = ["Model: \"\(name)\""]
        lines.append(line("┏", "━", "┳", "┓"))
        lines.append(row(("Layer (type)", "Output Shape", "Param #"), bar: "┃"))
        lines.append(line("┡", "━", "╇", "┩"))
        for (index, cells) in rows.enumerated() {
            lines.append(row(cells, bar: "│"))
            if index < rows.count - 1 { lines.append(line("├", "─", "┼", "┤")) }
        }
        lines.append(line("└", "─", "┴", "┘"))
        let trainable = try parameterCount()
        // As Keras: once the optimizer has variables (after a step, or read from a file), they
        // count in the total: the slots, the step count and the learning rate.
        let optimizer = optimizerState().map { $0.slots.values.reduce(2) { $0 + $1.shape.elementCount } } ?? 0
        let total = trainable + optimizer
        lines.append(" Total params: \(Self.grouped(total)) (\(Self.byteText(total * 4)))")
        lines.append(" Trainable params: \(Self.grouped(trainable)) (\(Self.byteText(trainable * 4)))")
        lines.append(" Non-trainable params: 0 (0.00 B)")
        if optimizer > 0 { lines.append(" Optimizer params: \(Self.grouped(optimizer)) (\(Self.byteText(optimizer * 4)))") }
        if let configuration = trainingConfiguration {
            let losses = configuration.byOutput.map { $0.losses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.rawValue)" } }
                .map { $0.joined(separator: ", ") } ?? configuration.losses.map(\.rawValue).joined(separator: ", ")
            lines.append(" Compiled with: \(configuration.optimizer), loss\(configuration.losses.count == 1 ? "" : "es") \(losses), "
                         + "metrics \(configuration.metrics.map(\.rawValue))"
                         + (configuration.lossWeights.map { ", loss weights \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    /// The rows of ``summary()``: each layer (and, for a functional model, each input) with its
    /// Keras class, per-sample output shape and parameter count, in Keras's order.
    func summaryRows() throws -> [(layer: String, type: String, outputShape: [Int], parameters: Int)] {
        let topology = try topology.get()
        let (graph, callOutputs) = try topology.makeGraph(batchSize: 1)
        func parameterCount(_ layer: String) -> Int {
            graph.parameters.filter { $0.name.hasPrefix(layer + ".") }.reduce(0) { $0 + $1.shape.elementCount }
        }
        var byName: [String: (layer: String, type: String, outputShape: [Int], parameters: Int)] = [:]
        for (id, name) in zip(graph.inputs, graph.inputNames) {
            byName[name] = (name, "InputLayer", Array(graph[id].shape.dropFirst()), 0)
        }
        for (call, output) in zip(topology.calls, callOutputs) where byName[call.name] == nil {
            byName[call.name] = (call.name, String(describing: Swift.type(of: call.layer)),
                                 Array(graph[output].shape.dropFirst()), parameterCount(call.name))
        }
        // Keras lists a Sequential model's layers as stacked, a functional model's in its
        // `model.layers` order (by depth from the outputs), inputs included.
        let order = self is Sequential ? topology.layers.map(\.name) : topology.kerasFunctionalOrder
        return order.compactMap { byName[$0] }
    }

    /// The total number of scalar parameters.
    public func parameterCount() throws -> Int {
        try makeGraph(batchSize: 1).parameters.reduce(0) { $0 + $1.shape.elementCount }
    }

    /// `3938570` as `3,938,570`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    /// Bytes as Keras prints them (`15.02 MB`, binary units).
    static func byteText(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.2f", value) + " " + units[unit]
    }
}
