import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Foundation

// MARK: - Summary

extension Model {
    /// A table of layers, output shapes and parameter counts, laid out as Keras 3's
    /// `model.summary()` prints it on a wide terminal: the same columns and widths (88 characters;
    /// 108 with a "Connected to" column for a functional model that is not a plain chain), the
    /// same wrapping, and the same totals (the optimizer's variables counted once it has them).
    ///
    ///     Model: "sequential"
    ///     ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
    ///     ┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
    ///     ...
    ///      Total params: 3,938,570 (15.02 MB)
    ///
    /// With `showingCompileConfiguration`, a last line says what ``compile(optimizer:loss:metrics:lossWeights:)`` recorded.
    public func summary(showingCompileConfiguration: Bool = false) throws -> String {
        let rows = try summaryRows()
        let chain = try isChain()
        let header = chain ? ["Layer (type)", "Output Shape", "Param #"] : ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        let rightAligned = [false, false, true, false]
        let cells: [[String]] = rows.map { row in
            let shape = "(None" + row.outputShape.map { ", \($0)" }.joined() + ")"
            let base = ["\(row.layer) (\(row.type))", shape, Self.grouped(row.parameters)]
            return chain ? base : base + [row.connections.isEmpty ? "-" : row.connections.joined(separator: ", ")]
        }
        let widths = Self.kerasColumnWidths(chain: chain)  // each column's width inside its borders

        func rule(_ left: String, _ fill: String, _ join: String, _ right: String) -> String {
            left + widths.map { String(repeating: fill, count: $0) }.joined(separator: join) + right
        }
        func render(_ cells: [String], bar: String) -> [String] {
            let wrapped = zip(cells, widths).map { Self.wrap($0, width: $1 - 2) }
            let height = wrapped.map(\.count).max() ?? 1
            return (0 ..< height).map { line in
                bar + wrapped.enumerated().map { column, lines in
                    let text = line < lines.count ? lines[line] : ""
                    let room = widths[column] - 2 - text.count
                    let padded = rightAligned[column] ? String(repeating: " ", count: room) + text
                        : text + String(repeating: " ", count: room)
                    return " \(padded) "
                }.joined(separator: bar) + bar
            }
        }

        var lines = ["Model: \"\(name)\""]
        lines.append(rule("┏", "━", "┳", "┓"))
        lines += render(header, bar: "┃")
        lines.append(rule("┡", "━", "╇", "┩"))
        for (index, row) in cells.enumerated() {
            lines += render(row, bar: "│")
            if index < cells.count - 1 { lines.append(rule("├", "─", "┼", "┤")) }
        }
        lines.append(rule("└", "─", "┴", "┘"))
        // As Keras: a quantized kernel and its scale are non-trainable weights.
        let formats = try storedWeights()
        let frozen = formats.filter(\.isQuantized)
        let nonTrainable = frozen.reduce(0) { $0 + $1.values }
        let nonTrainableBytes = frozen.reduce(0) { $0 + $1.bytes }
        let trainable = try parameterCount() - nonTrainable
        // As Keras: once the optimizer has variables (after a step, or read from a file), they
        // count in the total: the slots, the step count and the learning rate.
        // Keras's step count is an int64 (8 bytes), the learning rate and the slots float32.
        let slots = optimizerState().map { $0.slots.values.reduce(0) { $0 + $1.shape.elementCount } }
        let optimizer = slots.map { $0 + 2 } ?? 0
        let optimizerBytes = slots.map { $0 * 4 + 8 + 4 } ?? 0
        let total = trainable + nonTrainable + optimizer
        lines.append(" Total params: \(Self.grouped(total)) (\(Self.byteText(trainable * 4 + nonTrainableBytes + optimizerBytes)))")
        lines.append(" Trainable params: \(Self.grouped(trainable)) (\(Self.byteText(trainable * 4)))")
        lines.append(" Non-trainable params: \(Self.grouped(nonTrainable)) (\(Self.byteText(nonTrainableBytes)))")
        if optimizer > 0 { lines.append(" Optimizer params: \(Self.grouped(optimizer)) (\(Self.byteText(optimizerBytes)))") }
        if showingCompileConfiguration, let configuration = trainingConfiguration {
            let losses = configuration.byOutput.map { $0.losses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.rawValue)" } }
                .map { $0.joined(separator: ", ") } ?? configuration.losses.map(\.rawValue).joined(separator: ", ")
            lines.append(" Compiled with: \(configuration.optimizer), loss\(configuration.losses.count == 1 ? "" : "es") \(losses), "
                         + "metrics \(configuration.metrics.map(\.rawValue))"
                         + (configuration.lossWeights.map { ", loss weights \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    /// Keras's column widths (rich's table layout at its default line length), padding included:
    /// positions `[0.45, 0.80, 1.0]` of 88 characters, or `[0.3, 0.56, 0.74, 1.0]` of 108, each
    /// column one space of padding on either side, the excess over the line (less the borders)
    /// taken from the columns in turn as rich's `ratio_reduce` does.
    static func kerasColumnWidths(chain: Bool) -> [Int] {
        let (length, positions) = chain ? (88, [0.45, 0.80, 1.0]) : (108, [0.3, 0.56, 0.74, 1.0])
        var widths: [Int] = []
        var current = 0
        for position in positions {
            let width = Int(position * Double(length)) - current
            widths.append(width + 2)
            current += width
        }
        var excess = widths.reduce(0, +) - (length - (positions.count + 1))
        var ratio = widths.count
        return widths.map { width in
            let share = min(width, Int((Double(excess) / Double(ratio)).rounded(.toNearestOrEven)))
            excess -= share
            ratio -= 1
            return width - share
        }
    }

    /// `text` in lines of at most `width` characters, broken at spaces (words longer than a line
    /// are split), as rich wraps a cell.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            var word = Substring(word)
            if current.isEmpty || current.count + 1 + word.count > width {
                if !current.isEmpty { lines.append(current) }
                current = ""
                while word.count > width {
                    lines.append(String(word.prefix(width)))
                    word = word.dropFirst(width)
                }
                current = String(word)
            } else {
                current += " " + word
            }
        }
        lines.append(current)
        return lines
    }

    /// Whether Keras would print the model as a plain stack (no "Connected to" column): a
    /// Sequential model, or a functional one whose layers form a single chain from one input.
    func isChain() throws -> Bool {
        if self is Sequential { return true }
        let topology = try topology.get()
        guard topology.inputs.count == 1, topology.outputTensors.count == 1 else { return false }
        var consumers: [Int: Int] = [:]
        var called = Set<String>()
        for call in topology.calls {
            guard call.inputs.count == 1, called.insert(call.name).inserted else { return false }
            consumers[call.inputs[0], default: 0] += 1
        }
        return consumers.values.allSatisfy { $0 == 1 }
    }

    /// The rows of ``summary(showingCompileConfiguration:)``: each layer (and, for a functional model, each input) with its
    /// Keras class, per-sample output shape and parameter count, in Keras's order.
    func summaryRows() throws -> [(layer: String, type: String, outputShape: [Int], parameters: Int, connections: [String])] {
        let topology = try topology.get()
        let (graph, callOutputs) = try topology.makeGraph(batchSize: 1)
        func parameterCount(_ layer: String) -> Int {
            graph.parameters.filter { $0.name.hasPrefix(layer + ".") }.reduce(0) { $0 + $1.shape.elementCount }
        }
        // Each tensor as Keras names it in "Connected to": `layer[node][0]`.
        var tensorNames: [Int: String] = [:]
        for (tensor, input) in zip(topology.inputTensors, topology.inputs) { tensorNames[tensor] = "\(input.name)[0][0]" }
        var nodes: [String: Int] = [:]
        for call in topology.calls {
            tensorNames[call.output] = "\(call.name)[\(nodes[call.name, default: 0])][0]"
            nodes[call.name, default: 0] += 1
        }
        var byName: [String: (layer: String, type: String, outputShape: [Int], parameters: Int, connections: [String])] = [:]
        for (id, name) in zip(graph.inputs, graph.inputNames) {
            byName[name] = (name, "InputLayer", Array(graph[id].shape.dropFirst()), 0, [])
        }
        for (call, output) in zip(topology.calls, callOutputs) {
            let connections = call.inputs.compactMap { tensorNames[$0] }
            if byName[call.name] != nil {  // a shared layer: every call's inputs
                byName[call.name]!.connections += connections
                continue
            }
            byName[call.name] = (call.name, String(describing: Swift.type(of: call.layer)),
                                 Array(graph[output].shape.dropFirst()), parameterCount(call.name), connections)
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
