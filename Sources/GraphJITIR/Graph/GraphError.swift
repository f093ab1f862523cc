/// An error found while building, checking or feeding a static graph.
///
/// Every case names the layer (or input) involved and the shapes, so that a message alone tells
/// what to fix.
public enum GraphError: Error, Equatable, CustomStringConvertible {
    /// An operation cannot accept its inputs' shapes.
    case shapeMismatch(layer: String, operation: String, inputShapes: [[Int]], expected: String)
    /// A layer's configuration is invalid regardless of its input.
    case invalidConfiguration(layer: String, reason: String)
    /// The model itself is malformed (e.g. an output not reachable from the inputs).
    case invalidModel(reason: String)
    /// A prediction input does not have the shape the model was built for.
    case inputShapeMismatch(input: String, expected: [Int?], actual: [Int])
    /// The number of prediction inputs differs from the model's.
    case inputCountMismatch(expected: Int, actual: Int)
    /// Graph verification failed (an internal invariant; reported rather than trapped).
    case verificationFailed(reason: String)
    /// The operation has no gradient rule yet.
    case notDifferentiable(layer: String, operation: String)
    /// Allocating `bytes` for `what` would exceed the ``MemoryBudget`` of `budget` bytes.
    case memoryBudgetExceeded(what: String, bytes: Int, budget: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(layer, operation, inputShapes, expected):
            let shapes = inputShapes.map { "\($0)" }.joined(separator: ", ")
            return "layer '\(layer)' (\(operation)): input shape\(inputShapes.count == 1 ? "" : "s") "
                + "\(shapes): expected \(expected)"
        case let .invalidConfiguration(layer, reason):
            return "layer '\(layer)': invalid configuration: \(reason)"
        case let .invalidModel(reason):
            return "invalid model: \(reason)"
        case let .inputShapeMismatch(input, expected, actual):
            let shown = expected.map { $0.map(String.init) ?? "None" }.joined(separator: ", ")
            return "input '\(input)': expected shape (\(shown)), got \(actual) "
                + "(\(actual.elementCount) elements)"
        case let .inputCountMismatch(expected, actual):
            return "the model takes \(expected) input\(expected == 1 ? "" : "s"), got \(actual)"
        case let .verificationFailed(reason):
            return "graph verification failed: \(reason)"
        case let .notDifferentiable(layer, operation):
            return "layer '\(layer)' (\(operation)): the operation has no gradient rule"
        case let .memoryBudgetExceeded(what, bytes, budget):
            return "\(what) needs \(Self.readable(bytes)), more than the memory budget of \(Self.readable(budget)) "
                + "(set GRAPHJIT_MEMORY_BUDGET or MemoryBudget.bytes to change it)"
        }
    }

    /// `bytes` in the largest binary unit that keeps a number ≥ 1 (`1.5 GiB`).
    package static func readable(_ bytes: Int) -> String {
        if bytes == .max { return "more than \(Int.max) bytes" }
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
    }
}
